/**
 * The start-up guard's behaviour options: policy, logger and listeners, the instance
 * registry's TTL, the bypass. The app-facing `checkDatabase` is in src/guard/.
 */
import type { CheckPolicy, CheckResult } from "./reports.js";
import type { StepResult } from "./results.js";

/** A logger the guard writes to: `console`, pino, winston… (`info`, `warn`, `error` taking a string). */
export interface GuardLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** What the guard tells listeners; each also gets a one-line `message`. */
export interface GuardListeners {
  /** Another process holds the lease (upgrading): this one waits. Called at most every 5 s. */
  waiting?(event: {
    readonly holder: { readonly owner: string; readonly host: string; readonly pid: number } | null;
    readonly waitedMs: number;
    readonly message: string;
  }): void;
  /** This process starts applying steps. */
  upgrading?(event: { readonly steps: number; readonly message: string }): void;
  /** This process applied a step. */
  stepApplied?(event: StepResult & { readonly message: string }): void;
  /** The guard finished: the app may serve. */
  done?(result: CheckResult & { readonly message: string }): void;
  /** Anything the app should know but that does not stop it. */
  warning?(event: { readonly message: string }): void;
}

/** The options every form of the guard takes beside the database and steps. */
export interface GuardBehaviour {
  /** "warn" (default): report and run; "refuse": throw unless current or compatible; "upgrade": upgrade under the lease. */
  readonly policy?: CheckPolicy;
  /** Called with each warning (default: none; the result carries them too). */
  readonly onWarning?: (message: string) => void;
  /** Where the guard says what it does (e.g. `console`, a pino logger). Default: silent. */
  readonly logger?: GuardLogger;
  /** Listeners for what the guard does. */
  readonly on?: GuardListeners;
  /** How long this instance counts as live without a keep-alive (ms). Default 2 minutes. */
  readonly instanceTtlMs?: number;
  /** Refresh the instance every `instanceTtlMs / 3` on an unref'd timer (default true). */
  readonly autoKeepAlive?: boolean;
  /**
   * Let the app start whatever the status (the operator's escape from a circular gate):
   * default `LOCKSTEP_BYPASS=1` in the environment. Logged loudly and recorded in history.
   */
  readonly bypass?: boolean;
}
