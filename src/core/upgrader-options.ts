/** How an {@link Upgrader} is set up and how one upgrade runs. */

import type { Actor } from "../runtime/actor.js";
import type { Adapter } from "./adapter.js";
import type { OptionsSpec } from "./check-options.js";
import type { PlanOptions } from "./planner.js";
import type { StepSource } from "./registry.js";

/** Lease timing. */
export interface LeaseOptions {
  /** How long a lease lives without renewal (ms). The holder renews it at a third of this. */
  readonly ttlMs?: number;
  /** How long `upgrade` waits for another upgrader to finish (ms). */
  readonly waitMs?: number;
  /** How often a waiter retries (ms). */
  readonly pollMs?: number;
}

/** Default lease timing: 30 s lease, wait up to 10 min, retry every 250 ms. */
export const DEFAULT_LEASE_OPTIONS: Required<LeaseOptions> = { ttlMs: 30_000, waitMs: 600_000, pollMs: 250 };

/** Options of {@link Upgrader}. */
export interface UpgraderOptions<TDb = unknown> {
  readonly adapter: Adapter<TDb>;
  /** The running application's release (the code version). */
  readonly appVersion: string;
  readonly steps: readonly StepSource<TDb>[];
  readonly lease?: LeaseOptions;
  /** Who is acting; defaults to this process. */
  readonly actor?: Actor;
  /**
   * The steps build the app's schema from nothing (a first step creates its tables). Then a
   * new database (unstamped, no table or collection besides lockstep's) gets every step from
   * `upgrade` and the start-up check's policy `upgrade`, instead of UNINITIALISED. Default false.
   */
  readonly stepsBuildSchema?: boolean;
}

/** The shape of {@link UpgraderOptions}, checked by the constructor. */
export const UPGRADER_OPTIONS: OptionsSpec = {
  adapter: "object",
  appVersion: "string",
  steps: "array",
  "lease?": "object",
  "actor?": "object",
  "stepsBuildSchema?": "boolean",
};

/** Options of {@link Upgrader.upgrade}. */
export interface UpgradeOptions extends PlanOptions {
  /** Plan, check preconditions, call each step in dry-run mode, write nothing. */
  readonly dryRun?: boolean;
  /**
   * Skip the preconditions marked skippable (each skipped one that fails is still reported,
   * as a warning); with `contract`, also apply contract steps while older code runs. To
   * override only the older code, use `ignoreLiveInstances`.
   */
  readonly force?: boolean;
  /**
   * Apply contract steps even while a release older than them is live (`--ignore-live`):
   * that code may fail on the contracted data. Recorded in history with the live releases.
   * Overrides nothing else: preconditions still hold, a step without a phase still needs
   * `allowDowntime`.
   */
  readonly ignoreLiveInstances?: boolean;
  /**
   * Apply the contract steps deferred earlier (and pending ones) now: refused with
   * `E_OLDER_CODE_RUNNING` while a release older than one of them is live, unless
   * `ignoreLiveInstances` (or `force`, which also skips skippable preconditions; recorded in history).
   */
  readonly contract?: boolean;
  /**
   * Apply steps without a phase (and contract steps) even while older releases are live: that
   * code may fail on the new data. Recorded in history. Without it such a step is refused
   * with `E_OLDER_CODE_RUNNING` before anything is written.
   */
  readonly allowDowntime?: boolean;
  /** Wait for a held lease (default) or fail at once with `E_LOCK_HELD`. */
  readonly wait?: boolean;
  /**
   * Stops the upgrade at the next safe point once aborted (the CLI aborts it on SIGINT and
   * SIGTERM, with the signal's name as the reason): no further step starts, a batched step
   * stops between pages, and a running step is abandoned: its transaction rolls back, or,
   * where it has none, it stays INTERRUPTED. Rejects with `E_INTERRUPTED_BY_SIGNAL`.
   */
  readonly signal?: AbortSignal;
}
