import type { AdapterCapabilities } from "./adapter.js";
import type { Step } from "./step.js";

/**
 * How a step runs:
 * - `atomic`: its writes, ledger entry and stamp commit in one transaction; a failure or a
 *   crash leaves nothing behind.
 * - `marked`: an in-progress marker is written first, so a failure or a crash leaves the
 *   step INTERRUPTED for the operator to check and resolve.
 * - `batched`: its pages commit one by one with a checkpoint in the marker; the next run
 *   resumes after the last one.
 */
export type StepMode = "atomic" | "marked" | "batched";

/** Does the step's own write run inside a transaction? (The database has them, the step did not opt out.) */
export function runsInTransaction(step: Step<unknown>, capabilities: AdapterCapabilities): boolean {
  return capabilities.supportsTransactionalSteps && step.transaction !== false;
}

/** The one answer to "how does this step run here?", read by the plan, the runner and the error hints. */
export function stepMode(step: Step<unknown>, capabilities: AdapterCapabilities): StepMode {
  if (step.batched === true) return "batched";
  // Where DDL commits implicitly (MySQL) the transaction cannot undo a step's schema
  // changes, so the step is marked like one that runs without a transaction.
  return runsInTransaction(step, capabilities) && capabilities.supportsTransactionalDdl ? "atomic" : "marked";
}
