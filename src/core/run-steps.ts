/**
 * Runs an upgrade's steps in order under the lease, as decided for the live instances:
 * deferred contract steps are left for later; before each non-expand step the floor is
 * raised and the live instances read again, so an older replica that registered meanwhile
 * defers (contract) or refuses (no phase) the step instead of meeting contracted data.
 */
import type { AdapterCapabilities, InProgressMarker, LeaseHandle } from "./adapter.js";
import {
  decideSteps,
  floorFor,
  olderCodeError,
  type RollingMode,
  type StepDecision,
} from "./compatibility.js";
import type { EngineContext } from "./engine-context.js";
import { LeaseError, UpgradeInterruptedError } from "./errors.js";
import type { FloorKeeper } from "./floor-keeper.js";
import { liveInstances } from "./instances.js";
import { type StepResult, stepResult } from "./results.js";
import type { Step } from "./step.js";
import { stepMode } from "./step-mode.js";
import { messageOf, runStep, stepFailedError } from "./step-runner.js";
import { stopUpgrade } from "./stop-signal.js";
import { StoreWriteFailure, storeWriteError } from "./store-write-failure.js";
import { compareVersions } from "./versions.js";

/** What the steps of one upgrade share. */
export interface StepsRun<TDb> {
  readonly engine: EngineContext<TDb>;
  readonly lease: LeaseHandle;
  readonly capabilities: AdapterCapabilities;
  readonly mode: RollingMode;
  readonly floor: FloorKeeper;
  /** The stamp the upgrade ends at. */
  readonly target: string;
  readonly interrupted: readonly InProgressMarker[];
  readonly signal?: AbortSignal | undefined;
}

/** What the steps did: results of those run, the stamp, the deferred steps and the overrides used. */
export interface StepsOutcome {
  readonly results: StepResult[];
  readonly stamp: string | null;
  readonly deferred: StepDecision[];
  readonly overrides: StepDecision[];
}

/** Runs `steps` as `decisions` say (one decision per step, none refused); see the file's comment. */
export async function runSteps<TDb>(
  r: StepsRun<TDb>,
  steps: readonly Step<TDb>[],
  decisions: readonly StepDecision[],
  startStamp: string | null,
): Promise<StepsOutcome> {
  const results: StepResult[] = [];
  const deferred: StepDecision[] = [];
  const overrides: StepDecision[] = [];
  let pending = [...decisions];
  let stamp = startStamp;
  const total = pending.filter((d) => d.kind === "apply").length;
  for (const [index, step] of steps.entries()) {
    const rest = () => steps.slice(index + 1).filter((_, i) => pending[index + 1 + i]?.kind === "apply");
    // Before the floor moves: a stop leaves it where the data is.
    if (r.signal?.aborted && pending[index]?.kind === "apply") {
      const left = [step, ...rest()].map((s) => stepResult(s, "pending"));
      throw await stopUpgrade(r.engine, r.lease, {
        signal: r.signal,
        step: step.id,
        mode: null,
        results: [...results, ...left],
      });
    }
    if (pending[index]?.kind === "apply" && step.phase !== "expand") {
      const redo = await guardFloor(r, steps.slice(index), stamp, deferred);
      if (redo !== null) pending = [...pending.slice(0, index), ...redo];
    }
    const decision = pending[index] as StepDecision;
    if (decision.kind !== "apply") {
      deferred.push(decision);
      continue;
    }
    if (step.phase === "expand") await r.floor.beforeStampMove(stamp);
    if (decision.override !== null) overrides.push(decision);
    r.engine.emit("step:started", { step: step.id, index: results.length, total, dryRun: false });
    const nextStamp = stampAfter(stamp, step.version, r.target);
    try {
      const result = await runOne(r, step, decision, stamp, nextStamp);
      r.floor.keep();
      stamp = nextStamp;
      results.push(result);
      r.engine.emit("step:finished", result);
    } catch (error) {
      throw await failed(r, step, stamp, results, rest(), error);
    }
  }
  return { results, stamp, deferred, overrides };
}

function runOne<TDb>(
  r: StepsRun<TDb>,
  step: Step<TDb>,
  decision: StepDecision,
  stamp: string | null,
  nextStamp: string | null,
): Promise<StepResult> {
  const interrupted = r.interrupted.find((m) => m.version === step.version && m.name === step.name);
  return runStep(r.engine, {
    step,
    lease: r.lease,
    stamp,
    nextStamp,
    capabilities: r.capabilities,
    interrupted,
    signal: r.signal,
    ...(decision.override !== null && {
      details: { override: decision.override, olderCodeRunning: decision.heldBy },
    }),
  });
}

/**
 * Raises the floor to the step's version, then reads the live instances again and decides
 * the remaining steps anew (null: the floor was already there, the decisions stand). When the step may no longer run, the floor is put back: a
 * contract step is deferred, a step without a phase refused (earlier steps stay applied).
 */
async function guardFloor<TDb>(
  r: StepsRun<TDb>,
  remaining: readonly Step<TDb>[],
  stamp: string | null,
  deferred: readonly StepDecision[],
): Promise<StepDecision[] | null> {
  const step = remaining[0] as Step<TDb>;
  // The floor already at or above the step: an older replica starting now is refused anyway.
  if (!(await r.floor.raise(floorFor(step.version, r.target), stamp))) return null;
  const live = await liveInstances(r.engine.adapter, r.engine.actor);
  const redo = decideSteps(remaining, live, r.mode, {
    target: r.target,
    deferredBefore: deferred[0]?.step ?? null,
  });
  if (redo[0]?.kind === "apply" && !redo.some((d) => d.kind === "refuse")) return redo;
  await r.floor.restore();
  const refused = redo.find((d) => d.kind === "refuse");
  if (refused) throw olderCodeError(refused, "steps before it stay applied; it was not run");
  return redo;
}

/** The error to throw for a failed step, after putting back a floor a rolled-back step had raised. */
async function failed<TDb>(
  r: StepsRun<TDb>,
  step: Step<TDb>,
  stamp: string | null,
  results: StepResult[],
  rest: readonly Step<TDb>[],
  error: unknown,
): Promise<unknown> {
  const mode = stepMode(step, r.capabilities);
  // An atomic step rolled back whole: the data is as before, so is the floor. Other steps
  // may have left writes (INTERRUPTED, committed pages): the raised floor stays.
  if (mode === "atomic") await r.floor.restore().catch(() => undefined);
  else r.floor.keep();
  const failedResult = stepResult(step, "failed", { error: messageOf(error) });
  results.push(failedResult);
  r.engine.emit("step:finished", failedResult);
  for (const s of rest) results.push(stepResult(s, "pending"));
  if (error instanceof LeaseError) return error;
  if (error instanceof StoreWriteFailure) return storeWriteError(r.engine, step, mode, stamp, results, error);
  if (error instanceof UpgradeInterruptedError && r.signal?.aborted) {
    return stopUpgrade(r.engine, r.lease, { signal: r.signal, step: step.id, mode, results }, error);
  }
  return stepFailedError(r.engine, step, mode, stamp, results, error);
}

/**
 * The stamp after a step: capped at the target (a release candidate applies the steps of its
 * release, see versions.ts, but records its own version); never lowered (out-of-order and
 * deferred steps lie below it).
 */
function stampAfter(stamp: string | null, stepVersion: string, target: string): string | null {
  const candidate = compareVersions(stepVersion, target) > 0 ? target : stepVersion;
  return stamp === null || compareVersions(candidate, stamp) > 0 ? candidate : stamp;
}
