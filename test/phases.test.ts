/**
 * Phases, the compatibility floor and deferred contract steps, as pure functions: hand-built
 * database states (no adapter) through assessStatus, planUpgrade and decideSteps.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { sqlFileStep } from "../src/config/sql-file-step.js";
import type { DatabaseState, InstanceInfo, LedgerEntry } from "../src/core/adapter.js";
import {
  decideSteps,
  deferredSteps,
  FLOOR_BEFORE_FLOORS,
  FLOOR_BY_INIT,
  FLOOR_RAISING,
  olderCodeRefusal,
  type RollingMode,
} from "../src/core/compatibility.js";
import { isLockstepError } from "../src/core/errors.js";
import { assessStatus, planUpgrade } from "../src/core/planner.js";
import { registerUpgrade, StepRegistry, upgrade } from "../src/core/registry.js";
import type { Step, StepPhase } from "../src/core/step.js";

const noop = () => undefined;
const NOW = { leaseHeldByOther: false };

/** Steps from "version/name:phase" ids ("1.1.0/add-col:expand", "1.3.0/fix" for no phase). */
function steps(...specs: string[]): readonly Step[] {
  return new StepRegistry(
    specs.map((spec) => {
      const [id, phase] = spec.split(":") as [string, StepPhase | undefined];
      const [version, name] = id.split("/") as [string, string];
      return upgrade({ version, name, run: noop, ...(phase && { phase }) });
    }),
  ).steps;
}

function entry(id: string, kind: LedgerEntry["kind"] = "applied"): LedgerEntry {
  const [version, name] = id.split("/") as [string, string];
  return {
    version,
    name,
    checksum: null,
    kind,
    appliedAt: "2026-01-01T00:00:00Z",
    durationMs: 1,
    appVersion: version,
    counts: null,
  };
}

function state(
  stamp: string | null,
  floor: string | null,
  ledger: string[] = [],
  extra: Partial<DatabaseState> = {},
): DatabaseState {
  return {
    stamp,
    floor: floor ?? stamp,
    floorRecorded: floor !== null,
    hasLedger: true,
    ledger: ledger.map((id) => entry(id)),
    interrupted: [],
    lease: null,
    ...extra,
  };
}

function instance(appVersion: string, host: string, n: number): InstanceInfo {
  return {
    id: `${host}-${n}`,
    appVersion,
    host,
    pid: 1000 + n,
    owner: `${host}/x/y/${1000 + n}/r`,
    startedAt: "2026-01-01T00:00:00Z",
    lastSeen: "2026-01-01T00:00:00Z",
    ageMs: 1_000 * n,
    expired: false,
  };
}

const PLAIN: RollingMode = { contract: false, force: false, allowDowntime: false };
const ROLLOUT = steps("1.1.0/add-col:expand", "1.2.0/drop-old:contract");

describe("phase on step definitions", () => {
  it("accepts expand and contract; refuses anything else with E_INVALID_STEP and the closest phase", () => {
    assert.equal(steps("1.0.0/a:expand")[0]?.phase, "expand");
    assert.throws(
      () =>
        new StepRegistry([
          upgrade({ version: "1.0.0", name: "a", run: noop, phase: "contrat" as StepPhase }),
        ]),
      (e: unknown) =>
        isLockstepError(e) && e.code === "E_INVALID_STEP" && /did you mean "contract"/.test(e.message),
    );
  });

  it("does not enter the checksum: declaring a phase on a released step later is not an edit", () => {
    const run = () => undefined;
    const before = new StepRegistry([upgrade({ version: "1.0.0", name: "a", run })]).steps[0];
    const after = new StepRegistry([upgrade({ version: "1.0.0", name: "a", run, phase: "contract" })])
      .steps[0];
    assert.equal(before?.checksum, after?.checksum);
  });

  it("the decorator takes it too", () => {
    class Steps {
      @registerUpgrade("1.2.0", { phase: "contract" })
      dropOld() {}
    }
    assert.equal(new StepRegistry([Steps]).steps[0]?.phase, "contract");
  });

  it("SQL files declare it in a leading comment, outside their checksum", () => {
    const dir = mkdtempSync(join(tmpdir(), "lockstep-phase-"));
    try {
      const plain = join(dir, "1.2.0-drop-old.sql");
      writeFileSync(plain, "ALTER TABLE t DROP COLUMN old;\n");
      const before = sqlFileStep(plain);
      writeFileSync(plain, "-- lockstep-phase: contract\nALTER TABLE t DROP COLUMN old;\n");
      const after = sqlFileStep(plain);
      assert.equal(after.phase, "contract");
      assert.equal(before.phase, undefined);
      assert.equal(before.checksum, after.checksum);
      writeFileSync(plain, "-- lockstep-phase: contracts\nSELECT 1;\n");
      assert.throws(() => new StepRegistry([sqlFileStep(plain)]), /did you mean "contract"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("assessStatus with a floor", () => {
  it("AHEAD_COMPATIBLE when floor <= code < stamp: compatible, names the stamp", () => {
    const r = assessStatus(state("1.2.0", "1.0.0", ["1.1.0/add-col"]), steps("1.0.0/base"), "1.0.0", NOW);
    assert.equal(r.status, "AHEAD_COMPATIBLE");
    assert.equal(r.compatible, true);
    assert.equal(r.floor, "1.0.0");
  });

  it("AHEAD when code < floor, naming the floor and the step that set it", () => {
    const r = assessStatus(
      state("1.2.0", "1.2.0", ["1.1.0/add-col", "1.2.0/drop-old"]),
      steps("1.0.0/base"),
      "1.0.0",
      NOW,
    );
    assert.equal(r.status, "AHEAD");
    assert.equal(r.compatible, false);
    assert.deepEqual(r.floorSetBy, ["1.2.0/drop-old"]);
    assert.match(r.message, /floor is 1\.2\.0, set by step 1\.2\.0\/drop-old/);
  });

  it("a floor never recorded is the stamp (never guess): older code is AHEAD, set by the stamp before floors", () => {
    const r = assessStatus(state("1.2.0", null), steps(), "1.1.0", NOW);
    assert.equal(r.status, "AHEAD");
    assert.equal(r.floor, "1.2.0");
    assert.deepEqual(r.floorSetBy, [FLOOR_BEFORE_FLOORS]);
  });

  it("a floor set by init / --from-version says so", () => {
    const r = assessStatus(state("1.3.0", "1.1.0", ["1.0.0/a"]), steps("1.0.0/a"), "1.0.0", NOW);
    assert.equal(r.status, "AHEAD");
    assert.deepEqual(r.floorSetBy, [FLOOR_BY_INIT]);
  });

  it("the floor's step is what the ledger records at its version, even once that step is marked expand", () => {
    // Applied without a phase (it raised the floor), marked expand in a later release.
    const r = assessStatus(
      state("1.3.0", "1.1.0", ["1.1.0/add-col"]),
      steps("1.1.0/add-col:expand"),
      "1.0.0",
      NOW,
    );
    assert.equal(r.status, "AHEAD");
    assert.deepEqual(r.floorSetBy, ["1.1.0/add-col"]);
    // Beside a step that has no phase, an expand step at the same version is not named.
    const both = assessStatus(
      state("1.3.0", "1.1.0", ["1.1.0/add-col", "1.1.0/fix"]),
      steps("1.1.0/add-col:expand", "1.1.0/fix"),
      "1.0.0",
      NOW,
    );
    assert.deepEqual(both.floorSetBy, ["1.1.0/fix"]);
  });

  it("code below a floor raised above the stamp (an upgrader between its floor write and its step) is AHEAD", () => {
    const r = assessStatus(state("1.0.0", "1.2.0"), steps(), "1.0.0", NOW);
    assert.equal(r.status, "AHEAD");
    assert.equal(r.compatible, false);
    assert.deepEqual(r.floorSetBy, [FLOOR_RAISING]);
  });

  it("CURRENT lists contract steps below the stamp missing from the ledger as deferred, not out of order", () => {
    const r = assessStatus(state("1.2.0", "1.0.0", ["1.1.0/add-col"]), ROLLOUT, "1.2.0", NOW);
    assert.equal(r.status, "CURRENT");
    assert.deepEqual(r.deferred, ["1.2.0/drop-old"]);
    assert.deepEqual(r.outOfOrder, []);
    assert.match(r.message, /1 contract step\(s\) deferred/);
    assert.match(r.next ?? "", /upgrade --contract/);
  });

  it("a step without a phase missing below the stamp stays out of order", () => {
    const r = assessStatus(
      state("1.2.0", "1.0.0", ["1.1.0/add-col"]),
      steps("1.1.0/add-col:expand", "1.2.0/late"),
      "1.2.0",
      NOW,
    );
    assert.deepEqual(r.outOfOrder, ["1.2.0/late"]);
    assert.deepEqual(r.deferred, []);
  });

  it("UPGRADING says whether this code can still serve (floor <= code <= stamp)", () => {
    const lease = { owner: "o", host: "h", pid: 1, user: "u", acquiredAt: "", expiresAt: "", expired: false };
    const s = state("1.2.0", "1.0.0", [], { lease });
    assert.equal(assessStatus(s, steps(), "1.1.0", { leaseHeldByOther: true }).compatible, true);
    assert.equal(assessStatus(s, steps(), "0.9.0", { leaseHeldByOther: true }).compatible, false);
    assert.equal(assessStatus(s, steps(), "1.3.0", { leaseHeldByOther: true }).compatible, false);
  });
});

describe("planUpgrade and decideSteps: deferral", () => {
  const older = [instance("1.0.0", "web-1", 1), instance("1.0.0", "web-2", 2), instance("1.0.0", "web-1", 3)];

  it("older code live: expand applies, contract is deferred naming the releases and hosts", () => {
    const plan = planUpgrade(state("1.0.0", "1.0.0"), ROLLOUT, "1.2.0");
    const d = decideSteps(plan.steps, older, PLAIN);
    assert.deepEqual(
      d.map((x) => x.kind),
      ["apply", "defer"],
    );
    assert.deepEqual(
      d[1]?.heldBy.map((g) => [g.release, g.count, g.hosts]),
      [["1.0.0", 3, ["web-1", "web-2"]]],
    );
    assert.equal(olderCodeRefusal(d), null);
  });

  it("no older code: everything applies in order, contract steps included", () => {
    const plan = planUpgrade(state("1.0.0", "1.0.0"), ROLLOUT, "1.2.0");
    const newer = [instance("1.2.0", "web-9", 1), instance("2.0.0-dev.1", "laptop", 2)];
    assert.deepEqual(
      decideSteps(plan.steps, newer, PLAIN).map((x) => x.kind),
      ["apply", "apply"],
    );
  });

  it("a deferred contract step below the stamp is planned again (applies once older code is gone)", () => {
    const plan = planUpgrade(state("1.2.0", "1.0.0", ["1.1.0/add-col"]), ROLLOUT, "1.2.0");
    assert.deepEqual(
      plan.steps.map((s) => s.id),
      ["1.2.0/drop-old"],
    );
    assert.deepEqual(
      plan.deferred.map((s) => s.id),
      ["1.2.0/drop-old"],
    );
    assert.deepEqual(plan.skippedOutOfOrder, []);
    assert.deepEqual(
      decideSteps(plan.steps, [], PLAIN).map((x) => x.kind),
      ["apply"],
    );
  });

  it("--contract refuses while older code runs; --contract --force applies and says it overrode", () => {
    const plan = planUpgrade(state("1.2.0", "1.0.0", ["1.1.0/add-col"]), ROLLOUT, "1.2.0");
    const refused = decideSteps(plan.steps, older, { ...PLAIN, contract: true });
    const error = olderCodeRefusal(refused);
    assert.equal(error?.code, "E_OLDER_CODE_RUNNING");
    assert.match(error?.message ?? "", /1\.0\.0 ×3 on web-1, web-2/);
    const forced = decideSteps(plan.steps, older, { ...PLAIN, contract: true, force: true });
    assert.deepEqual(
      forced.map((x) => [x.kind, x.override]),
      [["apply", "--force"]],
    );
  });

  it("a step without a phase is refused while older code runs, unless allowDowntime", () => {
    const s = steps("1.1.0/rename-col");
    const error = olderCodeRefusal(decideSteps(s, older, PLAIN));
    assert.equal(error?.code, "E_OLDER_CODE_RUNNING");
    assert.match(error?.hint ?? "", /--allow-downtime/);
    const allowed = decideSteps(s, older, { ...PLAIN, allowDowntime: true });
    assert.deepEqual(
      allowed.map((x) => [x.kind, x.override]),
      [["apply", "--allow-downtime"]],
    );
  });

  it("1.3 -> 1.6 in one jump with 1.3 live: 1.4 expand applies, 1.5 contract deferred, 1.6 no-phase refused", () => {
    const jump = steps("1.4.0/add:expand", "1.5.0/drop:contract", "1.6.0/rewrite", "1.6.0/index:expand");
    const plan = planUpgrade(state("1.3.0", "1.3.0"), jump, "1.6.0");
    const d = decideSteps(plan.steps, [instance("1.3.0", "web-1", 1), instance("1.3.0", "web-2", 2)], PLAIN);
    assert.deepEqual(
      d.map((x) => [x.step, x.kind]),
      [
        ["1.4.0/add", "apply"],
        ["1.5.0/drop", "defer"],
        ["1.6.0/rewrite", "refuse"],
        ["1.6.0/index", "apply"],
      ],
    );
    assert.equal(olderCodeRefusal(d)?.code, "E_OLDER_CODE_RUNNING");
  });

  it("a later contract step waits behind a deferred one even when nothing older holds it itself", () => {
    const s = steps("1.5.0/drop:contract", "1.6.0/drop-more:contract");
    const d = decideSteps(s, [], PLAIN, { deferredBefore: "1.4.0/earlier" });
    assert.deepEqual(
      d.map((x) => [x.kind, x.behind]),
      [
        ["defer", "1.4.0/earlier"],
        ["defer", "1.4.0/earlier"],
      ],
    );
  });

  it("a release candidate's own copies do not hold its release's steps (older is capped at the target)", () => {
    const s = steps("1.0.0/final");
    const rc = [instance("1.0.0-rc.1", "web-1", 1)];
    assert.deepEqual(
      decideSteps(s, rc, PLAIN, { target: "1.0.0-rc.1" }).map((x) => x.kind),
      ["apply"],
    );
    assert.deepEqual(
      decideSteps(s, rc, PLAIN).map((x) => x.kind),
      ["refuse"],
    );
  });

  it("deferredSteps ignores an unstamped database and one without lockstep's ledger", () => {
    assert.deepEqual(deferredSteps(state(null, null), ROLLOUT), []);
    assert.deepEqual(deferredSteps({ ...state("1.2.0", null), hasLedger: false }, ROLLOUT), []);
  });
});
