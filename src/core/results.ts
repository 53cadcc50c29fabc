import type { StepCounts } from "./step.js";

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
