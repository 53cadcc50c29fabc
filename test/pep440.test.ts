/** Issue 9 item 8: PEP 440 stamps (what the seed writes) as semver, in PEP 440's order. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pep440ToSemver } from "../src/adapters/mongodb/seed-stamp.js";
import { compareVersions } from "../src/core/versions.js";

describe("pep440ToSemver", () => {
  const cases: [string, string | null][] = [
    ["1.0", "1.0.0"],
    ["0.10", "0.10.0"],
    ["0.10.3", "0.10.3"],
    ["1.0.dev1", "1.0.0-0.dev.1"],
    ["1.0a1", "1.0.0-a.1"],
    ["1.0b2", "1.0.0-b.2"],
    ["1.0rc1", "1.0.0-rc.1"],
    ["1.0.0rc1", "1.0.0-rc.1"],
    ["1.0.post1", "1.0.0+post.1"],
    ["0.5.2.post1", "0.5.2+post.1"],
    ["0.6.0.dev12+g1a2b3c", "0.6.0-0.dev.12+g1a2b3c"],
    ["0!1.0", "1.0.0"],
    ["1!2.0.0", null],
    ["1.0a1.dev2", null],
    ["1.2.3.4", null],
    ["garbage", null],
  ];
  for (const [pep, semver] of cases) {
    it(`${pep} -> ${semver}`, () => assert.equal(pep440ToSemver(pep), semver));
  }

  it("keeps PEP 440's order: 1.0.dev1 < 1.0a1 < 1.0b1 < 1.0rc1 < 1.0 <= 1.0.post1 < 1.0.1", () => {
    const order = ["1.0.dev1", "1.0a1", "1.0b1", "1.0rc1", "1.0", "1.0.1"].map((v) => pep440ToSemver(v) ?? v);
    for (let i = 1; i < order.length; i++) {
      assert.ok(compareVersions(order[i - 1]!, order[i]!) < 0, `${order[i - 1]} < ${order[i]}`);
    }
    assert.equal(compareVersions(pep440ToSemver("1.0.post1")!, "1.0.0"), 0);
    assert.ok(compareVersions(pep440ToSemver("0.10")!, pep440ToSemver("0.9")!) > 0, "0.10 > 0.9");
  });
});
