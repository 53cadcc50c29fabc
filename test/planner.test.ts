import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { DatabaseState, LeaseInfo, LedgerEntry } from "../src/core/adapter.js";
import { isLockstepError } from "../src/core/errors.js";
import { assessStatus, planUpgrade, resolveTarget } from "../src/core/planner.js";
import { StepRegistry, upgrade } from "../src/core/registry.js";
import type { Step, StepDefinition } from "../src/core/step.js";

const noop = () => undefined;

function stepsAt(...ids: string[]): readonly Step[] {
  const definitions: StepDefinition[] = ids.map((id) => {
    const [version, name] = id.split("/") as [string, string];
    return upgrade({ version, name, run: noop });
  });
  return new StepRegistry(definitions).steps;
}

function state(
  stamp: string | null,
  ledger: LedgerEntry[] = [],
  extra: Partial<DatabaseState> = {},
): DatabaseState {
  return {
    stamp,
    floor: stamp,
    floorRecorded: false,
    hasLedger: true,
    ledger,
    interrupted: [],
    lease: null,
    ...extra,
  };
}

function applied(step: Step, checksum: string | null = step.checksum): LedgerEntry {
  return {
    version: step.version,
    name: step.name,
    checksum,
    kind: "applied",
    appliedAt: new Date().toISOString(),
    durationMs: 1,
    appVersion: step.version,
    counts: null,
  };
}

const ids = (steps: readonly Step[]) => steps.map((s) => s.id);
const STEPS = stepsAt("0.1.0/a", "0.2.0/b", "0.3.0/c", "0.4.0/d");

describe("planUpgrade: (from, to] bounds", () => {
  it("includes steps above the stamp up to and including the code version", () => {
    const plan = planUpgrade(state("0.1.0", [applied(STEPS[0]!)]), STEPS, "0.3.0");
    assert.equal(plan.from, "0.1.0");
    assert.equal(plan.target, "0.3.0");
    assert.deepEqual(ids(plan.steps), ["0.2.0/b", "0.3.0/c"]);
  });

  it("stops at an explicit target version", () => {
    const plan = planUpgrade(state("0.1.0", [applied(STEPS[0]!)]), STEPS, "0.4.0", {
      targetVersion: "0.2.0",
    });
    assert.equal(plan.target, "0.2.0");
    assert.deepEqual(ids(plan.steps), ["0.2.0/b"]);
  });

  it("leaves out steps the ledger already has", () => {
    const plan = planUpgrade(state("0.1.0", [applied(STEPS[0]!), applied(STEPS[1]!)]), STEPS, "0.3.0");
    assert.deepEqual(ids(plan.steps), ["0.3.0/c"]);
  });

  it("plans nothing when the stamp equals the target", () => {
    const plan = planUpgrade(
      state(
        "0.3.0",
        STEPS.slice(0, 3).map((s) => applied(s)),
      ),
      STEPS,
      "0.3.0",
    );
    assert.deepEqual(ids(plan.steps), []);
  });

  it("refuses a target below the stamp (E_AHEAD)", () => {
    assert.throws(
      () => planUpgrade(state("0.4.0"), STEPS, "0.3.0"),
      (e: unknown) => isLockstepError(e, "E_AHEAD"),
    );
  });
});

describe("planUpgrade: never guess", () => {
  it("refuses an unstamped database when a step is in range (E_UNINITIALISED)", () => {
    assert.throws(
      () => planUpgrade(state(null), STEPS, "0.2.0"),
      (e: unknown) => isLockstepError(e, "E_UNINITIALISED"),
    );
  });

  it("plans a plain stamp for an unstamped database when no step is in range", () => {
    const plan = planUpgrade(state(null), stepsAt("0.5.0/later"), "0.3.0");
    assert.equal(plan.from, "0.0.0");
    assert.equal(plan.target, "0.3.0");
    assert.deepEqual(ids(plan.steps), []);
    assert.equal(plan.unstamped, true);
  });

  it("starts an unstamped database from --from-version and baselines what lies below it", () => {
    const plan = planUpgrade(state(null, [], { hasLedger: false }), STEPS, "0.3.0", { fromVersion: "0.2.0" });
    assert.equal(plan.from, "0.2.0");
    assert.deepEqual(ids(plan.steps), ["0.3.0/c"]);
    assert.deepEqual(ids(plan.baseline), ["0.1.0/a", "0.2.0/b"]);
  });

  it("refuses a --from-version that contradicts the stamp (E_FROM_VERSION_CONFLICT), accepts an equal one", () => {
    assert.throws(
      () => planUpgrade(state("0.2.0"), STEPS, "0.3.0", { fromVersion: "0.1.0" }),
      (e: unknown) => isLockstepError(e, "E_FROM_VERSION_CONFLICT"),
    );
    const plan = planUpgrade(state("0.2.0", [applied(STEPS[0]!), applied(STEPS[1]!)]), STEPS, "0.3.0", {
      fromVersion: "0.2.0",
    });
    assert.deepEqual(ids(plan.steps), ["0.3.0/c"]);
  });
});

describe("planUpgrade: out of order and checksums", () => {
  const withHotfix = stepsAt("0.1.0/a", "0.1.5/hotfix", "0.2.0/b", "0.3.0/c");
  const ledger = [applied(withHotfix[0]!), applied(withHotfix[2]!)];

  it("reports a step below the stamp missing from the ledger, and leaves it out", () => {
    const plan = planUpgrade(state("0.2.0", ledger), withHotfix, "0.3.0");
    assert.deepEqual(ids(plan.skippedOutOfOrder), ["0.1.5/hotfix"]);
    assert.deepEqual(ids(plan.steps), ["0.3.0/c"]);
  });

  it("applies it first with outOfOrder", () => {
    const plan = planUpgrade(state("0.2.0", ledger), withHotfix, "0.3.0", { outOfOrder: true });
    assert.deepEqual(ids(plan.steps), ["0.1.5/hotfix", "0.3.0/c"]);
    assert.deepEqual(ids(plan.skippedOutOfOrder), []);
  });

  it("does not call steps below a seed stamp out of order when there is no ledger yet", () => {
    const plan = planUpgrade(state("0.2.0", [], { hasLedger: false }), withHotfix, "0.3.0");
    assert.deepEqual(ids(plan.skippedOutOfOrder), []);
    assert.deepEqual(ids(plan.baseline), ["0.1.0/a", "0.1.5/hotfix", "0.2.0/b"]);
  });

  it("reports an applied step whose checksum changed", () => {
    const plan = planUpgrade(
      state("0.2.0", [applied(STEPS[0]!), applied(STEPS[1]!, "0".repeat(64))]),
      STEPS,
      "0.2.0",
    );
    assert.deepEqual(
      plan.checksumMismatches.map((m) => m.step),
      ["0.2.0/b"],
    );
    assert.equal(plan.checksumMismatches[0]?.recorded, "0".repeat(64));
    assert.equal(plan.checksumMismatches[0]?.current, STEPS[1]!.checksum);
  });
});

describe("planUpgrade: release candidates and dev builds", () => {
  const steps = stepsAt("0.9.0/old", "1.0.0/final", "1.1.0/next");

  it("an RC of 1.0.0 applies the steps of 1.0.0 but targets (stamps) the RC", () => {
    const plan = planUpgrade(state("0.9.0", [applied(steps[0]!)]), steps, "1.0.0-rc.1");
    assert.equal(plan.target, "1.0.0-rc.1");
    assert.deepEqual(ids(plan.steps), ["1.0.0/final"]);
  });

  it("the final 1.0.0 does not rerun them once the RC applied them", () => {
    const plan = planUpgrade(state("1.0.0-rc.1", [applied(steps[0]!), applied(steps[1]!)]), steps, "1.0.0");
    assert.deepEqual(ids(plan.steps), []);
    assert.equal(plan.target, "1.0.0");
  });

  it("a dev build aims at the last registered step", () => {
    assert.equal(resolveTarget("1.1.0-dev.2", steps), "1.1.0");
    assert.equal(resolveTarget("1.1.0+g1234", steps), "1.1.0");
    assert.equal(resolveTarget("1.0.0", steps), "1.0.0");
    assert.equal(resolveTarget("1.1.0-dev.2", steps, "0.9.0"), "0.9.0");
  });
});

describe("assessStatus", () => {
  const lease: LeaseInfo = {
    owner: "other",
    host: "h",
    pid: 1,
    user: "u",
    acquiredAt: new Date().toISOString(),
    expiresAt: new Date(Date.now() + 60_000).toISOString(),
    expired: false,
  };
  const status = (s: DatabaseState, code: string, heldByOther = false) =>
    assessStatus(s, STEPS, code, { leaseHeldByOther: heldByOther });

  it("DEV for a dev build, without looking further", () => {
    assert.equal(status(state(null), "0.3.0-dev.1").status, "DEV");
    assert.equal(status(state("0.1.0"), "0.3.0+local").status, "DEV");
  });

  it("CURRENT when the stamp equals the code version and nothing is pending", () => {
    const r = status(state("0.2.0", [applied(STEPS[0]!), applied(STEPS[1]!)]), "0.2.0");
    assert.equal(r.status, "CURRENT");
    assert.deepEqual(r.pending, []);
  });

  it("UPGRADE_PENDING listing the pending steps", () => {
    const r = status(state("0.1.0", [applied(STEPS[0]!)]), "0.3.0");
    assert.equal(r.status, "UPGRADE_PENDING");
    assert.deepEqual(r.pending, ["0.2.0/b", "0.3.0/c"]);
    assert.equal(r.autoStampable, false);
  });

  it("UPGRADE_PENDING and auto-stampable when no step lies between stamp and code", () => {
    const r = status(
      state(
        "0.4.0",
        STEPS.map((s) => applied(s)),
      ),
      "0.5.0",
    );
    assert.equal(r.status, "UPGRADE_PENDING");
    assert.equal(r.autoStampable, true);
    const fresh = status(state(null), "0.0.5");
    assert.equal(fresh.autoStampable, true);
  });

  it("UNINITIALISED on an unstamped database with steps in range", () => {
    const r = status(state(null), "0.2.0");
    assert.equal(r.status, "UNINITIALISED");
    assert.deepEqual(r.pending, ["0.1.0/a", "0.2.0/b"]);
    assert.equal(r.autoStampable, false);
  });

  it("AHEAD when the stamp is newer than the code", () => {
    assert.equal(status(state("0.4.0"), "0.3.0").status, "AHEAD");
  });

  it("INTERRUPTED naming the step, before everything but a live lease", () => {
    const marker = {
      version: "0.2.0",
      name: "b",
      startedAt: new Date().toISOString(),
      owner: "o",
      host: "h",
      pid: 1,
      checkpoint: null,
    };
    const r = status(state("0.1.0", [], { interrupted: [marker] }), "0.3.0-dev.1");
    assert.equal(r.status, "INTERRUPTED");
    assert.equal(r.interrupted[0]?.name, "b");
    assert.equal(
      status(state("0.1.0", [], { interrupted: [marker], lease }), "0.3.0", true).status,
      "UPGRADING",
    );
  });

  it("UPGRADING only while another holder's lease is live", () => {
    assert.equal(status(state("0.1.0", [], { lease }), "0.3.0", true).status, "UPGRADING");
    assert.notEqual(status(state("0.1.0", [], { lease }), "0.3.0", false).status, "UPGRADING");
  });
});
