/**
 * Issue 9 item 8: a stamp that is not a version is parsed where it is read. On every
 * adapter: status, plan and upgrade fail with E_STAMP_INVALID naming the raw value and where
 * it lives, `init --version X --force` repairs it, and PEP 440 stamps read as their semver.
 */
import assert from "node:assert/strict";
import { describe } from "node:test";
import { rejectsWith } from "./support/assertions.js";
import { type AdapterFixture, loadFixtures } from "./support/fixtures.js";
import { describeFixture, type Harness, harnessTest, markStep } from "./support/harness.js";

/** Writes `raw` as the stamp, as a hand edit or another tool would have left it. */
async function writeRawStamp(h: Harness, raw: string): Promise<void> {
  const adapter = await h.adapter();
  await adapter.ensureStore();
  await adapter.write(null, async (w) => {
    await w.setStamp(raw);
    // MongoDB writes the stamp with the history entry that explains it.
    await w.appendHistory({
      at: new Date().toISOString(),
      action: "stamp",
      version: raw,
      step: null,
      outcome: "ok",
      durationMs: null,
      host: "test",
      user: "test",
      pid: 1,
      appVersion: null,
      lockstepVersion: "0.0.0",
      details: null,
    });
  });
}

function badStamps(fixture: AdapterFixture) {
  const test = harnessTest(fixture);

  for (const raw of ["garbage", "1!2.0.0"]) {
    test(`a stamp ${JSON.stringify(raw)}: E_STAMP_INVALID from status, plan and upgrade; init --force repairs it`, async (h) => {
      await writeRawStamp(h, raw);
      const steps = [markStep(h.db, "0.2.0", "a"), markStep(h.db, "0.3.0", "b")];
      const u = await h.upgrader("0.3.0", steps);
      for (const call of [() => u.status(), () => u.plan(), () => u.upgrade()]) {
        const error = await rejectsWith(call(), "E_STAMP_INVALID");
        assert.match(error.message, new RegExp(JSON.stringify(raw).replace(/[!.]/g, "\\$&")));
        assert.match(error.hint ?? "", /init --version X\.Y\.Z --force/);
      }
      await rejectsWith(u.init({ version: "0.2.0" }), "E_STAMP_INVALID");
      const repaired = await u.init({ version: "0.2.0", force: true });
      assert.equal(repaired.version, "0.2.0");
      assert.equal((await h.state()).stamp, "0.2.0");
      const report = await u.status();
      assert.equal(report.stamp, "0.2.0");
      assert.deepEqual(await h.marks(), []);
    });
  }

  const pep440: [string, string][] = [
    ["0.6.0.dev12+g1a2b3c", "0.6.0-0.dev.12+g1a2b3c"],
    ["0.5.2.post1", "0.5.2+post.1"],
    ["0.10", "0.10.0"],
  ];
  for (const [raw, semver] of pep440) {
    test(`a PEP 440 stamp ${raw} reads as ${semver}`, async (h) => {
      await writeRawStamp(h, raw);
      assert.equal((await h.state()).stamp, semver);
    });
  }
}

for (const fixture of await loadFixtures()) {
  await describeFixture(fixture, describe, () => badStamps(fixture));
}
