import type { Step, StepCounts } from "./step.js";

/** What happened to one step, as returned by `upgrade()` and printed by the CLI. */
export interface StepResult {
  readonly step: string;
  readonly version: string;
  readonly name: string;
  readonly status: "applied" | "failed" | "skipped" | "pending" | "dry-run";
  readonly durationMs: number | null;
  readonly counts: StepCounts | null;
  /** The error's message, for failed steps. */
  readonly error?: string;
}

/** What a {@link StepResult} adds to the step's identity; all optional. */
export interface StepResultDetails {
  readonly durationMs?: number;
  readonly counts?: StepCounts | null;
  readonly error?: string;
}

/** The result of `step` with `status`: no duration or counts unless given. */
export function stepResult(
  step: Step<unknown>,
  status: StepResult["status"],
  details: StepResultDetails = {},
): StepResult {
  return {
    step: step.id,
    version: step.version,
    name: step.name,
    status,
    durationMs: details.durationMs ?? null,
    counts: details.counts ?? null,
    ...(details.error !== undefined && { error: details.error }),
  };
}
