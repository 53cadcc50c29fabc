/** One result per target: what a fleet run did on each database, and an error's status. */
import { redactUrl, redactUrlsIn, scrub, secretsOf } from "../adapters/url.js";
import {
  isLockstepError,
  isRefusal,
  StepFailedError,
  summaryOf,
  UpgradeInterruptedError,
} from "../core/errors.js";
import type { Target } from "./targets.js";

/** What happened on one target. */
export type TargetStatus = "upgraded" | "current" | "failed" | "refused" | "unreachable" | "skipped";

/** A fleet run's result for one target. */
export interface TargetResult {
  readonly name: string;
  /** The URL, redacted. */
  readonly database: string;
  readonly status: TargetStatus;
  /** The stamp before the run (null: unstamped or never read). */
  readonly from: string | null;
  /** The version the run took it to, or was taking it to (null: never planned). */
  readonly to: string | null;
  readonly stepsApplied: number;
  readonly durationMs: number;
  readonly error: { readonly code: string; readonly message: string } | null;
  /** In a resumed run: false for a target left as the earlier run recorded it. */
  readonly resumed?: boolean;
}

/** Codes that mean "could not connect to the database at all". */
const UNREACHABLE = new Set([
  "E_DATABASE_UNREACHABLE",
  "E_DATABASE_AUTH",
  "E_DATABASE_NOT_FOUND",
  "E_DATABASE_UNREADABLE",
]);

/** An error's status: `unreachable` (cannot connect), `refused` (the one-database CLI's exit 3), else `failed`. */
export function statusOfError(error: unknown): "failed" | "refused" | "unreachable" {
  if (isLockstepError(error) && UNREACHABLE.has(error.code)) return "unreachable";
  return isRefusal(error) ? "refused" : "failed";
}

/** An error as a result holds it: its code and one-line message, with the target's secrets removed. */
export function errorOf(error: unknown, url: string): { code: string; message: string } {
  const code = isLockstepError(error) ? error.code : "E_UNEXPECTED";
  const message = isLockstepError(error) ? summaryOf(error) : String((error as Error)?.message ?? error);
  return { code, message: scrub(redactUrlsIn(message), secretsOf(url)) };
}

/** A result for `target` (durations and error filled in by the caller). */
export function resultOf(
  target: Target,
  fields: Partial<Omit<TargetResult, "name" | "database">> & Pick<TargetResult, "status">,
): TargetResult {
  return {
    name: target.name,
    database: redactUrl(target.url),
    status: fields.status,
    from: fields.from ?? null,
    to: fields.to ?? null,
    stepsApplied: fields.stepsApplied ?? 0,
    durationMs: fields.durationMs ?? 0,
    error: fields.error ?? null,
    ...(fields.resumed !== undefined && { resumed: fields.resumed }),
  };
}

/** A result for a target that threw `error` after `startedAt`. */
export function failedResult(
  target: Target,
  error: unknown,
  startedAt: number,
  known: { from?: string | null; to?: string | null; stepsApplied?: number } = {},
): TargetResult {
  return resultOf(target, {
    status: statusOfError(error),
    stepsApplied: appliedBefore(error),
    ...known,
    durationMs: Date.now() - startedAt,
    error: errorOf(error, target.url),
  });
}

/** The steps a failed or stopped upgrade applied before it ended (they stay applied). */
function appliedBefore(error: unknown): number {
  if (!(error instanceof StepFailedError || error instanceof UpgradeInterruptedError)) return 0;
  return error.results.filter((r) => (r as { status?: string })?.status === "applied").length;
}

/** True when the target ended well (nothing to do, or done). */
export function succeeded(result: TargetResult): boolean {
  return result.status === "upgraded" || result.status === "current";
}
