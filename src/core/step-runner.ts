import type { AdapterCapabilities, InProgressMarker, LeaseHandle, StateWriter } from "./adapter.js";
import { type BatchCheckpoint, type BatchDeps, readPages, runBatch } from "./batch.js";
import { runBatchRanges } from "./batch-ranges.js";
import type { EngineContext } from "./engine-context.js";
import { LeaseError, StepDefinitionError, StepFailedError, UpgradeInterruptedError } from "./errors.js";
import { historyEntry, ledgerEntry } from "./records.js";
import { type StepResult, stepResult } from "./results.js";
import type { Step, StepContext, StepCounts } from "./step.js";
import { runsInTransaction, type StepMode, stepMode } from "./step-mode.js";
import { untilStopped } from "./stop-signal.js";
import { storeWrite } from "./store-write-failure.js";

/** One step to apply under the lease. */
export interface StepRun<TDb> {
  readonly step: Step<TDb>;
  readonly lease: LeaseHandle;
  /** The stamp before the step, and the stamp its success records (null: unchanged). */
  readonly stamp: string | null;
  readonly nextStamp: string | null;
  readonly capabilities: AdapterCapabilities;
  /** The marker an earlier, interrupted run of this step left, if any. */
  readonly interrupted: InProgressMarker | undefined;
  /** A stop asked for abandons the step: its transaction rolls back, or its marker stays. */
  readonly signal?: AbortSignal | undefined;
  /** Recorded with the step's `step_started` history entry (e.g. an override of older code running). */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** A step under way: its run plus what the runner decided when it started. */
interface Running<TDb> extends StepRun<TDb> {
  readonly mode: StepMode;
  readonly started: number;
  readonly marker: InProgressMarker;
  readonly resumeFrom: BatchCheckpoint | null;
}

/**
 * Applies one step the way {@link stepMode} says: its history entry and marker first, then
 * `prepare`, then the step with its ledger entry, stamp and cleared marker. A failure is
 * recorded in history (best effort) and rethrown.
 */
export async function runStep<TDb>(engine: EngineContext<TDb>, run: StepRun<TDb>): Promise<StepResult> {
  const { step, interrupted, capabilities } = run;
  const mode = stepMode(step, capabilities);
  const started = Date.now();
  const running: Running<TDb> = {
    ...run,
    mode,
    started,
    resumeFrom: mode === "batched" ? ((interrupted?.checkpoint ?? null) as BatchCheckpoint | null) : null,
    marker: {
      version: step.version,
      name: step.name,
      startedAt: new Date(started).toISOString(),
      owner: engine.actor.owner,
      host: engine.actor.host,
      pid: engine.actor.pid,
      checkpoint: null,
    },
  };
  await storeWrite("before", () => startStep(engine, running));
  try {
    await prepareStep(engine, running);
    const counts =
      mode === "batched"
        ? await runBatched(engine, running)
        : mode === "atomic"
          ? await runAtomic(engine, running)
          : await runMarked(engine, running);
    return stepResult(step, "applied", { durationMs: Date.now() - started, counts });
  } catch (error) {
    if (!(error instanceof LeaseError)) await recordFailure(engine, running, error);
    throw error;
  }
}

async function startStep<TDb>(engine: EngineContext<TDb>, running: Running<TDb>): Promise<void> {
  const { step, resumeFrom } = running;
  const details = { ...running.details, ...(resumeFrom && { resumedFrom: resumeFrom }) };
  await engine.adapter.write(running.lease, async (writer) => {
    await writer.appendHistory(
      historyEntry(engine, "step_started", {
        version: step.version,
        step: step.name,
        outcome: "started",
        details: Object.keys(details).length > 0 ? details : null,
      }),
    );
    // Without a transaction (or where DDL commits implicitly, as on MySQL) a crash could
    // leave partial writes and no trace; the marker makes the next run report INTERRUPTED
    // naming this step. A batched step's marker carries its checkpoint, kept on resume.
    if (running.mode !== "atomic" && resumeFrom === null) await writer.setMarker(running.marker);
  });
}

async function prepareStep<TDb>(engine: EngineContext<TDb>, running: Running<TDb>): Promise<void> {
  const { step } = running;
  if (!step.prepare) return;
  const prepare = step.prepare.bind(step);
  await engine.adapter.write(running.lease, async (_w, db) => prepare(stepContext(engine, step, db, false)), {
    transactional: false,
  });
}

/** The step, its ledger entry and the stamp in one transaction. */
function runAtomic<TDb>(engine: EngineContext<TDb>, running: Running<TDb>): Promise<StepCounts | null> {
  return runInOneWrite(engine, running, true);
}

/**
 * The step after its marker: still in one transaction where the database has them (its data
 * changes roll back on MySQL, its DDL does not), else in one write without.
 */
function runMarked<TDb>(engine: EngineContext<TDb>, running: Running<TDb>): Promise<StepCounts | null> {
  return runInOneWrite(engine, running, runsInTransaction(running.step, running.capabilities));
}

function runInOneWrite<TDb>(
  engine: EngineContext<TDb>,
  running: Running<TDb>,
  transactional: boolean,
): Promise<StepCounts | null> {
  const { step } = running;
  return engine.adapter.write(
    running.lease,
    async (writer, db) =>
      finishStep(
        engine,
        running,
        writer,
        normaliseCounts(await untilStopped(step.run(stepContext(engine, step, db, false)), running.signal)),
      ),
    { transactional },
  );
}

/** Pages commit one by one with their checkpoint; the ledger entry comes after the last. */
async function runBatched<TDb>(
  engine: EngineContext<TDb>,
  running: Running<TDb>,
): Promise<StepCounts | null> {
  const { step, lease, marker } = running;
  const batch: BatchDeps = {
    adapter: engine.adapter,
    lease,
    dryRun: false,
    transactional: running.capabilities.supportsTransactionalSteps,
    resumeFrom: running.resumeFrom,
    signal: running.signal,
    saveCheckpoint: (writer, checkpoint) => writer.setMarker({ ...marker, checkpoint }),
    progress: (done, total) => engine.emit("step:progress", { step: step.id, done, total }),
  };
  const ran = await engine.adapter.write(
    lease,
    async (_w, db) => normaliseCounts(await step.run(stepContext(engine, step, db, false, batch))),
    { transactional: false },
  );
  return engine.adapter.write(lease, (writer) => finishStep(engine, running, writer, ran), {
    transactional: true,
  });
}

/** Records a step as done: ledger entry, stamp, marker cleared, history. */
async function finishStep<TDb>(
  engine: EngineContext<TDb>,
  running: Running<TDb>,
  writer: StateWriter,
  counts: StepCounts | null,
): Promise<StepCounts | null> {
  return storeWrite("after", () => recordStep(engine, running, writer, counts));
}

async function recordStep<TDb>(
  engine: EngineContext<TDb>,
  running: Running<TDb>,
  writer: StateWriter,
  counts: StepCounts | null,
): Promise<StepCounts | null> {
  const { step, stamp, nextStamp } = running;
  const durationMs = Date.now() - running.started;
  await writer.putLedgerEntry(
    ledgerEntry(engine, step, "applied", new Date().toISOString(), durationMs, counts),
  );
  if (nextStamp !== stamp && nextStamp !== null) await writer.setStamp(nextStamp);
  // Cleared even when this run set no marker: an idempotent step retried after a
  // crash (or a non-atomic run of it) left one, and it is done now.
  await writer.clearMarker(step.version, step.name);
  await writer.appendHistory(
    historyEntry(engine, "step_succeeded", {
      version: step.version,
      step: step.name,
      durationMs,
      details: counts ? { counts } : null,
    }),
  );
  return counts;
}

async function recordFailure<TDb>(
  engine: EngineContext<TDb>,
  running: Running<TDb>,
  error: unknown,
): Promise<void> {
  const { step } = running;
  const details = {
    error: messageOf(error),
    atomic: runsInTransaction(step, running.capabilities),
    batched: step.batched === true,
    ...(error instanceof UpgradeInterruptedError && { signal: error.signal }),
  };
  await engine.adapter
    .write(running.lease, (writer) =>
      writer.appendHistory(
        historyEntry(engine, "step_failed", {
          version: step.version,
          step: step.name,
          outcome: "failed",
          durationMs: Date.now() - running.started,
          details,
        }),
      ),
    )
    .catch(() => undefined);
}

/**
 * The error an upgrade throws when `step` failed: which step, on which database, where the
 * stamp stands, and what to do next for a step run the way `mode` says.
 */
export function stepFailedError(
  engine: EngineContext<unknown>,
  step: Step<unknown>,
  mode: StepMode,
  stamp: string | null,
  results: readonly StepResult[],
  error: unknown,
): StepFailedError {
  // A marked step's marker stays (even after a clean rollback: DDL may have committed), so
  // the next upgrade refuses it as INTERRUPTED until resolved; say that first.
  const next =
    mode === "marked"
      ? `the step was not atomic and is left INTERRUPTED: check its partial writes, then \`lockstep resolve ${step.id} --rolled-back\` (or \`--applied\` if its work is complete), fix the step and run \`lockstep upgrade\``
      : mode === "batched"
        ? "its committed pages stay, with their checkpoint: fix the step, then run `lockstep upgrade` again to resume it"
        : "its writes rolled back: fix the step, then run `lockstep upgrade` again";
  return new StepFailedError(
    `step ${step.id} failed on ${engine.adapter.displayName}: ${messageOf(error)}`,
    step.id,
    results,
    {
      cause: error,
      hint: `earlier steps stay applied and the database is at ${stamp ?? "no version"}; ${next}`,
    },
  );
}

/** The context a step's `run` and `prepare` get. */
export function stepContext<TDb>(
  engine: EngineContext<TDb>,
  step: Step<TDb>,
  db: TDb,
  dryRun: boolean,
  batch?: BatchDeps,
): StepContext<TDb> {
  const progress = (done: number, total?: number) =>
    engine.emit("step:progress", { step: step.id, done, total });
  const deps: BatchDeps = batch ?? {
    adapter: engine.adapter,
    lease: null,
    dryRun,
    transactional: false,
    resumeFrom: null,
    saveCheckpoint: async () => undefined,
    progress,
  };
  return {
    db,
    dryRun,
    version: step.version,
    name: step.name,
    databaseKind: engine.adapter.kind,
    log: (message) => engine.emit("step:log", { step: step.id, message }),
    progress,
    batch: (source, transform, options) => {
      requireBatched(step, "ctx.batch");
      return runBatch(deps, source, transform, options);
    },
    batchRanges: (source, statement, options) => {
      requireBatched(step, "ctx.batchRanges");
      return runBatchRanges(deps, source, statement, options);
    },
    pages: (source, options) => readPages(engine.adapter, source, options),
  };
}

/** Refuses the batch helpers in a step not declared `batched: true`. */
function requireBatched(step: Step<unknown>, helper: string): void {
  if (step.batched === true) return;
  throw new StepDefinitionError(
    "E_INVALID_STEP",
    `step ${step.id} calls ${helper} but is not declared batched`,
    {
      hint: "add batched: true to the step: its pages then commit one by one with a checkpoint",
    },
  );
}

/** The numeric fields of what a step returned, or null when there are none. */
export function normaliseCounts(value: unknown): StepCounts | null {
  if (value === null || typeof value !== "object") return null;
  const out: StepCounts = {};
  for (const [key, n] of Object.entries(value)) if (typeof n === "number") out[key] = n;
  return Object.keys(out).length > 0 ? out : null;
}

/** An error's message, or the thrown value as text. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
