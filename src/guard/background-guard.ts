/**
 * The non-blocking guard: the app listens at once while the check (and, with policy
 * "upgrade", a long upgrade or a wait for another replica's) runs in the background. Its
 * readiness answers 503 until the guard is done, so a startup or liveness probe shorter
 * than a long step never kills the upgrader into a restart loop. A refusal that waiting can
 * resolve (older code still live, the lease held, the database not reachable yet) is retried
 * with a growing delay; any other failure is final at once.
 */
import { isLockstepError, LockstepError, summaryOf } from "../core/errors.js";
import { normaliseVersion } from "../core/versions.js";
import { type GuardResult, runGuard } from "./check-database.js";
import { GuardReporter } from "./guard-events.js";
import { type CheckDatabaseOptions, resolveGuardOptions, validateGuardOptions } from "./guard-options.js";
import {
  cancellableSleep,
  type GuardRetryOptions,
  parseRetry,
  type RetryPlan,
  retryable,
  retryDelay,
} from "./guard-retry.js";

/** Where a background guard is: checking, waiting to try again, done, or failed for good. */
export type GuardState = "starting" | "retrying" | "ready" | "failed";

/** Options of {@link startDatabaseGuard}: those of `checkDatabase`, and `retry`. */
export interface DatabaseGuardOptions<TDb = unknown> extends CheckDatabaseOptions<TDb> {
  /**
   * How long to keep trying after a refusal waiting can resolve (E_OLDER_CODE_RUNNING,
   * E_LOCK_HELD, E_UPGRADE_PENDING, an unreachable database). Default `{ until: "10m" }`,
   * a first delay of 1 s doubled up to 30 s; `false` fails at once.
   */
  readonly retry?: GuardRetryOptions | false;
}

/** Why a retrying guard waits. */
export interface GuardRetrying {
  /** Attempts made so far. */
  readonly attempt: number;
  /** The refusal of the last attempt. */
  readonly error: LockstepError;
  /** When the next attempt starts (ISO time). */
  readonly nextAttemptAt: string;
}

/** A guard running in the background (see {@link startDatabaseGuard}). */
export interface DatabaseGuard {
  /** Resolves with the guard's result once the database may be used; rejects as `checkDatabase` throws. */
  readonly ready: Promise<GuardResult>;
  /** "starting" while the check runs, "retrying" between attempts, then "ready" or "failed". */
  state(): GuardState;
  /** The result, once ready. */
  readonly result: GuardResult | undefined;
  /** The error, once failed. */
  readonly error: unknown;
  /** Why it waits, while "retrying". */
  readonly retrying: GuardRetrying | undefined;
  /** This code's version, once the options are read (the config may give it). */
  readonly codeVersion: string | undefined;
  /** Stops retrying, and removes this instance from the registry (after the check, if it still runs). Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts the guard and returns at once; a bad option throws here (E_INVALID_OPTION).
 * `ready` never rejects unhandled: a failure is kept in `error`, logged to `logger.error`
 * (stderr without a logger), and `state()` says "failed".
 */
export function startDatabaseGuard<TDb>(options: DatabaseGuardOptions<TDb>): DatabaseGuard {
  validateGuardOptions(options, "startDatabaseGuard");
  const plan = parseRetry(options.retry, "startDatabaseGuard(options)");
  const reporter = new GuardReporter(options);
  const run: GuardRun = { state: "starting", closed: false, wake: () => undefined };
  let result: GuardResult | undefined;
  let error: unknown;
  const ready = attempts(options, plan, reporter, run).then(
    (r) => {
      run.state = "ready";
      run.retrying = undefined;
      result = r;
      return r;
    },
    (e: unknown) => {
      run.state = "failed";
      run.retrying = undefined;
      error = e;
      if (!run.closed) reporter.error(`lockstep: the start-up guard failed: ${messageOf(e)}`);
      throw e;
    },
  );
  ready.catch(() => undefined);
  return {
    ready,
    state: () => run.state,
    get result() {
      return result;
    },
    get error() {
      return error;
    },
    get retrying() {
      return run.retrying;
    },
    get codeVersion() {
      return run.codeVersion;
    },
    async close() {
      run.closed = true;
      run.wake();
      const r = await ready.catch(() => undefined);
      await r?.close();
    },
  };
}

/** What a background guard's attempts share with its handle. */
interface GuardRun {
  state: GuardState;
  retrying?: GuardRetrying | undefined;
  codeVersion?: string | undefined;
  closed: boolean;
  /** Ends the wait before the next attempt (close). */
  wake: () => void;
}

/** Runs the guard until it passes, fails for good, runs out of retries or is closed. */
async function attempts<TDb>(
  options: DatabaseGuardOptions<TDb>,
  plan: RetryPlan | null,
  reporter: GuardReporter,
  run: GuardRun,
): Promise<GuardResult> {
  const { upgrader, behaviour } = await resolveGuardOptions(options, "startDatabaseGuard");
  run.codeVersion = versionOf(upgrader.appVersion);
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await runGuard(upgrader, behaviour);
    } catch (e) {
      const delay = plan === null ? 0 : retryDelay(plan, attempt);
      if (run.closed || plan === null || !retryable(e) || Date.now() - started + delay > plan.untilMs)
        throw e;
      run.retrying = {
        attempt,
        error: e as LockstepError,
        nextAttemptAt: new Date(Date.now() + delay).toISOString(),
      };
      run.state = "retrying";
      announceRetry(reporter, options, run.retrying, delay, plan);
      const sleep = cancellableSleep(delay);
      run.wake = sleep.cancel;
      await sleep.done;
      if (run.closed) throw closedError(e as LockstepError);
      run.state = "starting";
    }
  }
}

/** Says why the guard waits: logger.warn and the warning listeners; without a logger, stderr once. */
function announceRetry(
  reporter: GuardReporter,
  options: DatabaseGuardOptions<any>,
  retrying: GuardRetrying,
  delay: number,
  plan: RetryPlan,
): void {
  const { error, attempt } = retrying;
  const message = `the start-up guard was refused (${error.code}: ${summaryOf(error)}); trying again in ${Math.round(delay / 1000)} s (attempt ${attempt + 1}, for up to ${Math.round(plan.untilMs / 60_000)} min); readiness answers 503 meanwhile`;
  reporter.warning(message);
  if (options.logger === undefined && attempt === 1) console.error(`lockstep: ${message}`);
}

function closedError(cause: LockstepError): LockstepError {
  return new LockstepError("E_ABORTED", "the start-up guard was closed while it waited to try again", {
    cause,
  });
}

function messageOf(e: unknown): string {
  if (isLockstepError(e)) return `${e.code}: ${e.message}`;
  return (e as Error)?.message ?? String(e);
}

function versionOf(appVersion: string): string | undefined {
  try {
    return normaliseVersion(appVersion, "the application version (appVersion)");
  } catch {
    return undefined;
  }
}

/** Is `value` a {@link DatabaseGuard}? */
export function isDatabaseGuard(value: unknown): value is DatabaseGuard {
  const v = value as Partial<DatabaseGuard> | null;
  return v !== null && typeof v === "object" && v.ready instanceof Promise && typeof v.state === "function";
}
