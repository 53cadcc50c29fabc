/**
 * The engine says what happened, run over every fixture: a damaged store is reported as
 * such, a failed store write is not a failed step, the exact status a failed step leaves,
 * baselines and reruns of `--from-version`, and lease errors that carry their holder.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  isLockstepError,
  LeaseError,
  type LockstepError,
  type LockstepErrorCode,
} from "../src/core/errors.js";
import { upgrade } from "../src/core/registry.js";
import { type AdapterFixture, loadFixtures } from "./support/fixtures.js";
import { describeFixture, Harness, markStep } from "./support/harness.js";

async function rejectsWith(promise: Promise<unknown>, code: LockstepErrorCode): Promise<LockstepError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isLockstepError(error), `expected a LockstepError ${code}, got ${String(error)}`);
    assert.equal(error.code, code, `expected ${code}: ${error.message}`);
    return error;
  }
  assert.fail(`expected ${code}, but it resolved`);
}

function honesty(fixture: AdapterFixture) {
  const test = (name: string, fn: (h: Harness) => Promise<void>) =>
    it(name, async () => {
      const h = await Harness.create(fixture);
      try {
        await fn(h);
      } finally {
        await h.dispose();
      }
    });

  describe("--from-version", () => {
    // Item 12.
    test("with nothing to run: reported as a baseline, with upgrade_finished in history", async (h) => {
      const steps = [markStep(h.db, "0.1.0", "a"), markStep(h.db, "0.2.0", "b")];
      const u = await h.upgrader("0.2.0", steps);
      const result = await u.upgrade({ fromVersion: "0.2.0" });
      assert.equal(result.outcome, "baselined");
      assert.deepEqual(result.baseline, ["0.1.0/a", "0.2.0/b"]);
      assert.deepEqual(result.results, []);
      assert.deepEqual(await h.marks(), []);
      const state = await h.state();
      assert.equal(state.stamp, "0.2.0");
      const finished = (await h.history()).filter((e) => e.action === "upgrade_finished");
      assert.equal(finished.length, 1);
      assert.deepEqual(finished[0]?.details?.baseline, ["0.1.0/a", "0.2.0/b"]);
    });

    // Item 26.
    test("rerun once stamped at or above it: a no-op with a note when stamp and ledger agree", async (h) => {
      const steps = [markStep(h.db, "0.1.0", "a"), markStep(h.db, "0.2.0", "b")];
      const first = await h.upgrader("0.2.0", steps);
      await first.upgrade({ fromVersion: "0.1.0" });
      assert.deepEqual(await h.marks(), ["0.2.0/b"]);
      const again = await h.upgrader("0.2.0", steps);
      const plan = await again.plan({ fromVersion: "0.1.0" });
      assert.match(plan.note ?? "", /--from-version 0\.1\.0 ignored/);
      assert.deepEqual(plan.steps, []);
      const result = await again.upgrade({ fromVersion: "0.1.0" });
      assert.equal(result.outcome, "current");
      assert.match(result.note ?? "", /already stamped 0\.2\.0/);
      assert.deepEqual(await h.marks(), ["0.2.0/b"], "nothing ran twice");
    });

    test("rerun when the ledger disagrees (a step up to it is missing): still refused", async (h) => {
      const u = await h.upgrader("0.2.0", []);
      await u.init({ version: "0.2.0" });
      const later = await h.upgrader("0.2.0", [markStep(h.db, "0.1.0", "a")]);
      await rejectsWith(later.upgrade({ fromVersion: "0.1.0" }), "E_FROM_VERSION_CONFLICT");
    });

    test("a stamp below it is still refused", async (h) => {
      const u = await h.upgrader("0.1.0", []);
      await u.init({ version: "0.1.0" });
      const later = await h.upgrader("0.3.0", [markStep(h.db, "0.3.0", "c")]);
      await rejectsWith(later.upgrade({ fromVersion: "0.2.0" }), "E_FROM_VERSION_CONFLICT");
    });
  });

  // Item 16, lease parts.
  describe("lease errors", () => {
    test("a refusing start-up check during an upgrade throws a LeaseError naming the holder", async (h) => {
      const init = await h.upgrader("0.1.0", []);
      await init.init();
      const holder = await h.adapter();
      const attempt = await holder.tryAcquireLease({
        owner: "other-host/upgrader",
        host: "other-host",
        pid: 4242,
        user: "ops",
        ttlMs: 60_000,
      });
      assert.ok("lease" in attempt);
      try {
        const u = await h.upgrader("0.2.0", [markStep(h.db, "0.2.0", "b")]);
        const error = await rejectsWith(u.check({ policy: "refuse" }), "E_LOCK_HELD");
        assert.ok(error instanceof LeaseError, "a LeaseError, not a RefusedError");
        assert.equal(error.holder?.owner, "other-host/upgrader");
        assert.equal(error.holder?.pid, 4242);
        const session = holder.capabilities.leaseMode === "session-lock";
        const hints = [error.hint ?? "", (await u.status()).next ?? ""];
        await rejectsWith(u.upgrade({ wait: false }), "E_LOCK_HELD").then((e) => hints.push(e.hint ?? ""));
        await rejectsWith(u.unlock(), "E_LOCK_HELD").then((e) => hints.push(e.hint ?? ""));
        for (const hint of hints) {
          if (session) {
            assert.doesNotMatch(
              hint,
              /wait for it to expire|once the lease has expired/,
              `a session lock never expires: ${hint}`,
            );
            assert.match(hint, /unlock --force/);
          } else {
            assert.match(hint, /expire/);
          }
        }
      } finally {
        await attempt.lease.release();
      }
    });

    test("history({ limit }) takes positive integers only", async (h) => {
      const u = await h.upgrader("0.1.0", []);
      await u.init();
      for (const limit of [0, -1, 2.5, Number.NaN]) {
        await rejectsWith(u.history({ limit }), "E_INVALID_OPTION");
      }
      assert.equal((await u.history({ limit: 1 })).length, 1);
    });
  });
}

for (const fixture of await loadFixtures()) {
  await describeFixture(fixture, describe, () => honesty(fixture));
}

export { upgrade };
