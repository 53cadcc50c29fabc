import type { DatabaseDescription, DatabaseState, LeaseHandle } from "./adapter.js";
import {
  decideSteps,
  describeHolders,
  olderCodeRefusal,
  type RollingMode,
  type StepDecision,
} from "./compatibility.js";
import type { EngineContext } from "./engine-context.js";
import { RefusedError } from "./errors.js";
import { FloorKeeper } from "./floor-keeper.js";
import { liveInstances } from "./instances.js";
import type { AcquiredLease } from "./lease-acquire.js";
import { type Plan, type PlannerOptions, planUpgrade } from "./planner.js";
import {
  checkPreconditions,
  skippedFailing,
  throwOnFailedPreconditions,
  withFailingPreconditions,
} from "./preconditions.js";
import { historyEntry, ledgerEntry } from "./records.js";
import { type StepRegistry, stepId } from "./registry.js";
import type { DeferredStep, MeasuredCount, PreconditionReport, UpgradeResult } from "./reports.js";
import { type StepResult, stepResult } from "./results.js";
import { runSteps, type StepsOutcome } from "./run-steps.js";
import type { Step } from "./step.js";
import { runsInTransaction } from "./step-mode.js";
import { normaliseCounts, stepContext } from "./step-runner.js";
import { findStoreDamage, storeDamagedError } from "./store-damage.js";
import { compareVersions } from "./versions.js";

/** One call of `upgrade()`: where, which steps, and how it was asked to plan. */
export interface UpgradeRun<TDb> {
  readonly engine: EngineContext<TDb>;
  readonly registry: StepRegistry<TDb>;
  readonly database: DatabaseDescription;
  readonly planOptions: PlannerOptions;
  /** Skip the preconditions marked skippable. */
  readonly force: boolean;
  /** Asks the upgrade to stop at the next safe point (see stop-signal.ts). */
  readonly signal?: AbortSignal | undefined;
  /** `--contract`, `--force`, `--allow-downtime`: how older code still running is treated. */
  readonly mode: RollingMode;
}

/** A plan whose interrupted steps may run, decided for the live instances, whose preconditions passed. */
interface CheckedPlan<TDb> {
  readonly plan: Plan<TDb>;
  /** One per step of the plan: apply, or defer (none refused). */
  readonly decisions: StepDecision[];
  readonly preconditions: PreconditionReport[];
}

/**
 * The upgrade under the lease: re-reads the state, plans, checks every precondition, writes
 * the baseline, runs each step, then stamps the target and records the upgrade.
 */
export async function applyUpgrade<TDb>(
  run: UpgradeRun<TDb>,
  { lease, waited }: AcquiredLease,
): Promise<UpgradeResult> {
  const { adapter } = run.engine;
  // Again under the lease (`upgrade()` checked before taking it): a ledger row may be gone.
  const stored = await adapter.readState();
  const damage = await findStoreDamage(adapter, stored, run.registry.steps);
  if (damage !== null) throw storeDamagedError(damage, stored.stamp);
  await adapter.ensureStore();
  // Re-read under the lease: another upgrader may have finished while we waited.
  const state = await adapter.readState();
  const { plan, decisions, preconditions } = await checkedPlan(run, state);
  for (const step of plan.skippedOutOfOrder) {
    run.engine.emit("warning", {
      message: `step ${step.id} is below the stamp and was never applied: rerun with --out-of-order`,
    });
  }
  const floor = new FloorKeeper(run.engine, lease, state);
  let stamp = state.stamp;
  const baselined = plan.baseline.length > 0 || (plan.unstamped && run.planOptions.fromVersion !== undefined);
  if (baselined) stamp = await writeBaseline(run.engine, lease, plan, state.stamp, floor);
  const applied = await runSteps(
    {
      engine: run.engine,
      lease,
      capabilities: run.database.capabilities,
      mode: run.mode,
      floor,
      target: plan.target,
      interrupted: state.interrupted,
      signal: run.signal,
    },
    plan.steps,
    decisions,
    stamp,
  );
  const deferred = applied.deferred.map(deferredStep);
  const moved = await finishUpgrade(run.engine, lease, plan, applied, baselined, floor);
  for (const d of deferred) run.engine.emit("warning", { message: deferredWarning(d) });
  return {
    outcome: applied.results.length > 0 || moved ? "upgraded" : baselined ? "baselined" : "current",
    from: state.stamp,
    baseline: baselined ? plan.baseline.map((step) => step.id) : [],
    ...(plan.note !== null && { note: plan.note }),
    to: plan.target,
    results: applied.results,
    deferred,
    waitedForLease: waited,
    preconditions,
    measured: {},
  };
}

/** A deferred step as the result reports it. */
function deferredStep(d: StepDecision): DeferredStep {
  return { step: d.step, version: d.version, heldBy: d.heldBy, behind: d.behind };
}

/** "contract step 1.2.0/drop-x deferred: older code runs (1.0.0 ×3 on web-1); …". */
export function deferredWarning(d: DeferredStep): string {
  return deferredReason(d, " deferred");
}

/**
 * "contract step 1.2.0/drop-x: older code runs (1.0.0 ×3 on web-1); …", for a line headed
 * "deferred" (`heading` adds the word after the step where no heading says it).
 */
export function deferredReason(d: DeferredStep, heading = ""): string {
  const why =
    d.heldBy.length > 0 ? `older code runs (${describeHolders(d.heldBy)})` : `it waits behind ${d.behind}`;
  return `contract step ${d.step}${heading}: ${why}; \`lockstep upgrade --contract\` applies it once no older release runs`;
}

/** Plans and checks like an upgrade, then calls each step in dry-run mode; writes nothing. */
export async function dryRunUpgrade<TDb>(run: UpgradeRun<TDb>): Promise<UpgradeResult> {
  const { adapter, emit } = run.engine;
  const state = await adapter.readState();
  const { plan, decisions, preconditions } = await checkedPlan(run, state, false);
  const results: StepResult[] = [];
  const measured: Record<string, MeasuredCount[]> = {};
  const toRun = applying(plan.steps, decisions);
  for (const [index, step] of toRun.entries()) {
    emit("step:started", { step: step.id, index, total: toRun.length, dryRun: true });
    measured[step.id] = await Promise.all(
      (step.affects ?? []).map(async (query) => ({
        query: JSON.stringify(query),
        count: await adapter.count(query),
      })),
    );
    const started = Date.now();
    // Steps are called in dry-run mode; where the database has transactions they also run
    // inside one that is always rolled back, so a step that forgets `dryRun` still writes nothing.
    const counts = await adapter.write(
      null,
      async (_writer, db) => normaliseCounts(await step.run(stepContext(run.engine, step, db, true))),
      { transactional: runsInTransaction(step, run.database.capabilities), rollback: true },
    );
    const result = stepResult(step, "dry-run", { durationMs: Date.now() - started, counts });
    results.push(result);
    emit("step:finished", result);
  }
  return {
    outcome: "dry-run",
    from: state.stamp,
    baseline: plan.baseline.map((step) => step.id),
    ...(plan.note !== null && { note: plan.note }),
    to: plan.target,
    results,
    deferred: decisions.filter((d) => d.kind === "defer").map(deferredStep),
    waitedForLease: false,
    preconditions,
    measured,
  };
}

/** The steps decided "apply", in order. */
function applying<TDb>(steps: readonly Step<TDb>[], decisions: readonly StepDecision[]): Step<TDb>[] {
  return steps.filter((_, i) => decisions[i]?.kind === "apply");
}

/**
 * Plans, decides each step for the live instances (refusing before anything is written when
 * older code forbids a step), then checks the preconditions of the steps that will run.
 */
async function checkedPlan<TDb>(
  run: UpgradeRun<TDb>,
  state: DatabaseState,
  prune = true,
): Promise<CheckedPlan<TDb>> {
  const { engine, registry } = run;
  const plan = planUpgrade(state, registry.steps, engine.codeVersion, run.planOptions);
  refuseInterrupted(run, state, plan);
  // A dry run writes nothing, not even the removal of dead instances from the registry.
  const live = await liveInstances(engine.adapter, engine.actor, { prune });
  const decisions = decideSteps(plan.steps, live, run.mode, { target: plan.target });
  const refusal = olderCodeRefusal(decisions);
  const checked = plan.steps.filter((_, i) => decisions[i]?.kind !== "defer");
  const preconditions = await checkPreconditions(engine.adapter, checked, run.force);
  if (refusal !== null) throw withFailingPreconditions(refusal, preconditions);
  throwOnFailedPreconditions(preconditions);
  for (const p of skippedFailing(preconditions)) {
    engine.emit("warning", {
      message: `precondition "${p.description}" of step ${p.step} fails (${p.message}) and was skipped by force: the step runs over those records`,
    });
  }
  return { plan, decisions, preconditions };
}

/** Moves the stamp to the target when the steps did not, and records the upgrade; true when the stamp moved. */
async function finishUpgrade<TDb>(
  engine: EngineContext<TDb>,
  lease: LeaseHandle,
  plan: Plan<TDb>,
  applied: StepsOutcome,
  baselined: boolean,
  floor: FloorKeeper,
): Promise<boolean> {
  const { stamp, results } = applied;
  const moved = stamp === null || compareVersions(plan.target, stamp) > 0;
  if (moved) {
    await floor.beforeStampMove(stamp);
    await engine.adapter.write(lease, async (writer) => {
      await writer.setStamp(plan.target);
      await writer.appendHistory(
        historyEntry(engine, "stamp", { version: plan.target, details: { from: stamp } }),
      );
    });
    engine.emit("stamped", { version: plan.target, action: "upgrade" });
  }
  // A baseline alone (`--from-version` with nothing to run) is recorded as an upgrade too.
  // (Deferred steps alone, as on a rerun while older code still runs, record nothing.)
  if (results.length > 0 || moved || baselined) {
    await engine.adapter.write(lease, (writer) =>
      writer.appendHistory(
        historyEntry(engine, "upgrade_finished", {
          version: plan.target,
          details: finishDetails(plan, applied, baselined),
        }),
      ),
    );
  }
  return moved;
}

/** What `upgrade_finished` records: the steps, the baseline, the deferred steps and the overrides used. */
function finishDetails<TDb>(
  plan: Plan<TDb>,
  applied: StepsOutcome,
  baselined: boolean,
): Record<string, unknown> {
  return {
    from: plan.from,
    steps: applied.results.map((r) => r.step),
    ...(baselined && { baseline: plan.baseline.map((s) => s.id) }),
    ...(applied.deferred.length > 0 && { deferred: applied.deferred.map(deferredStep) }),
    ...(applied.overrides.length > 0 && {
      overrides: applied.overrides.map((d) => ({
        step: d.step,
        flag: d.override,
        olderCodeRunning: d.heldBy,
      })),
    }),
  };
}

/** Refuses to run while a step is INTERRUPTED, unless the plan can safely run it again. */
function refuseInterrupted<TDb>(run: UpgradeRun<TDb>, state: DatabaseState, plan: Plan<TDb>): void {
  for (const marker of state.interrupted) {
    const step = run.registry.find(marker.version, marker.name);
    const id = stepId(marker.version, marker.name);
    // Idempotent steps can run again; batched ones resume after their last checkpoint.
    const retryable =
      step !== undefined && (step.idempotent === true || step.batched === true) && plan.steps.includes(step);
    if (!retryable) {
      throw new RefusedError(
        "E_INTERRUPTED",
        `step ${id} started at ${marker.startedAt} (pid ${marker.pid} on ${marker.host}) and never finished; its writes may be partial`,
        {
          hint: `check the data, then run \`lockstep resolve ${id} --applied\` if its work is complete or \`lockstep resolve ${id} --rolled-back\` if it is undone`,
        },
      );
    }
    run.engine.emit("warning", {
      message: step.batched
        ? `resuming interrupted batched step ${id} after its last checkpoint`
        : `retrying interrupted idempotent step ${id}`,
    });
  }
}

async function writeBaseline<TDb>(
  engine: EngineContext<TDb>,
  lease: LeaseHandle,
  plan: Plan<TDb>,
  stamp: string | null,
  floor: FloorKeeper,
): Promise<string> {
  const at = new Date().toISOString();
  await engine.adapter.write(lease, async (writer) => {
    for (const step of plan.baseline)
      await writer.putLedgerEntry(ledgerEntry(engine, step, "baselined", at, null, null));
    // `--from-version X` says the data is in X's format: X is its floor.
    if (stamp === null && writer.setFloor) await writer.setFloor(plan.from);
    if (stamp === null) await writer.setStamp(plan.from);
    await writer.appendHistory(
      historyEntry(engine, "baseline", {
        version: plan.from,
        details: { steps: plan.baseline.map((s) => s.id) },
      }),
    );
  });
  if (stamp === null) floor.noteRecorded(plan.from);
  return stamp ?? plan.from;
}
