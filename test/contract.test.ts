/**
 * The contract every adapter honours, run over every fixture in test/support: statuses,
 * the never-guess rule, bounds, dry runs, failures, preconditions, ledger checks,
 * history, leases, interrupted steps and the start-up check.
 */
import assert from "node:assert/strict";
import { describe } from "node:test";
import type { CountQuery } from "../src/core/adapter.js";
import { condition, noDocumentsIn, noRowsWhere } from "../src/core/conditions.js";
import { PreconditionError, StepFailedError } from "../src/core/errors.js";
import { upgrade } from "../src/core/registry.js";
import type { StepResult } from "../src/core/results.js";
import { LOCKSTEP_VERSION } from "../src/version.js";
import { rejectsWith } from "./support/assertions.js";
import { type AdapterFixture, loadFixtures } from "./support/fixtures.js";
import { describeFixture, type Harness, harnessTest, markStep, sleep } from "./support/harness.js";
import { leaseRequestFrom } from "./support/lease-fixtures.js";

const statuses = (results: readonly StepResult[]) => results.map((r) => `${r.step}:${r.status}`);

function marker(version: string, name: string) {
  return {
    version,
    name,
    startedAt: new Date().toISOString(),
    owner: "crashed-elsewhere/1",
    host: "elsewhere",
    pid: 4242,
    checkpoint: null,
  };
}

function contract(fixture: AdapterFixture) {
  const test = harnessTest(fixture);

  /** Stamps the database at `version` through init (no step runs). */
  async function initAt(h: Harness, version: string) {
    const u = await h.upgrader(version, []);
    await u.init();
    await u.close();
  }

  /** Writes an in-progress marker as a crashed upgrader would have left it. */
  async function leaveMarker(h: Harness, version: string, name: string) {
    const adapter = await h.adapter();
    await adapter.ensureStore();
    await adapter.write(null, (w) => w.setMarker(marker(version, name)));
  }

  const countAll = (kind: string): CountQuery =>
    kind === "mongodb" ? { collection: "marks" } : { table: "marks" };

  describe("statuses", () => {
    test("DEV: a dev build is neither checked nor stamped", async (h) => {
      const u = await h.upgrader("0.3.0-dev.1", [markStep(h.db, "0.2.0", "a")]);
      assert.equal((await u.status()).status, "DEV");
      const checked = await u.check({ policy: "refuse" });
      assert.equal(checked.status, "DEV");
      assert.equal(checked.action, "none");
      assert.equal((await h.state()).stamp, null);
      assert.deepEqual(await h.marks(), []);
    });

    test("CURRENT after init at the code version", async (h) => {
      const u = await h.upgrader("0.2.0", [markStep(h.db, "0.2.0", "a")]);
      await u.init();
      const report = await u.status();
      assert.equal(report.status, "CURRENT");
      assert.equal(report.stamp, "0.2.0");
      assert.deepEqual(report.pending, []);
    });

    test("AUTO_STAMPED by check() when no step can apply to an unstamped database", async (h) => {
      const u = await h.upgrader("0.3.0", [markStep(h.db, "0.5.0", "later")]);
      const before = await u.status();
      assert.equal(before.status, "UPGRADE_PENDING");
      assert.equal(before.autoStampable, true);
      const checked = await u.check();
      assert.equal(checked.status, "AUTO_STAMPED");
      assert.equal(checked.action, "stamped");
      assert.equal(checked.report.status, "CURRENT");
      assert.equal((await h.state()).stamp, "0.3.0");
      assert.deepEqual(await h.marks(), []);
      assert.ok((await h.history()).some((e) => e.action === "auto_stamp" && e.version === "0.3.0"));
    });

    test("AUTO_STAMPED by check() when a release brings no step", async (h) => {
      await initAt(h, "0.1.0");
      const u = await h.upgrader("0.2.0", [markStep(h.db, "0.1.0", "old"), markStep(h.db, "0.3.0", "new")]);
      const checked = await u.check({ policy: "refuse" });
      assert.equal(checked.status, "AUTO_STAMPED");
      assert.equal((await h.state()).stamp, "0.2.0");
      assert.deepEqual(await h.marks(), []);
    });

    test("UPGRADE_PENDING lists the steps to run", async (h) => {
      await initAt(h, "0.1.0");
      const u = await h.upgrader("0.3.0", [
        markStep(h.db, "0.1.0", "old"),
        markStep(h.db, "0.2.0", "b"),
        markStep(h.db, "0.3.0", "c"),
      ]);
      const report = await u.status();
      assert.equal(report.status, "UPGRADE_PENDING");
      assert.deepEqual(report.pending, ["0.2.0/b", "0.3.0/c"]);
      assert.equal(report.stamp, "0.1.0");
    });

    test("UNINITIALISED: steps in range on an unstamped database, and upgrade writes nothing", async (h) => {
      const u = await h.upgrader("0.2.0", [markStep(h.db, "0.1.0", "a"), markStep(h.db, "0.2.0", "b")]);
      const report = await u.status();
      assert.equal(report.status, "UNINITIALISED");
      assert.deepEqual(report.pending, ["0.1.0/a", "0.2.0/b"]);
      await rejectsWith(u.upgrade(), "E_UNINITIALISED");
      const state = await h.state();
      assert.equal(state.stamp, null);
      assert.deepEqual(state.ledger, []);
      assert.deepEqual(await h.marks(), []);
      assert.deepEqual(
        (await h.history()).map((e) => e.action),
        [],
      );
    });

    test("AHEAD: the database is newer than the code; upgrade and check refuse", async (h) => {
      await initAt(h, "0.5.0");
      const u = await h.upgrader("0.3.0", [markStep(h.db, "0.2.0", "a")]);
      assert.equal((await u.status()).status, "AHEAD");
      await rejectsWith(u.upgrade(), "E_AHEAD");
      await rejectsWith(u.check({ policy: "refuse" }), "E_AHEAD");
      await rejectsWith(u.check({ policy: "upgrade" }), "E_AHEAD");
      assert.equal((await h.state()).stamp, "0.5.0");
      assert.deepEqual(await h.marks(), []);
    });

    test("INTERRUPTED names the step left in progress; upgrade refuses it", async (h) => {
      await initAt(h, "0.1.0");
      await leaveMarker(h, "0.2.0", "b");
      const u = await h.upgrader("0.2.0", [markStep(h.db, "0.2.0", "b")]);
      const report = await u.status();
      assert.equal(report.status, "INTERRUPTED");
      assert.deepEqual(
        report.interrupted.map((m) => `${m.version}/${m.name}`),
        ["0.2.0/b"],
      );
      await rejectsWith(u.upgrade(), "E_INTERRUPTED");
      await rejectsWith(u.check({ policy: "refuse" }), "E_INTERRUPTED");
      assert.deepEqual(await h.marks(), []);
    });

    test("UPGRADING while another holder's lease is live; upgrade without wait fails E_LOCK_HELD", async (h) => {
      await initAt(h, "0.1.0");
      const holder = await h.adapter();
      const attempt = await holder.tryAcquireLease(leaseRequestFrom("other-host", "other-host/upgrader"));
      assert.ok("lease" in attempt, "the holder takes the free lease");
      try {
        const u = await h.upgrader("0.2.0", [markStep(h.db, "0.2.0", "b")], {
          lease: { ttlMs: 3_000, pollMs: 20, waitMs: 150 },
        });
        const report = await u.status();
        assert.equal(report.status, "UPGRADING");
        assert.equal(report.lease?.owner, "other-host/upgrader");
        await rejectsWith(u.upgrade({ wait: false }), "E_LOCK_HELD");
        // Waiting gives up after waitMs.
        await rejectsWith(u.upgrade(), "E_LOCK_HELD");
        await rejectsWith(u.check({ policy: "refuse" }), "E_LOCK_HELD");
        assert.deepEqual(await h.marks(), []);
        assert.equal((await h.state()).stamp, "0.1.0");
      } finally {
        await attempt.lease.release();
      }
    });
  });

  describe("never guess", () => {
    test("unstamped, no step in range: upgrade stamps the code version and runs nothing", async (h) => {
      const u = await h.upgrader("0.3.0", [markStep(h.db, "0.4.0", "later")]);
      const result = await u.upgrade();
      assert.equal(result.outcome, "upgraded");
      assert.deepEqual(result.results, []);
      assert.equal((await h.state()).stamp, "0.3.0");
      assert.deepEqual(await h.marks(), []);
    });

    test("upgrade({ fromVersion }) baselines what lies below and runs the rest", async (h) => {
      const steps = [
        markStep(h.db, "0.1.0", "a"),
        markStep(h.db, "0.2.0", "b"),
        markStep(h.db, "0.3.0", "c"),
      ];
      const u = await h.upgrader("0.3.0", steps);
      const result = await u.upgrade({ fromVersion: "v0.1.0" });
      assert.deepEqual(statuses(result.results), ["0.2.0/b:applied", "0.3.0/c:applied"]);
      assert.deepEqual(await h.marks(), ["0.2.0/b", "0.3.0/c"]);
      const state = await h.state();
      assert.equal(state.stamp, "0.3.0");
      const kinds = Object.fromEntries(state.ledger.map((e) => [`${e.version}/${e.name}`, e.kind]));
      assert.deepEqual(kinds, { "0.1.0/a": "baselined", "0.2.0/b": "applied", "0.3.0/c": "applied" });
      assert.equal((await u.status()).status, "CURRENT");
    });

    test("a fromVersion contradicting the stamp is E_FROM_VERSION_CONFLICT; an equal one is accepted", async (h) => {
      await initAt(h, "0.2.0");
      const u = await h.upgrader("0.3.0", [markStep(h.db, "0.3.0", "c")]);
      // A stamp below --from-version contradicts it (one at or above it whose ledger agrees
      // is a rerun of a deploy script: see engine-honesty.test.ts).
      await rejectsWith(u.upgrade({ fromVersion: "0.2.5" }), "E_FROM_VERSION_CONFLICT");
      assert.deepEqual(await h.marks(), []);
      assert.equal((await h.state()).stamp, "0.2.0");
      const result = await u.upgrade({ fromVersion: "0.2.0" });
      assert.deepEqual(statuses(result.results), ["0.3.0/c:applied"]);
    });
  });

  describe("init", () => {
    test("stamps the code version, baselines the steps up to it and runs none", async (h) => {
      const u = await h.upgrader("0.2.0", [markStep(h.db, "0.1.0", "a"), markStep(h.db, "0.2.0", "b")]);
      assert.deepEqual(await u.init(), { version: "0.2.0", previous: null });
      assert.deepEqual(await h.marks(), []);
      const state = await h.state();
      assert.equal(state.stamp, "0.2.0");
      assert.deepEqual(
        state.ledger.map((e) => e.kind),
        ["baselined", "baselined"],
      );
      assert.equal((await u.status()).status, "CURRENT");
    });

    test("refuses a stamped database (E_ALREADY_INITIALISED) unless force", async (h) => {
      await initAt(h, "0.1.0");
      const u = await h.upgrader("0.3.0", [markStep(h.db, "0.2.0", "b")]);
      await rejectsWith(u.init(), "E_ALREADY_INITIALISED");
      assert.equal((await h.state()).stamp, "0.1.0");
      assert.deepEqual(await u.init({ version: "0.3.0", force: true }), {
        version: "0.3.0",
        previous: "0.1.0",
      });
      assert.equal((await h.state()).stamp, "0.3.0");
      assert.deepEqual(await h.marks(), []);
      const inits = (await h.history()).filter((e) => e.action === "init");
      assert.equal(inits.length, 2);
    });
  });

  describe("bounds", () => {
    const fourSteps = (h: Harness) => [
      markStep(h.db, "0.1.0", "a"),
      markStep(h.db, "0.2.0", "b"),
      markStep(h.db, "0.3.0", "c"),
      markStep(h.db, "0.4.0", "d"),
    ];

    test("runs (stamp, code] only", async (h) => {
      await initAt(h, "0.1.0");
      const u = await h.upgrader("0.3.0", fourSteps(h));
      const result = await u.upgrade();
      assert.equal(result.from, "0.1.0");
      assert.equal(result.to, "0.3.0");
      assert.deepEqual(await h.marks(), ["0.2.0/b", "0.3.0/c"]);
      assert.equal((await h.state()).stamp, "0.3.0");
      assert.equal((await u.status()).status, "CURRENT");
    });

    test("stops at targetVersion, leaving the rest pending", async (h) => {
      await initAt(h, "0.1.0");
      const u = await h.upgrader("0.4.0", fourSteps(h));
      await u.upgrade({ targetVersion: "0.2.0" });
      assert.deepEqual(await h.marks(), ["0.2.0/b"]);
      assert.equal((await h.state()).stamp, "0.2.0");
      const report = await u.status();
      assert.equal(report.status, "UPGRADE_PENDING");
      assert.deepEqual(report.pending, ["0.3.0/c", "0.4.0/d"]);
    });

    test("semver order across versions, registration order within one", async (h) => {
      await initAt(h, "0.1.0");
      const u = await h.upgrader("0.10.0", [
        markStep(h.db, "0.10.0", "ten"),
        markStep(h.db, "0.9.0", "nine-z"),
        markStep(h.db, "0.9.0", "nine-a"),
      ]);
      await u.upgrade();
      assert.deepEqual(await h.marks(), ["0.9.0/nine-z", "0.9.0/nine-a", "0.10.0/ten"]);
    });

    test("a release with no step still moves the stamp", async (h) => {
      await initAt(h, "0.1.0");
      const u = await h.upgrader("0.4.0", [markStep(h.db, "0.2.0", "b")]);
      const result = await u.upgrade();
      assert.equal(result.outcome, "upgraded");
      assert.equal((await h.state()).stamp, "0.4.0");
      const again = await u.upgrade();
      assert.equal(again.outcome, "current");
      const noStep = await h.upgrader("0.5.0", [markStep(h.db, "0.2.0", "b")]);
      const moved = await noStep.upgrade();
      assert.equal(moved.outcome, "upgraded");
      assert.deepEqual(moved.results, []);
      assert.equal((await h.state()).stamp, "0.5.0");
      assert.deepEqual(await h.marks(), ["0.2.0/b"]);
    });

    test("an RC of 1.0.0 applies 1.0.0's steps and records the RC; 1.0.0 does not rerun them", async (h) => {
      await initAt(h, "0.9.0");
      const steps = [markStep(h.db, "1.0.0", "final"), markStep(h.db, "1.1.0", "next")];
      const rc = await h.upgrader("1.0.0-rc.1", steps);
      assert.deepEqual((await rc.status()).pending, ["1.0.0/final"]);
      await rc.upgrade();
      assert.deepEqual(await h.marks(), ["1.0.0/final"]);
      assert.equal((await h.state()).stamp, "1.0.0-rc.1");
      assert.equal((await rc.status()).status, "CURRENT");
      const final = await h.upgrader("1.0.0", steps);
      assert.deepEqual((await final.status()).pending, []);
      await final.upgrade();
      assert.deepEqual(await h.marks(), ["1.0.0/final"]);
      assert.equal((await h.state()).stamp, "1.0.0");
    });
  });

  test("a dry run writes nothing and reports measured counts", async (h) => {
    await initAt(h, "0.1.0");
    const first = await h.upgrader("0.2.0", [markStep(h.db, "0.2.0", "a"), markStep(h.db, "0.2.0", "b")]);
    await first.upgrade();
    await first.close();
    const kind = (await h.adapter()).kind;
    const u = await h.upgrader("0.4.0", [
      markStep(h.db, "0.2.0", "a"),
      markStep(h.db, "0.2.0", "b"),
      markStep(h.db, "0.3.0", "c", { affects: [countAll(kind)] }),
      // Forgets to check dryRun: where the database has transactions it is rolled back.
      ...(fixture.atomicSteps
        ? [upgrade({ version: "0.4.0", name: "careless", run: async (ctx) => h.db.mark(ctx.db, "careless") })]
        : []),
    ]);
    const stateBefore = await h.state();
    const historyBefore = await h.history();
    const fileBefore = h.fileChecksum();
    const result = await u.upgrade({ dryRun: true });
    assert.equal(result.outcome, "dry-run");
    assert.deepEqual(
      result.results.map((r) => r.status),
      fixture.atomicSteps ? ["dry-run", "dry-run"] : ["dry-run"],
    );
    assert.deepEqual(result.results[0]?.counts, { wouldMark: 1 });
    assert.deepEqual(
      result.measured["0.3.0/c"]?.map((m) => m.count),
      [2],
    );
    assert.equal(h.fileChecksum(), fileBefore);
    assert.deepEqual(await h.marks(), ["0.2.0/a", "0.2.0/b"]);
    const stateAfter = await h.state();
    assert.equal(stateAfter.stamp, stateBefore.stamp);
    assert.deepEqual(stateAfter.ledger, stateBefore.ledger);
    assert.deepEqual(stateAfter.interrupted, []);
    assert.equal(stateAfter.lease, null);
    assert.equal((await h.history()).length, historyBefore.length);
  });

  test("a failing middle step: earlier applied, stamp at the last good step, later pending", async (h) => {
    await initAt(h, "0.1.0");
    const failing = upgrade({
      version: "0.3.0",
      name: "b",
      run: async (ctx) => {
        await h.db.mark(ctx.db, "0.3.0/b");
        throw new Error("boom in b");
      },
    });
    const u = await h.upgrader("0.4.0", [
      markStep(h.db, "0.2.0", "a"),
      failing,
      markStep(h.db, "0.4.0", "c"),
    ]);
    const error = await rejectsWith(u.upgrade(), "E_STEP_FAILED");
    assert.ok(error instanceof StepFailedError);
    assert.equal(error.step, "0.3.0/b");
    const results = error.results as StepResult[];
    assert.deepEqual(statuses(results), ["0.2.0/a:applied", "0.3.0/b:failed", "0.4.0/c:pending"]);
    assert.equal(results[1]?.error, "boom in b");
    assert.equal((error.cause as Error).message, "boom in b");
    const marks = await h.marks();
    assert.equal(marks[0], "0.2.0/a");
    assert.ok(!marks.includes("0.4.0/c"));
    if (fixture.atomicSteps) assert.deepEqual(marks, ["0.2.0/a"], "the failed step rolled back");
    const state = await h.state();
    assert.equal(state.stamp, "0.2.0");
    assert.deepEqual(
      state.ledger.filter((e) => e.kind === "applied").map((e) => `${e.version}/${e.name}`),
      ["0.2.0/a"],
    );
    const report = await u.status();
    // Exactly one status per database: atomic steps leave nothing, marked ones their marker.
    if (fixture.atomicSteps) {
      assert.equal(report.status, "UPGRADE_PENDING");
      assert.deepEqual(report.pending, ["0.3.0/b", "0.4.0/c"]);
    } else {
      assert.equal(report.status, "INTERRUPTED");
      assert.deepEqual(
        report.interrupted.map((m) => m.name),
        ["b"],
      );
    }
    const failed = (await h.history()).filter((e) => e.action === "step_failed");
    assert.deepEqual(
      failed.map((e) => [e.step, e.outcome]),
      [["b", "failed"]],
    );
  });

  describe("preconditions", () => {
    const blocked = (description: string, skippable: boolean) =>
      condition(description, async () => ({ message: `${description} failed`, count: 3 }), { skippable });

    test("a failing precondition of any pending step blocks everything", async (h) => {
      await initAt(h, "0.1.0");
      const u = await h.upgrader("0.3.0", [
        markStep(h.db, "0.2.0", "a"),
        markStep(h.db, "0.3.0", "b", { conditions: [blocked("hard", false)] }),
      ]);
      const error = await rejectsWith(u.upgrade(), "E_PRECONDITION_FAILED");
      assert.ok(error instanceof PreconditionError);
      assert.deepEqual(
        error.failures.map((f) => [f.step, f.skippable, f.count]),
        [["0.3.0/b", false, 3]],
      );
      assert.deepEqual(await h.marks(), []);
      assert.equal((await h.state()).stamp, "0.1.0");
      // force does not skip a condition that is not skippable.
      await rejectsWith(u.upgrade({ force: true }), "E_PRECONDITION_FAILED");
      await rejectsWith(u.upgrade({ dryRun: true }), "E_PRECONDITION_FAILED");
      assert.deepEqual(await h.marks(), []);
    });

    test("force bypasses only the skippable ones", async (h) => {
      await initAt(h, "0.1.0");
      const soft = [
        markStep(h.db, "0.2.0", "a", { conditions: [blocked("soft", true)] }),
        markStep(h.db, "0.3.0", "b"),
      ];
      const u = await h.upgrader("0.3.0", soft);
      await rejectsWith(u.upgrade(), "E_PRECONDITION_FAILED");
      assert.deepEqual(await h.marks(), []);
      const mixed = await h.upgrader("0.3.0", [
        markStep(h.db, "0.2.0", "a", { conditions: [blocked("soft", true)] }),
        markStep(h.db, "0.3.0", "b", { conditions: [blocked("hard", false)] }),
      ]);
      const error = await rejectsWith(mixed.upgrade({ force: true }), "E_PRECONDITION_FAILED");
      assert.deepEqual(
        (error as PreconditionError).failures.map((f) => f.description),
        ["hard"],
      );
      assert.deepEqual(await h.marks(), []);
      const result = await u.upgrade({ force: true });
      assert.deepEqual(
        result.preconditions.map((p) => [p.description, p.status]),
        [["soft", "skipped"]],
      );
      assert.deepEqual(await h.marks(), ["0.2.0/a", "0.3.0/b"]);
    });

    test("built-in count conditions measure the database", async (h) => {
      await initAt(h, "0.1.0");
      const seed = await h.upgrader("0.2.0", [markStep(h.db, "0.2.0", "a")]);
      await seed.upgrade();
      const kind = (await h.adapter()).kind;
      const guard =
        kind === "mongodb"
          ? noDocumentsIn("marks", { mark: "0.2.0/a" })
          : noRowsWhere("marks", "mark = '0.2.0/a'");
      const u = await h.upgrader("0.3.0", [markStep(h.db, "0.3.0", "b", { conditions: [guard] })]);
      const error = await rejectsWith(u.upgrade(), "E_PRECONDITION_FAILED");
      assert.equal((error as PreconditionError).failures[0]?.count, 1);
      const free =
        kind === "mongodb"
          ? noDocumentsIn("marks", { mark: "nothing" })
          : noRowsWhere("marks", "mark = 'nothing'");
      const ok = await h.upgrader("0.3.0", [markStep(h.db, "0.3.0", "b", { conditions: [free] })]);
      const result = await ok.upgrade();
      assert.deepEqual(
        result.preconditions.map((p) => p.status),
        ["passed"],
      );
    });
  });

  test("out-of-order: a step added below the stamp is reported, skipped, then applied on request", async (h) => {
    await initAt(h, "0.1.0");
    const released = [markStep(h.db, "0.2.0", "a"), markStep(h.db, "0.3.0", "c")];
    await (await h.upgrader("0.3.0", released)).upgrade();
    const u = await h.upgrader("0.3.0", [...released, markStep(h.db, "0.2.5", "hotfix")]);
    const warnings: string[] = [];
    u.on("warning", ({ message }) => warnings.push(message));
    const report = await u.status();
    assert.deepEqual(report.outOfOrder, ["0.2.5/hotfix"]);
    const skipped = await u.upgrade();
    assert.equal(skipped.outcome, "current");
    assert.equal(warnings.length, 1);
    assert.deepEqual(await h.marks(), ["0.2.0/a", "0.3.0/c"]);
    const applied = await u.upgrade({ outOfOrder: true });
    assert.deepEqual(statuses(applied.results), ["0.2.5/hotfix:applied"]);
    assert.deepEqual(await h.marks(), ["0.2.0/a", "0.3.0/c", "0.2.5/hotfix"]);
    assert.equal((await h.state()).stamp, "0.3.0", "the stamp is not lowered");
    assert.deepEqual((await u.status()).outOfOrder, []);
  });

  test("an edited step is reported by checksum", async (h) => {
    await initAt(h, "0.1.0");
    await (await h.upgrader("0.2.0", [markStep(h.db, "0.2.0", "a")])).upgrade();
    const unchanged = await h.upgrader("0.2.0", [markStep(h.db, "0.2.0", "a")]);
    assert.deepEqual((await unchanged.status()).checksumMismatches, []);
    const edited = await h.upgrader("0.2.0", [
      upgrade({ version: "0.2.0", name: "a", run: async (ctx) => h.db.mark(ctx.db, "edited") }),
    ]);
    const report = await edited.status();
    assert.deepEqual(
      report.checksumMismatches.map((m) => m.step),
      ["0.2.0/a"],
    );
    const recorded = (await h.state()).ledger.find((e) => e.name === "a")?.checksum;
    assert.equal(report.checksumMismatches[0]?.recorded, recorded);
    assert.equal(report.checksumMismatches[0]?.current, edited.steps[0]?.checksum);
  });

  test("history: every action in order, each entry saying who, where, when and with which versions", async (h) => {
    const steps = [markStep(h.db, "0.2.0", "a"), markStep(h.db, "0.3.0", "b")];
    await (await h.upgrader("0.1.0", steps)).init();
    await (await h.upgrader("0.4.0", steps)).upgrade();
    const history = await h.history();
    assert.deepEqual(
      history.map((e) => [e.action, e.version, e.step]),
      [
        ["init", "0.1.0", null],
        ["step_started", "0.2.0", "a"],
        ["step_succeeded", "0.2.0", "a"],
        ["step_started", "0.3.0", "b"],
        ["step_succeeded", "0.3.0", "b"],
        ["stamp", "0.4.0", null],
        ["upgrade_finished", "0.4.0", null],
      ],
    );
    for (const entry of history) {
      assert.ok(!Number.isNaN(Date.parse(entry.at)), `at is a time: ${entry.at}`);
      assert.ok(entry.host.length > 0);
      assert.ok(entry.user.length > 0);
      assert.equal(entry.pid, process.pid);
      assert.equal(entry.lockstepVersion, LOCKSTEP_VERSION);
      assert.equal(entry.appVersion, entry.action === "init" ? "0.1.0" : "0.4.0");
    }
    const times = history.map((e) => Date.parse(e.at));
    assert.deepEqual(
      times,
      [...times].sort((a, b) => a - b),
    );
    assert.ok(history.filter((e) => e.action === "step_succeeded").every((e) => e.durationMs !== null));
  });

  describe("unlock", () => {
    test("refuses a live lease (E_LOCK_HELD)", async (h) => {
      await initAt(h, "0.1.0");
      const holder = await h.adapter();
      const attempt = await holder.tryAcquireLease(leaseRequestFrom("other-host", "other-host/live"));
      assert.ok("lease" in attempt);
      try {
        const u = await h.upgrader("0.1.0", []);
        await rejectsWith(u.unlock(), "E_LOCK_HELD");
        assert.equal((await h.state()).lease?.owner, "other-host/live");
        assert.ok(!(await h.history()).some((e) => e.action === "unlock"));
      } finally {
        await attempt.lease.release();
      }
    });

    test("breaks an expired lease and records it", async (h) => {
      await initAt(h, "0.1.0");
      const holder = await h.db.adapter();
      await holder.open({ create: false });
      if (holder.capabilities.leaseMode === "session-lock") {
        await holder.close();
        return; // A session lock dies with its connection: there is no expired lease to break.
      }
      const attempt = await holder.tryAcquireLease({
        owner: "other-host/stale",
        host: "other-host",
        pid: 4242,
        user: "ops",
        ttlMs: 300,
      });
      assert.ok("lease" in attempt);
      // The holder disappears without releasing: its heartbeat stops with its connection.
      await holder.close();
      await sleep(700);
      const stale = (await h.state()).lease;
      assert.equal(stale?.owner, "other-host/stale");
      assert.equal(stale?.expired, true);
      const u = await h.upgrader("0.1.0", []);
      assert.notEqual((await u.status()).status, "UPGRADING");
      const broken = await u.unlock();
      assert.equal(broken?.owner, "other-host/stale");
      assert.equal((await h.state()).lease, null);
      const unlocks = (await h.history()).filter((e) => e.action === "unlock");
      assert.equal(unlocks.length, 1);
      assert.equal(
        (unlocks[0]?.details?.holder as { owner?: string } | undefined)?.owner,
        "other-host/stale",
      );
      await attempt.lease.release().catch(() => undefined);
    });
  });

  describe("interrupted steps", () => {
    test("a non-atomic step that fails leaves INTERRUPTED naming it", async (h) => {
      await initAt(h, "0.1.0");
      const step = upgrade({
        version: "0.2.0",
        name: "outside-tx",
        transaction: false,
        run: async (ctx) => {
          await h.db.mark(ctx.db, "0.2.0/outside-tx");
          throw new Error("crash half-way");
        },
      });
      const u = await h.upgrader("0.2.0", [step]);
      await rejectsWith(u.upgrade(), "E_STEP_FAILED");
      const report = await u.status();
      assert.equal(report.status, "INTERRUPTED");
      assert.deepEqual(
        report.interrupted.map((m) => `${m.version}/${m.name}`),
        ["0.2.0/outside-tx"],
      );
      assert.deepEqual(await h.marks(), ["0.2.0/outside-tx"], "its partial write stays");
      await rejectsWith(u.upgrade(), "E_INTERRUPTED");
    });

    test('resolve(id, "applied") clears the marker, records the step and moves the stamp', async (h) => {
      await initAt(h, "0.1.0");
      await leaveMarker(h, "0.2.0", "b");
      const u = await h.upgrader("0.2.0", [markStep(h.db, "0.2.0", "b")]);
      await u.resolve("0.2.0/b", "applied");
      const state = await h.state();
      assert.deepEqual(state.interrupted, []);
      assert.equal(state.stamp, "0.2.0");
      assert.equal(state.ledger.find((e) => e.name === "b")?.kind, "resolved");
      assert.equal((await u.status()).status, "CURRENT");
      assert.deepEqual(await h.marks(), [], "resolving runs nothing");
      const resolves = (await h.history()).filter((e) => e.action === "resolve");
      assert.deepEqual(
        resolves.map((e) => [e.version, e.step, e.details?.outcome]),
        [["0.2.0", "b", "applied"]],
      );
    });

    test('resolve(id, "rolled-back") clears the marker and leaves the step pending', async (h) => {
      await initAt(h, "0.1.0");
      await leaveMarker(h, "0.2.0", "b");
      const u = await h.upgrader("0.2.0", [markStep(h.db, "0.2.0", "b")]);
      await rejectsWith(u.resolve("0.2.0/nope", "applied"), "E_NOT_INTERRUPTED");
      await u.resolve("0.2.0/b", "rolled-back");
      const report = await u.status();
      assert.equal(report.status, "UPGRADE_PENDING");
      assert.deepEqual(report.pending, ["0.2.0/b"]);
      assert.equal((await h.state()).stamp, "0.1.0");
      await u.upgrade();
      assert.deepEqual(await h.marks(), ["0.2.0/b"]);
      assert.equal((await u.status()).status, "CURRENT");
      assert.deepEqual(
        (await h.history()).filter((e) => e.action === "resolve").map((e) => e.details?.outcome),
        ["rolled-back"],
      );
    });

    test("an interrupted idempotent step is retried by upgrade", async (h) => {
      await initAt(h, "0.1.0");
      await leaveMarker(h, "0.2.0", "again");
      const u = await h.upgrader("0.2.0", [markStep(h.db, "0.2.0", "again", { idempotent: true })]);
      const warnings: string[] = [];
      u.on("warning", ({ message }) => warnings.push(message));
      assert.equal((await u.status()).status, "INTERRUPTED");
      const result = await u.upgrade();
      assert.deepEqual(statuses(result.results), ["0.2.0/again:applied"]);
      assert.equal(warnings.length, 1);
      assert.deepEqual(await h.marks(), ["0.2.0/again"]);
      const report = await u.status();
      assert.equal(report.status, "CURRENT");
      assert.deepEqual(report.interrupted, []);
    });
  });

  describe("check({ policy })", () => {
    const pending = async (h: Harness) => {
      await initAt(h, "0.1.0");
      return h.upgrader("0.2.0", [markStep(h.db, "0.2.0", "b")]);
    };

    test("warn reports the pending upgrade and writes nothing", async (h) => {
      const u = await pending(h);
      const result = await u.check({ policy: "warn" });
      assert.equal(result.status, "UPGRADE_PENDING");
      assert.equal(result.action, "none");
      assert.equal(result.warnings.length, 1);
      assert.deepEqual(await h.marks(), []);
      assert.equal((await h.state()).stamp, "0.1.0");
    });

    test("refuse throws E_UPGRADE_PENDING, and E_UNINITIALISED on an unstamped database", async (h) => {
      const u = await pending(h);
      await rejectsWith(u.check({ policy: "refuse" }), "E_UPGRADE_PENDING");
      assert.deepEqual(await h.marks(), []);
      await u.upgrade();
      const current = await u.check({ policy: "refuse" });
      assert.equal(current.status, "CURRENT");
      assert.equal(current.action, "none");
    });

    test("refuse and upgrade both refuse an UNINITIALISED database and write nothing", async (h) => {
      const u = await h.upgrader("0.2.0", [markStep(h.db, "0.2.0", "b")]);
      await rejectsWith(u.check({ policy: "refuse" }), "E_UNINITIALISED");
      await rejectsWith(u.check({ policy: "upgrade" }), "E_UNINITIALISED");
      assert.equal((await h.state()).stamp, null);
      assert.deepEqual(await h.marks(), []);
    });

    test("upgrade applies the pending steps under the lease", async (h) => {
      const u = await pending(h);
      const result = await u.check({ policy: "upgrade" });
      assert.equal(result.action, "upgraded");
      assert.equal(result.status, "CURRENT");
      assert.deepEqual(result.steps, ["0.2.0/b"]);
      assert.deepEqual(await h.marks(), ["0.2.0/b"]);
      assert.equal((await h.state()).stamp, "0.2.0");
    });
  });
}

for (const fixture of await loadFixtures()) {
  await describeFixture(fixture, describe, () => contract(fixture));
}
