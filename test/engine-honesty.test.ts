/**
 * The engine says what happened, run over every fixture: a damaged store is reported as
 * such, a failed store write is not a failed step, the exact status a failed step leaves,
 * baselines and reruns of `--from-version`, and lease errors that carry their holder.
 */
import assert from "node:assert/strict";
import { describe } from "node:test";
import type { Adapter, HistoryEntry, LedgerEntry, StateWriter } from "../src/core/adapter.js";
import { LeaseError, StoreWriteError } from "../src/core/errors.js";
import { upgrade } from "../src/core/registry.js";
import { Upgrader } from "../src/core/upgrader.js";
import { rejectsWith } from "./support/assertions.js";
import { type AdapterFixture, loadFixtures } from "./support/fixtures.js";
import { describeFixture, type Harness, harnessTest, markStep, TEST_LEASE } from "./support/harness.js";
import { leaseRequestFrom } from "./support/lease-fixtures.js";

/** A store write the fault below refuses: the real database, with one of lockstep's writes failing. */
type Fault = (call: { method: keyof StateWriter; entry: unknown }) => boolean;

/**
 * The real adapter, except that the store writes `fault` picks fail the way a full disk or a
 * revoked grant would; everything else (the step, its transaction) runs on the database.
 */
function withStoreFault(adapter: Adapter<any>, fault: Fault): Adapter<any> {
  const faulty = (writer: StateWriter): StateWriter => {
    const wrap =
      <A extends unknown[]>(method: keyof StateWriter, call: (...args: A) => Promise<void>) =>
      async (...args: A) => {
        if (fault({ method, entry: args[0] }))
          throw new Error(`injected: ${String(method)} refused by the database`);
        return call(...args);
      };
    return {
      setStamp: wrap("setStamp", (v: string) => writer.setStamp(v)),
      setFloor: wrap("setFloor", (v: string) => writer.setFloor(v)),
      putLedgerEntry: wrap("putLedgerEntry", (e: LedgerEntry) => writer.putLedgerEntry(e)),
      deleteLedgerEntry: wrap("deleteLedgerEntry", (v: string, n: string) => writer.deleteLedgerEntry(v, n)),
      setMarker: wrap("setMarker", (m: Parameters<StateWriter["setMarker"]>[0]) => writer.setMarker(m)),
      clearMarker: wrap("clearMarker", (v: string, n: string) => writer.clearMarker(v, n)),
      appendHistory: wrap("appendHistory", (e: HistoryEntry) => writer.appendHistory(e)),
    };
  };
  return new Proxy(adapter, {
    get(target, prop) {
      if (prop === "write") {
        return (lease: any, fn: (w: StateWriter, db: unknown) => Promise<unknown>, options: any) =>
          target.write(lease, (writer, db) => fn(faulty(writer), db), options);
      }
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

function honesty(fixture: AdapterFixture) {
  const test = harnessTest(fixture);

  /** Runs `sql` (or, on MongoDB, `mongo`) on the database as an operator would by hand. */
  async function byHand(h: Harness, sql: string, mongo: (db: any) => Promise<unknown>) {
    const adapter = await h.adapter();
    await adapter.write(
      null,
      async (_w, db: any) => {
        if (fixture.name === "mongodb") await mongo(db);
        else if (fixture.name === "sqlite") db.exec(sql);
        else await db.query(sql);
      },
      { transactional: false },
    );
  }

  // Item 7.
  describe("a damaged store", () => {
    const run = (h: Harness) => [markStep(h.db, "0.1.0", "a"), markStep(h.db, "0.2.0", "b")];

    test("a ledger row deleted by hand: STORE_DAMAGED, plan refuses alike, nothing re-runs", async (h) => {
      const u = await h.upgrader("0.2.0", run(h));
      await u.upgrade({ fromVersion: "0.0.1" });
      await byHand(h, "delete from lockstep_ledger where version = '0.1.0'", (db) =>
        db.collection("lockstep_ledger").deleteOne({ _id: "0.1.0/a" }),
      );
      const report = await u.status();
      assert.equal(report.status, "STORE_DAMAGED");
      assert.doesNotMatch(report.next ?? "", /out-of-order|upgrade/);
      assert.match(report.next ?? "", /init --version 0\.2\.0 --force/);
      await rejectsWith(u.plan(), "E_STORE_DAMAGED");
      await rejectsWith(u.upgrade({ outOfOrder: true }), "E_STORE_DAMAGED");
      await rejectsWith(u.check({ policy: "refuse" }), "E_STORE_DAMAGED");
      assert.deepEqual(await h.marks(), ["0.1.0/a", "0.2.0/b"], "nothing ran twice");
      await u.init({ version: "0.2.0", force: true });
      assert.equal((await u.status()).status, "CURRENT", "the hint's repair works");
    });

    test("the markers table dropped while a step is INTERRUPTED: STORE_DAMAGED, never re-run", async (h) => {
      const init = await h.upgrader("0.1.0", []);
      await init.init();
      const adapter = await h.adapter();
      await adapter.write(null, (w) =>
        w.setMarker({
          version: "0.2.0",
          name: "b",
          startedAt: new Date().toISOString(),
          owner: "crashed/1",
          host: "elsewhere",
          pid: 4242,
          checkpoint: null,
        }),
      );
      await byHand(h, "drop table lockstep_markers", (db) => db.collection("lockstep_markers").drop());
      const u = await h.upgrader("0.2.0", [markStep(h.db, "0.2.0", "b")]);
      assert.equal((await u.status()).status, "STORE_DAMAGED");
      await rejectsWith(u.plan(), "E_STORE_DAMAGED");
      await rejectsWith(u.upgrade(), "E_STORE_DAMAGED");
      assert.deepEqual(await h.marks(), [], "the interrupted step did not run again");
    });

    test("a hotfix below the stamp that never ran is still out of order, not damage", async (h) => {
      const u = await h.upgrader("0.2.0", [markStep(h.db, "0.2.0", "b")]);
      await u.upgrade({ fromVersion: "0.1.0" });
      const later = await h.upgrader("0.2.0", [
        markStep(h.db, "0.1.5", "hotfix"),
        markStep(h.db, "0.2.0", "b"),
      ]);
      const report = await later.status();
      assert.equal(report.status, "CURRENT");
      assert.deepEqual(report.outOfOrder, ["0.1.5/hotfix"]);
    });
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

  // Item 10.
  describe("a failure of lockstep's own store is not a failed step", () => {
    async function faultyUpgrader(h: Harness, fault: Fault, steps: Parameters<Harness["upgrader"]>[1]) {
      const init = await h.upgrader("0.1.0", []);
      await init.init();
      const u = new Upgrader({
        adapter: withStoreFault(await h.adapter(), fault),
        appVersion: "0.2.0",
        steps,
        lease: TEST_LEASE,
      });
      return u;
    }

    test("its history entry or marker cannot be written: E_STORE_WRITE_FAILED, the step never ran", async (h) => {
      const u = await faultyUpgrader(
        h,
        ({ method, entry }) =>
          method === "appendHistory" && (entry as HistoryEntry).action === "step_started",
        [markStep(h.db, "0.2.0", "b")],
      );
      try {
        const error = await rejectsWith(u.upgrade(), "E_STORE_WRITE_FAILED");
        assert.ok(error instanceof StoreWriteError);
        assert.equal(error.stepBodyRan, false);
        assert.match(error.message, /never ran/);
        assert.doesNotMatch(error.hint ?? "", /fix the step|resolve/);
        assert.deepEqual(await h.marks(), [], "the step body never ran");
        assert.equal((await h.state()).stamp, "0.1.0");
      } finally {
        await u.close();
      }
    });

    test("its ledger entry cannot be written: E_STORE_WRITE_FAILED, saying the step ran", async (h) => {
      const u = await faultyUpgrader(h, ({ method }) => method === "putLedgerEntry", [
        markStep(h.db, "0.2.0", "b"),
      ]);
      try {
        const error = await rejectsWith(u.upgrade(), "E_STORE_WRITE_FAILED");
        assert.ok(error instanceof StoreWriteError);
        assert.equal(error.stepBodyRan, true);
        assert.match(error.message, /the step ran/);
        const status = (await u.status()).status;
        if (fixture.atomicSteps) {
          assert.deepEqual(await h.marks(), [], "rolled back with its failed record");
          assert.match(error.hint ?? "", /run `lockstep upgrade` again/);
          assert.equal(status, "UPGRADE_PENDING");
        } else {
          assert.match(error.hint ?? "", /lockstep resolve 0\.2\.0\/b --applied/);
          assert.equal(status, "INTERRUPTED");
        }
      } finally {
        await u.close();
      }
    });
  });

  // Item 11: one decision of "atomic", pinned per fixture.
  describe("a failing transactional data step", () => {
    const failing = (h: Harness, fixed: { yes: boolean }) =>
      upgrade({
        version: "0.2.0",
        name: "b",
        run: async (ctx) => {
          if (ctx.dryRun) return;
          await h.db.mark(ctx.db, "0.2.0/b");
          if (!fixed.yes) throw new Error("boom in b");
        },
      });

    test("plan, status after the failure and the hint's next command agree", async (h) => {
      const init = await h.upgrader("0.1.0", []);
      await init.init();
      const fixed = { yes: false };
      const u = await h.upgrader("0.2.0", [failing(h, fixed)]);
      const plan = await u.plan();
      assert.equal(plan.steps[0]?.atomic, fixture.atomicSteps, "plan says what the runner does");
      const error = await rejectsWith(u.upgrade(), "E_STEP_FAILED");
      const report = await u.status();
      if (fixture.atomicSteps) {
        assert.equal(report.status, "UPGRADE_PENDING");
        assert.deepEqual(report.pending, ["0.2.0/b"]);
        assert.match(error.hint ?? "", /run `lockstep upgrade` again/);
        assert.doesNotMatch(error.hint ?? "", /resolve/);
      } else {
        // MySQL (DDL commits implicitly) and MongoDB without transactions: marked, left INTERRUPTED.
        assert.equal(report.status, "INTERRUPTED");
        assert.match(error.hint ?? "", /`lockstep resolve 0\.2\.0\/b --rolled-back`/);
        await rejectsWith(u.upgrade(), "E_INTERRUPTED");
        await u.resolve("0.2.0/b", "rolled-back");
      }
      // The command the hint named works next.
      fixed.yes = true;
      const result = await u.upgrade();
      assert.equal(result.outcome, "upgraded");
      assert.equal((await u.status()).status, "CURRENT");
    });
  });

  // Item 16, lease parts.
  describe("lease errors", () => {
    test("a refusing start-up check during an upgrade throws a LeaseError naming the holder", async (h) => {
      const init = await h.upgrader("0.1.0", []);
      await init.init();
      const holder = await h.adapter();
      const attempt = await holder.tryAcquireLease(leaseRequestFrom("other-host", "other-host/upgrader"));
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
        await rejectsWith(u.history({ limit }), "E_CONFIG_INVALID");
      }
      assert.equal((await u.history({ limit: 1 })).length, 1);
    });
  });
}

for (const fixture of await loadFixtures()) {
  await describeFixture(fixture, describe, () => honesty(fixture));
}
