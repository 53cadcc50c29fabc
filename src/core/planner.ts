import type { DatabaseState, InProgressMarker, LeaseInfo, LedgerEntry } from "./adapter.js";
import { aheadVerdict, deferredSteps, floorOf, floorSetBy, isCompatible } from "./compatibility.js";
import { type LockstepError, RefusedError } from "./errors.js";
import type { ReleaseGroup } from "./instances.js";
import { type LeaseMode, leaseGoneHint } from "./lease-hints.js";
import { stepId } from "./registry.js";
import type { Step } from "./step.js";
import { storeDamageHint } from "./store-damage.js";
import { BASELINE_VERSION, compareVersions, isDevVersion, parseVersion, stepTarget } from "./versions.js";

/** The answer to "can this code run on this database?". */
export type DatabaseStatus =
  | "DEV"
  | "CURRENT"
  | "AUTO_STAMPED"
  | "UPGRADE_PENDING"
  | "UNINITIALISED"
  | "AHEAD"
  | "AHEAD_COMPATIBLE"
  | "INTERRUPTED"
  | "UPGRADING"
  | "STORE_DAMAGED";

/** A step applied earlier whose code has changed since. */
export interface ChecksumMismatch {
  readonly step: string;
  readonly recorded: string;
  readonly current: string;
}

/** Everything `status()` reports. */
export interface StatusReport {
  readonly status: DatabaseStatus;
  readonly codeVersion: string;
  readonly stamp: string | null;
  /** The compatibility floor: the oldest release whose code can run on this data (the stamp when none is recorded). */
  readonly floor: string | null;
  /** What set the floor: the step id(s) at its version, or how it was recorded (see compatibility.ts). */
  readonly floorSetBy: readonly string[];
  /** Floor <= code <= stamp: this code can serve on this data (also while another upgrader holds the lease). */
  readonly compatible: boolean;
  /** Contract steps at or below the stamp not yet applied: waiting for older code to leave (`upgrade --contract`). */
  readonly deferred: readonly string[];
  /** Live instances grouped by release, when asked for (`status({ instances: true })`, the CLI). */
  readonly instances?: readonly ReleaseGroup[];
  /** Steps the next `upgrade` would apply, in order. */
  readonly pending: readonly string[];
  /** Steps at or below the stamp missing from the ledger (contract steps excepted: those are deferred): applied only with `--out-of-order`. */
  readonly outOfOrder: readonly string[];
  readonly checksumMismatches: readonly ChecksumMismatch[];
  readonly interrupted: readonly InProgressMarker[];
  readonly lease: LeaseInfo | null;
  /** No step applies and the stamp can move without running anything. */
  readonly autoStampable: boolean;
  /** One sentence for humans. */
  readonly message: string;
  /** The command to run next, when there is one. */
  readonly next: string | null;
}

/** Options that shape a plan, as given to `plan()` and `upgrade()`. */
export interface PlanOptions {
  /** Stop at this version instead of the code version. */
  readonly targetVersion?: string;
  /** The version of an unstamped database that predates lockstep. */
  readonly fromVersion?: string;
  /** Also apply steps at or below the stamp that are missing from the ledger. */
  readonly outOfOrder?: boolean;
}

/** {@link PlanOptions} with what the upgrader knows of the app itself. */
export interface PlannerOptions extends PlanOptions {
  /** The app's steps build its schema from nothing: a new, empty database gets every step. */
  readonly stepsBuildSchema?: boolean;
}

/**
 * The one case where an unstamped database is known to be new: it holds no table, view or
 * collection besides lockstep's own, and the app says its steps build the schema from nothing.
 * Anything else stays a guess lockstep never makes.
 */
export function startsFromNothing(state: DatabaseState, stepsBuildSchema: boolean | undefined): boolean {
  return stepsBuildSchema === true && state.stamp === null && state.userObjects === 0;
}

/** What an upgrade will do. */
export interface Plan<TDb = unknown> {
  /** The version the database is treated as being at. */
  readonly from: string;
  /** The stamp written at the end. */
  readonly target: string;
  /** Steps to run, in order. */
  readonly steps: readonly Step<TDb>[];
  /** Steps recorded as baselined without running (below `--from-version`, or below a seed stamp). */
  readonly baseline: readonly Step<TDb>[];
  /** Contract steps at or below the stamp not yet applied (also in `steps`: the upgrade decides, by the live instances). */
  readonly deferred: readonly Step<TDb>[];
  /** Out-of-order steps that were left out (no `--out-of-order`). */
  readonly skippedOutOfOrder: readonly Step<TDb>[];
  readonly checksumMismatches: readonly ChecksumMismatch[];
  /** The database has no stamp: the plan starts from `--from-version` or stamps only. */
  readonly unstamped: boolean;
  /** Why `--from-version` was set aside, when it was (see {@link planUpgrade}). */
  readonly note: string | null;
}

const byId = (ledger: readonly LedgerEntry[]) =>
  new Map(ledger.map((entry) => [stepId(entry.version, entry.name), entry]));

/**
 * Steps at or below the stamp that the ledger does not know (merged late, e.g. a hotfix).
 * Contract steps are not among them: those are deferred (see {@link deferredSteps}).
 */
function outOfOrderSteps<TDb>(state: DatabaseState, steps: readonly Step<TDb>[]): Step<TDb>[] {
  if (state.stamp === null || !state.hasLedger) return [];
  const ledger = byId(state.ledger);
  return steps.filter(
    (step) =>
      step.phase !== "contract" && compareVersions(step.version, state.stamp!) <= 0 && !ledger.has(step.id),
  );
}

/** In execution order: version, then registration order. */
function inOrder<TDb>(steps: readonly Step<TDb>[]): Step<TDb>[] {
  return [...steps].sort((a, b) => compareVersions(a.version, b.version) || a.order - b.order);
}

/** Applied steps whose code changed after they ran. */
export function checksumMismatches(state: DatabaseState, steps: readonly Step[]): ChecksumMismatch[] {
  const ledger = byId(state.ledger);
  const out: ChecksumMismatch[] = [];
  for (const step of steps) {
    const entry = ledger.get(step.id);
    if (entry?.kind === "applied" && entry.checksum !== null && entry.checksum !== step.checksum) {
      out.push({ step: step.id, recorded: entry.checksum, current: step.checksum });
    }
  }
  return out;
}

/** Steps in (from, to] (with the release-candidate policy on `to`) that the ledger does not know. */
function stepsInRange<TDb>(
  state: DatabaseState,
  steps: readonly Step<TDb>[],
  from: string,
  to: string,
): Step<TDb>[] {
  const ledger = byId(state.ledger);
  const limit = stepTarget(parseVersion(to, "the target version")).version;
  return steps.filter(
    (step) =>
      compareVersions(step.version, from) > 0 &&
      compareVersions(step.version, limit) <= 0 &&
      !ledger.has(step.id),
  );
}

/**
 * The target of an upgrade: the explicit one, else the code version. A development build
 * with no explicit target aims at the last registered step, as in the seed.
 */
export function resolveTarget(codeVersion: string, steps: readonly Step[], targetVersion?: string): string {
  if (targetVersion !== undefined) return targetVersion;
  if (!isDevVersion(parseVersion(codeVersion, "the code version"))) return codeVersion;
  return steps.at(-1)?.version ?? BASELINE_VERSION;
}

/**
 * Works out what an upgrade would do. Pure: reads `state`, throws a {@link RefusedError}
 * where the seed's never-guess rule or the database's state forbids going on.
 */
export function planUpgrade<TDb>(
  state: DatabaseState,
  steps: readonly Step<TDb>[],
  codeVersion: string,
  options: PlannerOptions = {},
): Plan<TDb> {
  const target = resolveTarget(codeVersion, steps, options.targetVersion);
  let from: string;
  let baseline: Step<TDb>[] = [];
  let note: string | null = null;
  if (options.fromVersion !== undefined && fromVersionSettled(state, steps, options.fromVersion)) {
    // A deploy script rerunning its first `--from-version X`: the stamp and the ledger agree
    // that the database got past X, so the flag has nothing left to say.
    note = `--from-version ${options.fromVersion} ignored: the database is already stamped ${state.stamp} and its ledger records every step up to ${options.fromVersion}`;
    from = state.stamp as string;
  } else if (options.fromVersion !== undefined) {
    if (state.stamp !== null && compareVersions(state.stamp, options.fromVersion) !== 0) {
      throw new RefusedError(
        "E_FROM_VERSION_CONFLICT",
        `--from-version ${options.fromVersion} contradicts the recorded version ${state.stamp}`,
        {
          hint: `--from-version is only for a database with no recorded version (or one stamped at or above it whose ledger records every step up to it); if the record is wrong, fix it with \`lockstep init --version <version> --force\``,
        },
      );
    }
    from = options.fromVersion;
  } else if (state.stamp === null) {
    const needed = stepsInRange(state, steps, BASELINE_VERSION, target);
    if (needed.length > 0 && !startsFromNothing(state, options.stepsBuildSchema)) {
      throw uninitialisedError(needed.length, target);
    }
    from = BASELINE_VERSION;
  } else {
    from = state.stamp;
  }
  if (state.stamp === null || !state.hasLedger) {
    const ledger = byId(state.ledger);
    baseline = steps.filter((step) => compareVersions(step.version, from) <= 0 && !ledger.has(step.id));
  }
  if (compareVersions(from, target) > 0) {
    throw new RefusedError("E_AHEAD", `the database is at ${from}, ahead of the target ${target}`, {
      hint: "run the release that last upgraded this database (or a newer one); lockstep never downgrades",
    });
  }
  const late = outOfOrderSteps(state, steps);
  const inRange = stepsInRange(state, steps, from, target);
  const deferred = deferredSteps(state, steps);
  return {
    from,
    target,
    steps: inOrder([...deferred, ...(options.outOfOrder ? late : []), ...inRange]),
    deferred,
    baseline,
    skippedOutOfOrder: options.outOfOrder ? [] : late,
    checksumMismatches: checksumMismatches(state, steps),
    unstamped: state.stamp === null,
    note,
  };
}

/**
 * Has an upgrade from `fromVersion` already happened here? True when the database is
 * stamped at or above it with lockstep's ledger and every step up to it is in that ledger.
 */
function fromVersionSettled(state: DatabaseState, steps: readonly Step[], fromVersion: string): boolean {
  if (state.stamp === null || !state.hasLedger || compareVersions(state.stamp, fromVersion) < 0) return false;
  const ledger = byId(state.ledger);
  return steps.every((step) => compareVersions(step.version, fromVersion) > 0 || ledger.has(step.id));
}

/** The three ways out of UNINITIALISED, for the refusal's hint and the status's `next`. */
export const UNINITIALISED_NEXT =
  "new deployment whose steps build the schema: set `stepsBuildSchema: true` in the config (or run `lockstep upgrade --from-version 0.0.0`)  ·  new deployment whose schema is made elsewhere: `lockstep init`  ·  existing database from before lockstep: `lockstep upgrade --from-version <the release it runs now>`";

/** The refusal for an unstamped database that steps would apply to. */
export function uninitialisedError(stepCount: number, target: string): LockstepError {
  return new RefusedError(
    "E_UNINITIALISED",
    `the database has no recorded version and ${stepCount} step(s) up to ${target} could apply; lockstep never guesses which`,
    { hint: UNINITIALISED_NEXT },
  );
}

/** What a status says, before the fields every report shares are added. */
interface Verdict {
  readonly status: DatabaseStatus;
  readonly message: string;
  readonly next: string | null;
  readonly pending?: readonly string[];
  readonly autoStampable?: boolean;
}

/** What else is known when a status is assessed. */
export interface AssessContext {
  readonly leaseHeldByOther: boolean;
  readonly leaseMode?: LeaseMode;
  readonly storeDamage?: string | null;
  /** See {@link PlannerOptions.stepsBuildSchema}. */
  readonly stepsBuildSchema?: boolean;
}

/**
 * The start-up status of `codeVersion` on a database in `state`. Pure: the start-up guard
 * turns an auto-stampable report into an actual stamp.
 */
export function assessStatus(
  state: DatabaseState,
  steps: readonly Step[],
  codeVersion: string,
  now: AssessContext,
): StatusReport {
  const code = parseVersion(codeVersion, "the code version");
  const verdict: Verdict =
    blockingVerdict(state, now) ??
    (isDevVersion(code)
      ? {
          status: "DEV",
          message: `code version ${codeVersion} is a development build: no check, no stamp`,
          next: null,
        }
      : state.stamp === null
        ? unstampedVerdict(state, steps, codeVersion, now.stepsBuildSchema)
        : stampedVerdict(state, steps, state.stamp, codeVersion));
  return {
    codeVersion,
    stamp: state.stamp,
    floor: floorOf(state),
    floorSetBy: floorSetBy(state, steps),
    compatible: !isDevVersion(code) && isCompatible(state, codeVersion),
    deferred: deferredSteps(state, steps).map((step) => step.id),
    outOfOrder: outOfOrderSteps(state, steps).map((step) => step.id),
    checksumMismatches: checksumMismatches(state, steps),
    interrupted: state.interrupted,
    lease: state.lease,
    status: verdict.status,
    message: verdict.message,
    next: verdict.next,
    pending: verdict.pending ?? [],
    autoStampable: verdict.autoStampable ?? false,
  };
}

/** An upgrade running elsewhere, a damaged store or an interrupted step: these come first. */
function blockingVerdict(state: DatabaseState, now: AssessContext): Verdict | null {
  if (now.leaseHeldByOther && state.lease) {
    const l = state.lease;
    return {
      status: "UPGRADING",
      message: `an upgrade is running: lease held by ${l.owner} (pid ${l.pid} on ${l.host}) ${now.leaseMode === "session-lock" ? "on its connection" : `until ${l.expiresAt}`}`,
      next: `wait for it to finish; ${leaseGoneHint(now.leaseMode ?? "lease-row")}`,
    };
  }
  if (now.storeDamage) {
    return {
      status: "STORE_DAMAGED",
      message: `lockstep's store is damaged: ${now.storeDamage}`,
      next: storeDamageHint(state.stamp),
    };
  }
  const marker = state.interrupted[0];
  if (!marker) return null;
  const id = stepId(marker.version, marker.name);
  return {
    status: "INTERRUPTED",
    message: `step ${id} started at ${marker.startedAt} (pid ${marker.pid} on ${marker.host}) and never finished`,
    next: `check the data, then \`lockstep resolve ${id} --applied\` or \`--rolled-back\` (idempotent and batched steps are retried by \`lockstep upgrade\`)`,
  };
}

/** No stamp: UNINITIALISED when a step could apply (never guess), else safely stampable. */
function unstampedVerdict(
  state: DatabaseState,
  steps: readonly Step[],
  codeVersion: string,
  stepsBuildSchema: boolean | undefined,
): Verdict {
  const needed = stepsInRange(state, steps, BASELINE_VERSION, codeVersion);
  if (needed.length > 0 && startsFromNothing(state, stepsBuildSchema)) {
    return {
      status: "UPGRADE_PENDING",
      message: `the database is new (no table or collection besides lockstep's) and the steps build the schema: ${needed.length} step(s) pending from 0.0.0 to ${codeVersion}`,
      next: "`lockstep upgrade` (or the start-up check with policy upgrade) applies every step",
      pending: needed.map((step) => step.id),
    };
  }
  if (needed.length > 0) {
    return {
      status: "UNINITIALISED",
      message: `the database has no recorded version and ${needed.length} step(s) up to ${codeVersion} could apply`,
      next: UNINITIALISED_NEXT,
      pending: needed.map((step) => step.id),
    };
  }
  return {
    status: "UPGRADE_PENDING",
    message: `the database has no recorded version and no step applies up to ${codeVersion}: it can be stamped ${codeVersion} safely`,
    next: "`lockstep upgrade` (or the start-up check) stamps it",
    autoStampable: true,
  };
}

/**
 * A stamp: AHEAD (the code is below the floor), AHEAD_COMPATIBLE (at or above the floor,
 * below the stamp), UPGRADE_PENDING (steps to run, or only the stamp to move) or CURRENT.
 */
function stampedVerdict(
  state: DatabaseState,
  steps: readonly Step[],
  stamp: string,
  codeVersion: string,
): Verdict {
  const floor = floorOf(state) ?? stamp;
  // Before the stamp's comparison: an upgrader raises the floor before its step moves the stamp.
  if (compareVersions(floor, codeVersion) > 0) return aheadVerdict(state, steps, floor, codeVersion);
  if (compareVersions(stamp, codeVersion) > 0) {
    return {
      status: "AHEAD_COMPATIBLE",
      message: `the database is at ${stamp}, newer than this code (${codeVersion}), and its compatibility floor ${floor} lets this code run on it: it serves, and never moves the stamp or the ledger`,
      next: `roll out release ${stamp} or newer; contract steps wait until this release stops`,
    };
  }
  const pending = stepsInRange(state, steps, stamp, codeVersion).map((step) => step.id);
  if (pending.length > 0) {
    return {
      status: "UPGRADE_PENDING",
      message: `${pending.length} step(s) pending from ${stamp} to ${codeVersion}`,
      next: "`lockstep plan`, then `lockstep upgrade --backup` (or `lockstep rehearse` first)",
      pending,
    };
  }
  if (compareVersions(stamp, codeVersion) < 0) {
    return {
      status: "UPGRADE_PENDING",
      message: `no step applies from ${stamp} to ${codeVersion}: the stamp can move to ${codeVersion} safely`,
      next: "`lockstep upgrade` (or the start-up check) stamps it",
      autoStampable: true,
    };
  }
  const deferred = deferredSteps(state, steps).map((step) => step.id);
  if (deferred.length > 0) {
    return {
      status: "CURRENT",
      message: `the database is at ${stamp}, in step with the code; ${deferred.length} contract step(s) deferred earlier, waiting until no older release runs: ${deferred.join(", ")}`,
      next: "once no older release runs, `lockstep upgrade --contract`",
    };
  }
  return { status: "CURRENT", message: `the database is at ${stamp}, in step with the code`, next: null };
}
