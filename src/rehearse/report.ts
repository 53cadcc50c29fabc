/**
 * The rehearsal report: one object (`--json`); the CLI renders it for a terminal and as
 * Markdown (src/cli/commands/rehearse-report.ts).
 */
import { isLockstepError, summaryOf } from "../core/errors.js";
import type { StatusReport } from "../core/planner.js";
import type { PlanReport, PreconditionReport, UpgradeResult } from "../core/reports.js";
import type { StepResult } from "../core/results.js";
import type { Rehearsal } from "./rehearse.js";

/** What the upgrade on the scratch gave: its plan, its result or error, the status it left. */
export interface UpgradeRun {
  readonly plan: PlanReport | null;
  readonly result: UpgradeResult | null;
  readonly error: unknown;
  readonly status: StatusReport | null;
  readonly durationMs: number;
  /** The budget ran out and the upgrade was stopped. */
  readonly overBudget: boolean;
}

/** How a rehearsal ended. */
export type RehearsalOutcome = "passed" | "failed" | "over-budget" | "stopped";

/** A coded error, as the report shows it. */
export interface ReportedError {
  readonly code: string;
  readonly message: string;
  readonly hint: string | null;
}

/** The report `--json` prints. */
export interface RehearsalReport {
  readonly outcome: RehearsalOutcome;
  readonly database: { readonly kind: string; readonly source: string; readonly scratch: string };
  readonly copy: { readonly method: string; readonly durationMs: number };
  readonly upgrade: {
    readonly from: string | null;
    readonly to: string | null;
    readonly durationMs: number;
    readonly budgetMs: number | null;
    readonly preconditions: readonly PreconditionReport[];
    readonly steps: readonly StepResult[];
    /** Contract steps the upgrade left for later, as it would in production (older code is live). */
    readonly deferred: readonly string[];
    readonly error: ReportedError | null;
  };
  /** The scratch's status after the upgrade (what production would be left in). */
  readonly finalStatus: { readonly status: string; readonly stamp: string | null } | null;
  readonly drop: { readonly durationMs: number; readonly dropped: boolean; readonly error: string | null };
}

/**
 * The upgrade's hint as it reads after a rehearsal: the way on is another rehearsal (the copy
 * is gone), never the real upgrade the hint names when it comes from `lockstep upgrade`.
 */
function rehearsalHint(code: string, hint: string | undefined): string | null {
  if (code === "E_INTERRUPTED_BY_SIGNAL")
    return "the scratch copy was dropped; run `lockstep rehearse` again";
  return hint?.replaceAll("`lockstep upgrade`", "`lockstep rehearse`") ?? null;
}

/** The error as the report shows it. */
export function reportedError(error: unknown): ReportedError | null {
  if (error === null || error === undefined) return null;
  if (isLockstepError(error))
    return { code: error.code, message: summaryOf(error), hint: rehearsalHint(error.code, error.hint) };
  return { code: "E_UNEXPECTED", message: (error as Error)?.message ?? String(error), hint: null };
}

/** The steps to show: the result's, else the error's (applied, failed, pending), else the plan's as pending. */
function stepsOf(run: UpgradeRun): readonly StepResult[] {
  if (run.result !== null) return run.result.results;
  const fromError = (run.error as { results?: unknown } | null)?.results;
  if (Array.isArray(fromError) && fromError.length > 0) return fromError as StepResult[];
  return (run.plan?.steps ?? []).map((s) => ({
    step: s.id,
    version: s.version,
    name: s.name,
    status: "pending" as const,
    durationMs: null,
    counts: null,
  }));
}

/** Builds the report of a finished rehearsal. */
export function rehearsalReport(
  rehearsal: Rehearsal<UpgradeRun>,
  source: string,
  budgetMs: number | null,
  stopped: boolean,
): RehearsalReport {
  const run: UpgradeRun = rehearsal.outcome.ok
    ? rehearsal.outcome.value
    : {
        plan: null,
        result: null,
        error: rehearsal.outcome.error,
        status: null,
        durationMs: 0,
        overBudget: false,
      };
  const outcome: RehearsalOutcome = run.overBudget
    ? "over-budget"
    : stopped
      ? "stopped"
      : run.error === null || run.error === undefined
        ? "passed"
        : "failed";
  return {
    outcome,
    database: { kind: rehearsal.kind, source, scratch: rehearsal.scratch },
    copy: { method: rehearsal.method, durationMs: rehearsal.copyMs },
    upgrade: {
      from: run.result?.from ?? run.plan?.stamp ?? null,
      to: run.result?.to ?? run.plan?.target ?? null,
      durationMs: run.durationMs,
      budgetMs,
      preconditions: run.result?.preconditions ?? run.plan?.preconditions ?? [],
      steps: stepsOf(run),
      deferred: (run.result?.deferred ?? []).map((d) => d.step),
      error: reportedError(run.error),
    },
    finalStatus: run.status === null ? null : { status: run.status.status, stamp: run.status.stamp },
    drop: {
      durationMs: rehearsal.dropMs,
      dropped: rehearsal.dropError === null,
      error: rehearsal.dropError === null ? null : String((rehearsal.dropError as Error)?.message ?? ""),
    },
  };
}
