import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidVersionError, isLockstepError } from "../src/core/errors.js";
import {
  compareVersions,
  formatVersion,
  isDevVersion,
  normaliseVersion,
  parseVersion,
  stepTarget,
} from "../src/core/versions.js";

describe("parseVersion", () => {
  it("parses plain semver and accepts a leading v", () => {
    assert.equal(parseVersion("1.2.3", "test").version, "1.2.3");
    assert.equal(parseVersion("v1.2.3", "test").version, "1.2.3");
    assert.equal(parseVersion(" v0.5.0 ", "test").version, "0.5.0");
    assert.equal(normaliseVersion("v2.0.0-rc.1", "test"), "2.0.0-rc.1");
  });

  for (const bad of ["1.2", "abc", "v", "", "1.2.3.4", "vv1.2.3", "1.2.x", "01.2.3"]) {
    it(`rejects ${JSON.stringify(bad)} with E_INVALID_VERSION naming the string and its source`, () => {
      assert.throws(
        () => parseVersion(bad, 'step "x"'),
        (error: unknown) => {
          assert.ok(error instanceof InvalidVersionError);
          assert.equal(error.code, "E_INVALID_VERSION");
          assert.equal(error.value, bad);
          assert.equal(error.source, 'step "x"');
          assert.ok(error.message.includes(JSON.stringify(bad)), "the message names the string");
          assert.ok(error.message.includes('step "x"'), "the message names the source");
          return true;
        },
      );
    });
  }

  it("rejects values that are not strings", () => {
    for (const bad of [undefined, null, 1, { version: "1.0.0" }]) {
      assert.throws(
        () => parseVersion(bad, "config"),
        (error: unknown) => isLockstepError(error, "E_INVALID_VERSION"),
      );
    }
  });

  it("keeps build metadata in the canonical form", () => {
    assert.equal(formatVersion(parseVersion("1.2.0+g019fc04", "t")), "1.2.0+g019fc04");
    assert.equal(normaliseVersion("v1.2.0+build.7", "t"), "1.2.0+build.7");
  });
});

describe("isDevVersion", () => {
  const cases: [string, boolean][] = [
    ["1.2.0-dev.3", true],
    ["1.2.0-dev", true],
    ["1.2.0-DEV.1", true],
    ["1.2.0+g019fc04", true],
    ["1.2.0-rc.1+local", true],
    ["1.2.0", false],
    ["1.2.0-rc.1", false],
    ["1.2.0-beta.2", false],
    ["0.0.0", false],
  ];
  for (const [version, dev] of cases) {
    it(`${version} is ${dev ? "" : "not "}a dev build`, () => {
      assert.equal(isDevVersion(parseVersion(version, "t")), dev);
    });
  }
});

describe("release-candidate policy (stepTarget)", () => {
  it("a prerelease needs every step up to and including its release", () => {
    assert.equal(stepTarget(parseVersion("1.0.0-rc.1", "t")).version, "1.0.0");
    assert.equal(stepTarget(parseVersion("1.0.0-beta.2", "t")).version, "1.0.0");
    assert.equal(stepTarget(parseVersion("2.3.4-alpha", "t")).version, "2.3.4");
  });

  it("a final release targets itself", () => {
    assert.equal(stepTarget(parseVersion("1.0.0", "t")).version, "1.0.0");
    assert.equal(stepTarget(parseVersion("0.4.1", "t")).version, "0.4.1");
  });

  it("plain semver would rank the RC below its release, which is why the policy exists", () => {
    assert.ok(compareVersions("1.0.0-rc.1", "1.0.0") < 0);
    assert.equal(compareVersions(stepTarget(parseVersion("1.0.0-rc.1", "t")).version, "1.0.0"), 0);
  });
});

describe("compareVersions", () => {
  it("orders numerically, not as strings", () => {
    assert.ok(compareVersions("0.10.0", "0.9.0") > 0);
    assert.ok(compareVersions("1.0.0", "1.0.0") === 0);
    assert.ok(compareVersions("0.2.0", "0.3.0") < 0);
  });
});
