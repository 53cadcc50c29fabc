import type { AdapterCapabilities, DatabaseDescription, DatabaseState, LeaseHandle } from "./adapter.js";
import type { EngineContext } from "./engine-context.js";
import { LeaseError, RefusedError, UpgradeInterruptedError } from "./errors.js";
import type { AcquiredLease } from "./lease-acquire.js";
import { type Plan, type PlannerOptions, planUpgrade } from "./planner.js";
import { checkPreconditions, throwOnFailedPreconditions } from "./preconditions.js";
import { historyEntry, ledgerEntry } from "./records.js";
import { type StepRegistry, stepId } from "./registry.js";
import type { MeasuredCount, PreconditionReport, UpgradeResult } from "./reports.js";
import { type StepResult, stepResult } from "./results.js";
import { runsInTransaction, stepMode } from "./step-mode.js";
import { messageOf, normaliseCounts, runStep, stepContext, stepFailedError } from "./step-runner.js";
import { stopUpgrade } from "./stop-signal.js";
import { findStoreDamage, storeDamagedError } from "./store-damage.js";
import { StoreWriteFailure, storeWriteError } from "./store-write-failure.js";
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
}

/** A plan whose interrupted steps may run and whose preconditions passed. */
interface CheckedPlan<TDb> {
  readonly plan: Plan<TDb>;
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
  const { plan, preconditions } = await checkedPlan(run, state);
  for (const step of plan.skippedOutOfOrder) {
    run.engine.emit("warning", {
      message: `step ${step.id} is below the stamp and was never applied: rerun with --out-of-order`,
    });
  }
  let stamp = state.stamp;
  const baselined = plan.baseline.length > 0 || (plan.unstamped && run.planOptions.fromVersion !== undefined);
  if (baselined) stamp = await writeBaseline(run.engine, lease, plan, state.stamp);
  const applied = await applySteps(run, lease, plan, state, stamp);
  const moved = await finishUpgrade(run.engine, lease, plan, applied.stamp, applied.results, baselined);
  return {
    outcome: applied.results.length > 0 || moved ? "upgraded" : baselined ? "baselined" : "current",
    from: state.stamp,
    baseline: baselined ? plan.baseline.map((step) => step.id) : [],
    ...(plan.note !== null && { note: plan.note }),
    to: plan.target,
    results: applied.results,
    waitedForLease: waited,
    preconditions,
    measured: {},
  };
}

/** Plans and checks like an upgrade, then calls each step in dry-run mode; writes nothing. */
export async function dryRunUpgrade<TDb>(run: UpgradeRun<TDb>): Promise<UpgradeResult> {
  const { adapter, emit } = run.engine;
  const state = await adapter.readState();
  const { plan, preconditions } = await checkedPlan(run, state);
  const results: StepResult[] = [];
  const measured: Record<string, MeasuredCount[]> = {};
  for (const [index, step] of plan.steps.entries()) {
    emit("step:started", { step: step.id, index, total: plan.steps.length, dryRun: true });
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
    waitedForLease: false,
    preconditions,
    measured,
  };
}

async function checkedPlan<TDb>(run: UpgradeRun<TDb>, state: DatabaseState): Promise<CheckedPlan<TDb>> {
  const { engine, registry } = run;
  const plan = planUpgrade(state, registry.steps, engine.codeVersion, run.planOptions);
  refuseInterrupted(run, state, plan);
  const preconditions = await checkPreconditions(engine.adapter, plan.steps, run.force);
  throwOnFailedPreconditions(preconditions);
  return { plan, preconditions };
}

/** Runs the planned steps in order; on a failure, reports it and the steps left pending. */
async function applySteps<TDb>(
  run: UpgradeRun<TDb>,
  lease: LeaseHandle,
  plan: Plan<TDb>,
  state: DatabaseState,
  stamp: string | null,
): Promise<{ results: StepResult[]; stamp: string | null }> {
  const { engine } = run;
  const capabilities: AdapterCapabilities = run.database.capabilities;
  const results: StepResult[] = [];
  const { signal } = run;
  for (const [index, step] of plan.steps.entries()) {
    if (signal?.aborted) {
      const rest = plan.steps.slice(index).map((s) => stepResult(s, "pending"));
      throw await stopUpgrade(engine, lease, {
        signal,
        step: step.id,
        mode: null,
        results: [...results, ...rest],
      });
    }
    engine.emit("step:started", { step: step.id, index, total: plan.steps.length, dryRun: false });
    try {
      const interrupted = state.interrupted.find((m) => m.version === step.version && m.name === step.name);
      const nextStamp = stampAfter(stamp, step.version, plan.target);
      const result = await runStep(engine, {
        step,
        lease,
        stamp,
        nextStamp,
        capabilities,
        interrupted,
        signal,
      });
      stamp = nextStamp;
      results.push(result);
      engine.emit("step:finished", result);
    } catch (error) {
      const failed = stepResult(step, "failed", { error: messageOf(error) });
      results.push(failed);
      engine.emit("step:finished", failed);
      for (const rest of plan.steps.slice(index + 1)) results.push(stepResult(rest, "pending"));
      if (error instanceof LeaseError) throw error;
      if (error instanceof StoreWriteFailure)
        throw storeWriteError(engine, step, stepMode(step, capabilities), stamp, results, error);
      if (error instanceof UpgradeInterruptedError && signal?.aborted) {
        const mode = stepMode(step, capabilities);
        throw await stopUpgrade(engine, lease, { signal, step: step.id, mode, results }, error);
      }
      throw stepFailedError(engine, step, stepMode(step, capabilities), stamp, results, error);
    }
  }
  return { results, stamp };
}

/** Moves the stamp to the target when the steps did not, and records the upgrade; true when the stamp moved. */
async function finishUpgrade<TDb>(
  engine: EngineContext<TDb>,
  lease: LeaseHandle,
  plan: Plan<TDb>,
  stamp: string | null,
  results: readonly StepResult[],
  baselined: boolean,
): Promise<boolean> {
  const moved = stamp === null || compareVersions(plan.target, stamp) > 0;
  if (moved) {
    await engine.adapter.write(lease, async (writer) => {
      await writer.setStamp(plan.target);
      await writer.appendHistory(
        historyEntry(engine, "stamp", { version: plan.target, details: { from: stamp } }),
      );
    });
    engine.emit("stamped", { version: plan.target, action: "upgrade" });
  }
  // A baseline alone (`--from-version` with nothing to run) is recorded as an upgrade too.
  if (results.length > 0 || moved || baselined) {
    await engine.adapter.write(lease, (writer) =>
      writer.appendHistory(
        historyEntry(engine, "upgrade_finished", {
          version: plan.target,
          details: {
            from: plan.from,
            steps: results.map((r) => r.step),
            ...(baselined && { baseline: plan.baseline.map((s) => s.id) }),
          },
        }),
      ),
    );
  }
  return moved;
}

function stampAfter(stamp: string | null, stepVersion: string, target: string): string | null {
  // Capped at the target: a release candidate applies the steps of its release (see
  // versions.ts) but records its own version. Out-of-order steps never lower the stamp.
  const candidate = compareVersions(stepVersion, target) > 0 ? target : stepVersion;
  return stamp === null || compareVersions(candidate, stamp) > 0 ? candidate : stamp;
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
): Promise<string> {
  const at = new Date().toISOString();
  await engine.adapter.write(lease, async (writer) => {
    for (const step of plan.baseline)
      await writer.putLedgerEntry(ledgerEntry(engine, step, "baselined", at, null, null));
    if (stamp === null) await writer.setStamp(plan.from);
    await writer.appendHistory(
      historyEntry(engine, "baseline", {
        version: plan.from,
        details: { steps: plan.baseline.map((s) => s.id) },
      }),
    );
  });
  return stamp ?? plan.from;
}
