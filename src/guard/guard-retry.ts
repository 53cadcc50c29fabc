/**
 * The background guard's retries. A refusal that waiting can resolve (older code still
 * live, another upgrader holding the lease, a database not reachable yet, steps a migrate
 * Job has not applied yet) is tried again with a growing delay, readiness answering 503 with
 * the current reason meanwhile; a refusal waiting cannot fix (AHEAD, INTERRUPTED, a damaged
 * store, an uninitialised database, a config error) fails at once.
 */
import { isLockstepError, type LockstepErrorCode, UsageError } from "../core/errors.js";

/** `retry` of `startDatabaseGuard`: how long, and how often, a refusal waiting can resolve is tried again. */
export interface GuardRetryOptions {
  /** Give up after this long: "10m", "90s", "1h", or milliseconds. Default "10m". */
  readonly until?: string | number;
  /** The first delay between two attempts (ms), doubled each time. Default 1000. */
  readonly delayMs?: number;
  /** The longest delay between two attempts (ms). Default 30000. */
  readonly maxDelayMs?: number;
}

/** The retry settings in milliseconds. */
export interface RetryPlan {
  readonly untilMs: number;
  readonly delayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPlan = { untilMs: 600_000, delayMs: 1_000, maxDelayMs: 30_000 };

/** Codes a later attempt may not meet: someone else's work or departure clears them. */
const RETRYABLE: ReadonlySet<LockstepErrorCode> = new Set<LockstepErrorCode>([
  "E_OLDER_CODE_RUNNING",
  "E_LOCK_HELD",
  "E_LEASE_LOST",
  "E_DATABASE_UNREACHABLE",
  "E_DATABASE_NOT_FOUND",
  "E_UPGRADE_PENDING",
]);

/** May waiting and trying again get past `error`? */
export function retryable(error: unknown): boolean {
  return isLockstepError(error) && RETRYABLE.has(error.code);
}

/** The plan for `retry` (default when undefined; null for `false`: fail at once). */
export function parseRetry(value: unknown, where: string): RetryPlan | null {
  if (value === false) return null;
  if (value === undefined || value === true) return DEFAULT_RETRY;
  const hint = 'retry: { until: "10m", delayMs: 1000, maxDelayMs: 30000 }, or retry: false to fail at once';
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new UsageError("E_INVALID_OPTION", `${where}: option \`retry\` must be an object or false`, {
      hint,
    });
  }
  const { until, delayMs, maxDelayMs, ...unknown } = value as GuardRetryOptions & Record<string, unknown>;
  const extra = Object.keys(unknown)[0];
  if (extra !== undefined) {
    throw new UsageError("E_INVALID_OPTION", `${where}: unknown option \`retry.${extra}\``, { hint });
  }
  const positive = (name: string, n: unknown, fallback: number): number => {
    if (n === undefined) return fallback;
    if (typeof n === "number" && Number.isFinite(n) && n > 0) return n;
    throw new UsageError("E_INVALID_OPTION", `${where}: \`retry.${name}\` must be a positive number of ms`, {
      hint,
    });
  };
  const untilMs =
    typeof until === "string"
      ? durationMs(until, `${where}: retry.until`, hint)
      : positive("until", until, 0);
  return {
    untilMs: until === undefined ? DEFAULT_RETRY.untilMs : untilMs,
    delayMs: positive("delayMs", delayMs, DEFAULT_RETRY.delayMs),
    maxDelayMs: positive("maxDelayMs", maxDelayMs, DEFAULT_RETRY.maxDelayMs),
  };
}

/** "10m", "90s", "500ms", "1h" (a plain number is seconds), in ms. */
function durationMs(value: string, what: string, hint: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/i.exec(value);
  if (!match)
    throw new UsageError("E_INVALID_OPTION", `${what} ${JSON.stringify(value)} is not a duration`, { hint });
  const unit = (match[2] ?? "s").toLowerCase();
  const factor = unit === "ms" ? 1 : unit === "s" ? 1_000 : unit === "m" ? 60_000 : 3_600_000;
  return Math.round(Number(match[1]) * factor);
}

/** The delay before attempt `attempt + 1` (attempt counts from 1). */
export function retryDelay(plan: RetryPlan, attempt: number): number {
  return Math.min(plan.maxDelayMs, plan.delayMs * 2 ** Math.min(attempt - 1, 20));
}

/** A sleep `cancel()` ends early. */
export function cancellableSleep(ms: number): { done: Promise<void>; cancel(): void } {
  let cancel: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    cancel = () => {
      clearTimeout(timer);
      resolve();
    };
  });
  return { done, cancel };
}
