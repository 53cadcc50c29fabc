import type { EngineContext } from "./engine-context.js";
import { LeaseError, StoreWriteError } from "./errors.js";
import type { Step } from "./step.js";
import type { StepMode } from "./step-mode.js";

/** Where a store write failed: before the step's body, or after it (recording it). */
export type StoreWriteStage = "before" | "after";

/** A failure of lockstep's own store, told apart from a failure of the step. */
export class StoreWriteFailure extends Error {
  constructor(
    readonly stage: StoreWriteStage,
    override readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

/** Runs a store write of `stage`; its failure (other than a lost lease) becomes a {@link StoreWriteFailure}. */
export async function storeWrite<T>(stage: StoreWriteStage, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (error instanceof LeaseError || error instanceof StoreWriteFailure) throw error;
    throw new StoreWriteFailure(stage, error);
  }
}

/** The error an upgrade throws when lockstep's store failed around `step`. */
export function storeWriteError(
  engine: EngineContext<unknown>,
  step: Step<unknown>,
  mode: StepMode,
  stamp: string | null,
  results: readonly unknown[],
  failure: StoreWriteFailure,
): StoreWriteError {
  const ran = failure.stage === "after";
  const what = ran
    ? "the step ran, but recording it (ledger entry, stamp, marker) failed"
    : "the step never ran: writing its history entry or in-progress marker failed";
  const next = !ran
    ? "check lockstep's tables and the database (permissions, disk space), then run `lockstep upgrade` again"
    : mode === "atomic"
      ? "its transaction rolled back with the failed record, so nothing of it stayed; check lockstep's tables and the database, then run `lockstep upgrade` again"
      : `its writes may have stayed without a record: check the data, then \`lockstep resolve ${step.id} --applied\` if its work is complete or \`--rolled-back\` if it is not`;
  return new StoreWriteError(
    `lockstep's store on ${engine.adapter.displayName} failed around step ${step.id} (${what}): ${failure.message}`,
    step.id,
    ran,
    results,
    { cause: failure.cause, hint: `the database is at ${stamp ?? "no version"}; ${next}` },
  );
}
