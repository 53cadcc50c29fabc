/**
 * The non-blocking guard: the app listens at once while the check (and, with policy
 * "upgrade", a long upgrade or a wait for another replica's) runs in the background. Its
 * readiness answers 503 until the guard is done, so a startup or liveness probe shorter
 * than a long step never kills the upgrader into a restart loop.
 */
import { type GuardResult, runGuard } from "./check-database.js";
import { type CheckDatabaseOptions, resolveGuardOptions } from "./guard-options.js";

/** Where a background guard is. */
export type GuardState = "starting" | "ready" | "failed";

/** A guard running in the background (see {@link startDatabaseGuard}). */
export interface DatabaseGuard {
  /** Resolves with the guard's result once the database may be used; rejects as `checkDatabase` throws. */
  readonly ready: Promise<GuardResult>;
  /** "starting" while the check runs, then "ready" or "failed". */
  state(): GuardState;
  /** The result, once ready. */
  readonly result: GuardResult | undefined;
  /** The error, once failed. */
  readonly error: unknown;
  /** Removes this instance from the registry (after the check, if it still runs). Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts the guard and returns at once. `ready` never rejects unhandled: a failure is kept
 * in `error`, logged to `logger.error`, and `state()` says "failed".
 */
export function startDatabaseGuard<TDb>(options: CheckDatabaseOptions<TDb>): DatabaseGuard {
  let state: GuardState = "starting";
  let result: GuardResult | undefined;
  let error: unknown;
  const ready = (async () => {
    const { upgrader, behaviour } = await resolveGuardOptions(options);
    return runGuard(upgrader, behaviour);
  })().then(
    (r) => {
      state = "ready";
      result = r;
      return r;
    },
    (e: unknown) => {
      state = "failed";
      error = e;
      try {
        options.logger?.error(`lockstep: the start-up guard failed: ${(e as Error)?.message ?? String(e)}`);
      } catch {
        // A logger's failure changes nothing.
      }
      throw e;
    },
  );
  ready.catch(() => undefined);
  return {
    ready,
    state: () => state,
    get result() {
      return result;
    },
    get error() {
      return error;
    },
    async close() {
      const r = await ready.catch(() => undefined);
      await r?.close();
    },
  };
}

/** Is `value` a {@link DatabaseGuard}? */
export function isDatabaseGuard(value: unknown): value is DatabaseGuard {
  const v = value as Partial<DatabaseGuard> | null;
  return v !== null && typeof v === "object" && v.ready instanceof Promise && typeof v.state === "function";
}
