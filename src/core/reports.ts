/** The reports the upgrader returns: what an upgrade, a plan and the start-up check found and did. */

import type { DatabaseDescription, DatabaseState } from "./adapter.js";
import type { ReleaseGroup } from "./instances.js";
import type { Plan, StatusReport } from "./planner.js";
import type { StepResult } from "./results.js";

/** What `upgrade()` did. */
export interface UpgradeResult {
  /**
   * "upgraded": steps ran or the stamp moved; "baselined": only the baseline of `--from-version`
   * (steps recorded as applied without running, and the stamp) was written; "current": nothing
   * to do; "dry-run": nothing written.
   */
  readonly outcome: "upgraded" | "baselined" | "current" | "dry-run";
  readonly from: string | null;
  /** Steps recorded as baselined (applied before lockstep) without running. */
  readonly baseline: readonly string[];
  /** Why a `--from-version` was set aside (the database is already stamped and its ledger agrees). */
  readonly note?: string;
  readonly to: string;
  readonly results: readonly StepResult[];
  /** Contract steps left for later because older code runs (or behind one that is), with what holds them. */
  readonly deferred: readonly DeferredStep[];
  /** True when another upgrader held the lease first and we waited for it. */
  readonly waitedForLease: boolean;
  readonly preconditions: readonly PreconditionReport[];
  /** Counts measured on the database for each step's declared `affects` (dry run). */
  readonly measured: Readonly<Record<string, readonly MeasuredCount[]>>;
}

/** A contract step an upgrade left for later: `upgrade --contract` applies it once no older release runs. */
export interface DeferredStep {
  readonly step: string;
  readonly version: string;
  /** The live releases older than the step, with their hosts. */
  readonly heldBy: readonly ReleaseGroup[];
  /** The deferred step it waits behind, when it does. */
  readonly behind: string | null;
}

/** One precondition's outcome. */
export interface PreconditionReport {
  readonly step: string;
  readonly description: string;
  readonly status: "passed" | "failed" | "skipped";
  readonly skippable: boolean;
  /** Why it failed; on a skipped one (`force`), why it would have failed (absent: it holds). */
  readonly message?: string;
  readonly count?: number;
}

/** A count a dry run measured. */
export interface MeasuredCount {
  readonly query: string;
  readonly count: number;
}

/** What `plan()` returns: the plan as data. */
export interface PlanReport {
  readonly database: DatabaseDescription;
  readonly codeVersion: string;
  readonly stamp: string | null;
  readonly from: string;
  readonly target: string;
  readonly steps: readonly PlannedStep[];
  readonly baseline: readonly string[];
  readonly skippedOutOfOrder: readonly string[];
  readonly checksumMismatches: Plan["checksumMismatches"];
  readonly preconditions: readonly PreconditionReport[];
  readonly interrupted: DatabaseState["interrupted"];
  /** Live instances grouped by release, newest first. */
  readonly instances: readonly ReleaseGroup[];
  /** Why a `--from-version` was set aside (the database is already stamped and its ledger agrees). */
  readonly note: string | null;
}

/** A step as shown in a plan. */
export interface PlannedStep {
  readonly id: string;
  readonly version: string;
  readonly name: string;
  readonly description: string | null;
  /** Commits atomically with its ledger entry and stamp. */
  readonly atomic: boolean;
  readonly idempotent: boolean;
  /** Walks its data page by page, each page committed with a checkpoint: resumable. */
  readonly batched: boolean;
  /** "expand", "contract", or null (needed now and breaking). */
  readonly phase: "expand" | "contract" | null;
  /** What the upgrade would do with it, given the live instances: apply, defer (contract) or refuse. */
  readonly decision: "apply" | "defer" | "refuse";
  /** Live releases older than the step (what defers or refuses it). */
  readonly heldBy: readonly ReleaseGroup[];
  /** The deferred step it waits behind, when it does. */
  readonly behind: string | null;
}

/** Start-up policies of {@link Upgrader.check}. */
export type CheckPolicy = "warn" | "refuse" | "upgrade";

/**
 * What this caller's start-up check did: "upgraded" (it applied `steps`, or moved the stamp),
 * "waited" (work was pending, and another upgrader did it while this one waited for the lease),
 * "stamped" (it auto-stamped), "none" (nothing to do, or policy "warn").
 */
export type CheckAction = "none" | "stamped" | "upgraded" | "waited";

/** What the start-up check found and did. */
export interface CheckResult {
  /** The status once the check is done: after an upgrade, the state it left (CURRENT), never UPGRADING. */
  readonly status: StatusReport["status"];
  readonly report: StatusReport;
  readonly action: CheckAction;
  /** The steps this caller applied, in order (empty unless `action` is "upgraded"). */
  readonly steps: readonly string[];
  readonly warnings: readonly string[];
}
