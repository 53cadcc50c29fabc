/**
 * Stopping an upgrade on request (`UpgradeOptions.signal`, the CLI's SIGINT/SIGTERM) at a
 * safe point: before a step, between batch pages, or by abandoning a running step so that its
 * transaction rolls back (or, for a step without one, its marker stays: INTERRUPTED).
 */
import type { LeaseHandle } from "./adapter.js";
import type { EngineContext } from "./engine-context.js";
import { UpgradeInterruptedError } from "./errors.js";
import { historyEntry } from "./records.js";
import type { StepResult } from "./results.js";
import type { StepMode } from "./step-mode.js";

/** The abort reason as a name: "SIGINT", "SIGTERM", else "abort". */
export function stopReason(signal: AbortSignal): string {
  return typeof signal.reason === "string" ? signal.reason : "abort";
}

/** Throws when a stop was asked for: called at each safe point. */
export function throwIfStopped(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw stopped(signal);
}

/**
 * `work`, or a rejection as soon as a stop is asked for. Thrown inside a step's write, the
 * rejection rolls its transaction back; the abandoned work is left to the exiting process.
 */
export function untilStopped<T>(work: Promise<T> | T, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return Promise.resolve(work);
  return new Promise<T>((resolve, reject) => {
    const onStop = () => reject(stopped(signal));
    if (signal.aborted) return onStop();
    signal.addEventListener("abort", onStop, { once: true });
    Promise.resolve(work)
      .then(resolve, reject)
      .finally(() => signal.removeEventListener("abort", onStop));
  });
}

function stopped(signal: AbortSignal): UpgradeInterruptedError {
  const reason = stopReason(signal);
  return new UpgradeInterruptedError(`upgrade stopped by ${reason}`, reason);
}

/** Where the upgrade stopped: before a step, or inside one run the way `mode` says. */
export interface StopPoint {
  readonly signal: AbortSignal;
  readonly step: string;
  readonly mode: StepMode | null;
  /** Applied, failed (the step stopped inside) and pending steps. */
  readonly results: readonly StepResult[];
}

/**
 * Stops the upgrade at `at`: records it in history (best effort: the lease is still ours) and
 * returns the error to throw, saying which step and what that left behind.
 */
export async function stopUpgrade(
  engine: EngineContext<unknown>,
  lease: LeaseHandle,
  at: StopPoint,
  cause?: unknown,
): Promise<UpgradeInterruptedError> {
  const error = upgradeStoppedError(at, cause);
  await recordStop(engine, lease, error, at);
  return error;
}

function upgradeStoppedError(at: StopPoint, cause?: unknown): UpgradeInterruptedError {
  const reason = stopReason(at.signal);
  const applied = at.results.filter((r) => r.status === "applied").length;
  const pending = at.results.filter((r) => r.status !== "applied").length;
  const where =
    at.mode === null
      ? `before step ${at.step}`
      : at.mode === "atomic"
        ? `during step ${at.step}: its transaction was rolled back`
        : at.mode === "batched"
          ? `during batched step ${at.step}: the pages before its last checkpoint stay written`
          : `during step ${at.step}: it does not run in one transaction and stays INTERRUPTED`;
  const hint =
    at.mode === "marked"
      ? `check its writes, then \`lockstep resolve ${at.step} --applied\` or \`--rolled-back\`, then \`lockstep upgrade\``
      : at.mode === "batched"
        ? "`lockstep upgrade` resumes it after its last checkpoint"
        : "`lockstep upgrade` applies the rest";
  return new UpgradeInterruptedError(
    `upgrade stopped by ${reason} ${where} (${applied} step(s) applied, ${pending} not)`,
    reason,
    at.results,
    { hint, ...(cause !== undefined && { cause }) },
  );
}

async function recordStop(
  engine: EngineContext<unknown>,
  lease: LeaseHandle,
  error: UpgradeInterruptedError,
  at: StopPoint,
): Promise<void> {
  const steps = (status: StepResult["status"]) =>
    at.results.filter((r) => r.status === status).map((r) => r.step);
  await engine.adapter
    .write(lease, (writer) =>
      writer.appendHistory(
        historyEntry(engine, "upgrade_interrupted", {
          outcome: "failed",
          details: {
            signal: error.signal,
            step: at.step,
            mode: at.mode,
            applied: steps("applied"),
            pending: [...steps("failed"), ...steps("pending")],
          },
        }),
      ),
    )
    .catch(() => undefined);
}
