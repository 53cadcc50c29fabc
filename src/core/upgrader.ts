import { type Actor, defaultActor } from "../runtime/actor.js";
import type { Adapter, DatabaseDescription, DatabaseState, HistoryEntry, LeaseInfo } from "./adapter.js";
import { checkOptions } from "./check-options.js";
import { assertCheckPolicy } from "./check-policy.js";
import type { EngineContext } from "./engine-context.js";
import { LeaseError, LockstepError, RefusedError } from "./errors.js";
import { TypedEmitter, type UpgraderEvents } from "./events.js";
import { validateHistoryLimit } from "./history-limit.js";
import { type InitResult, initDatabase } from "./init-database.js";
import { liveInstances, olderThan, summariseInstances } from "./instances.js";
import { type AcquiredLease, heldByOther, withLease } from "./lease-acquire.js";
import { holderSummary, unlockRefusedHint } from "./lease-hints.js";
import { planReport, rollingMode } from "./plan-report.js";
import { assessStatus, type PlannerOptions, type PlanOptions, type StatusReport } from "./planner.js";
import { historyEntry } from "./records.js";
import { StepRegistry, stepId } from "./registry.js";
import type { CheckPolicy, CheckResult, PlanReport, UpgradeResult } from "./reports.js";
import { runStartUpCheck } from "./start-up-check.js";
import type { Step } from "./step.js";
import { findStoreDamage, storeDamagedError } from "./store-damage.js";
import {
  DEFAULT_LEASE_OPTIONS,
  type LeaseOptions,
  UPGRADER_OPTIONS,
  type UpgradeOptions,
  type UpgraderOptions,
} from "./upgrader-options.js";
import { compareVersions, isDevVersion, normaliseVersion, parseVersion } from "./versions.js";

export { throwOnFailedPreconditions, withFailingPreconditions } from "./preconditions.js";
export type {
  CheckAction,
  CheckPolicy,
  CheckResult,
  DeferredStep,
  MeasuredCount,
  PlannedStep,
  PlanReport,
  PreconditionReport,
  UpgradeResult,
} from "./reports.js";
export { refusalFor } from "./start-up-check.js";
export {
  DEFAULT_LEASE_OPTIONS,
  type LeaseOptions,
  type UpgradeOptions,
  type UpgraderOptions,
} from "./upgrader-options.js";

/**
 * The upgrade engine: statuses, plans, upgrades, init, history, the start-up check.
 * Knows no driver: everything goes through the {@link Adapter}.
 */
export class Upgrader<TDb = unknown> extends TypedEmitter<UpgraderEvents> {
  readonly adapter: Adapter<TDb>;
  readonly codeVersion: string;
  readonly registry: StepRegistry<TDb>;
  readonly #lease: Required<LeaseOptions>;
  readonly #actor: Actor;
  readonly #stepsBuildSchema: boolean;
  readonly #engine: EngineContext<TDb>;
  #opened: Promise<DatabaseDescription> | undefined;

  constructor(options: UpgraderOptions<TDb>) {
    super();
    checkOptions(options, "new Upgrader(options)", UPGRADER_OPTIONS);
    this.adapter = options.adapter;
    this.codeVersion = normaliseVersion(options.appVersion, "the application version (appVersion)");
    this.registry = new StepRegistry(options.steps);
    this.#lease = { ...DEFAULT_LEASE_OPTIONS, ...options.lease };
    this.#actor = options.actor ?? defaultActor();
    this.#stepsBuildSchema = options.stepsBuildSchema ?? false;
    this.#engine = {
      adapter: this.adapter,
      actor: this.#actor,
      codeVersion: this.codeVersion,
      emit: (event, payload) => this.emit(event, payload),
    };
  }

  /** The registered steps, in execution order. */
  get steps(): readonly Step<TDb>[] {
    return this.registry.steps;
  }

  /** Opens the database (once) and learns what it supports. */
  /** The steps build the schema from nothing ({@link UpgraderOptions.stepsBuildSchema}). */
  get stepsBuildSchema(): boolean {
    return this.#stepsBuildSchema;
  }

  /**
   * Opens the database now (every method opens it on first use); `create` makes a new SQLite
   * file, for the first `upgrade` of a deployment whose steps build the schema.
   */
  open(options: { create?: boolean } = {}): Promise<DatabaseDescription> {
    return this.#open(options.create ?? false);
  }

  async #open(create: boolean): Promise<DatabaseDescription> {
    this.#opened ??= this.adapter.open({ create }).then(() => this.adapter.describe());
    try {
      return await this.#opened;
    } catch (error) {
      this.#opened = undefined;
      throw error;
    }
  }

  /** Closes the database connection. */
  async close(): Promise<void> {
    if (this.#opened === undefined) return;
    this.#opened = undefined;
    await this.adapter.close();
  }

  /** Describes the database and its guarantees. */
  describe(): Promise<DatabaseDescription> {
    return this.#open(false);
  }

  /**
   * Can this code run on this database? A pure read. With `instances`, also reads the
   * instance registry: the live instances grouped by release (the CLI's `status`).
   */
  async status(options: { instances?: boolean } = {}): Promise<StatusReport> {
    await this.#open(false);
    const state = await this.adapter.readState();
    const report = this.#assess(state, {
      storeDamage: await findStoreDamage(this.adapter, state, this.steps),
    });
    if (options.instances !== true) return report;
    const live = await liveInstances(this.adapter, this.#actor, { prune: false });
    const held = report.deferred.some((id) => olderThan(live, id.slice(0, id.indexOf("/"))).length > 0);
    // What the registry shows now: deferred earlier, and nothing older holds the steps any more.
    const free = report.deferred.length > 0 && !held && report.status === "CURRENT";
    return {
      ...report,
      instances: summariseInstances(live),
      ...(free && {
        message: `the database is at ${report.stamp}, in step with the code; ${report.deferred.length} contract step(s) deferred earlier, and no older release is live now: ${report.deferred.join(", ")}`,
        next: "`lockstep upgrade --contract` applies them",
      }),
    };
  }

  #assess(
    state: DatabaseState,
    { storeDamage = null, settled = false }: { storeDamage?: string | null; settled?: boolean } = {},
  ): StatusReport {
    return assessStatus(state, this.steps, this.codeVersion, {
      // Settled: the work is done; a lease another replica still holds does not make it UPGRADING.
      leaseHeldByOther: !settled && heldByOther(this.#actor, state.lease),
      leaseMode: this.adapter.capabilities.leaseMode,
      storeDamage,
      stepsBuildSchema: this.#stepsBuildSchema,
    });
  }

  /**
   * What an upgrade would do, with preconditions evaluated and each step decided for the live
   * instances (apply, defer, refuse). Writes nothing.
   */
  async plan(options: UpgradeOptions = {}): Promise<PlanReport> {
    const database = await this.#open(false);
    // `status` and `plan` agree: a damaged store is refused here too (exit 3 both).
    const state = await this.#refuseDamagedStore();
    const where = { adapter: this.adapter, actor: this.#actor, database };
    return planReport(
      where,
      state,
      this.steps,
      this.codeVersion,
      this.#normalisePlanOptions(options),
      options,
    );
  }

  /** Reads the state; throws E_STORE_DAMAGED when lockstep's store is damaged. */
  async #refuseDamagedStore(): Promise<DatabaseState> {
    const state = await this.adapter.readState();
    const damage = await findStoreDamage(this.adapter, state, this.steps);
    if (damage !== null) throw storeDamagedError(damage, state.stamp);
    return state;
  }

  #normalisePlanOptions(options: PlanOptions): PlannerOptions {
    return {
      stepsBuildSchema: this.#stepsBuildSchema,
      ...(options.targetVersion !== undefined && {
        targetVersion: normaliseVersion(options.targetVersion, "--target-version"),
      }),
      ...(options.fromVersion !== undefined && {
        fromVersion: normaliseVersion(options.fromVersion, "--from-version"),
      }),
      ...(options.outOfOrder !== undefined && { outOfOrder: options.outOfOrder }),
    };
  }

  /**
   * Applies every pending step, in order, under the lease: preconditions of all steps first,
   * then per step the in-progress marker (where steps are not atomic), the step with its
   * ledger entry and stamp (in one transaction where the database allows), and finally the
   * stamp of the target. A dry run does all the planning and writes nothing.
   */
  async upgrade(options: UpgradeOptions = {}): Promise<UpgradeResult> {
    const planOptions = this.#normalisePlanOptions(options);
    const database = await this.#open(!options.dryRun);
    const run = {
      engine: this.#engine,
      registry: this.registry,
      database,
      planOptions,
      force: options.force ?? false,
      signal: options.signal,
      mode: rollingMode(options),
    };
    // Before the lease: taking it creates lockstep's missing tables, which would hide the damage.
    await this.#refuseDamagedStore();
    // The step runner and the batch helper load when an upgrade runs: `status` starts faster.
    const { applyUpgrade, dryRunUpgrade } = await import("./apply-upgrade.js");
    if (options.dryRun) return dryRunUpgrade(run);
    return this.#withLease(options.wait ?? true, (acquired) => applyUpgrade(run, acquired));
  }

  /** Runs `fn` under the lease (see {@link withLease}). */
  #withLease<T>(wait: boolean, fn: (acquired: AcquiredLease) => Promise<T>): Promise<T> {
    return withLease(this.#engine, this.#lease, wait, fn);
  }

  /**
   * Stamps a new deployment with the code version (or `version`) without running any step;
   * every registered step up to it is recorded as baselined. Refuses a stamped database
   * unless `force`; a forced init to a lower version removes the baselines above it (see
   * {@link initDatabase}). Emits a warning when the database does not look like a new
   * deployment whose schema is made elsewhere.
   */
  async init(options: { version?: string; force?: boolean } = {}): Promise<InitResult> {
    const version =
      options.version !== undefined ? normaliseVersion(options.version, "--version") : this.codeVersion;
    if (options.version === undefined && isDevVersion(parseVersion(version, "the code version"))) {
      throw new RefusedError("E_DEV_VERSION", `the code version ${version} is a development build`, {
        hint: "give the release this database is in the format of: `lockstep init --version X.Y.Z`",
      });
    }
    await this.#open(true);
    return this.#withLease(true, ({ lease }) =>
      initDatabase(this.#engine, this.steps, lease, { version, force: options.force ?? false }),
    );
  }

  /** The history, oldest first. */
  async history(options: { limit?: number } = {}): Promise<HistoryEntry[]> {
    const limit = validateHistoryLimit(options.limit);
    await this.#open(false);
    return this.adapter.readHistory(limit === undefined ? {} : { limit });
  }

  /**
   * Breaks the lease. Without `force`, only an expired lease is broken: a live upgrader
   * keeps its lease. Recorded in history.
   */
  async unlock(options: { force?: boolean } = {}): Promise<LeaseInfo | null> {
    await this.#open(false);
    const state = await this.adapter.readState();
    const lease = state.lease;
    if (lease === null) return null;
    if (!lease.expired && !options.force) {
      throw new LeaseError(
        "E_LOCK_HELD",
        `the lease is held by ${lease.owner} (pid ${lease.pid} on ${lease.host}) and has not expired (until ${lease.expiresAt})`,
        holderSummary(lease),
        { hint: unlockRefusedHint(this.adapter.capabilities.leaseMode) },
      );
    }
    const broken = await this.adapter.breakLease({ owner: lease.owner });
    if (broken) {
      await this.adapter.write(null, (writer) =>
        writer.appendHistory(
          historyEntry(this.#engine, "unlock", {
            details: { holder: broken, force: options.force ?? false },
          }),
        ),
      );
    }
    return broken;
  }

  /**
   * Clears an INTERRUPTED step after the operator checked the data: `applied` records it in
   * the ledger (and moves the stamp), `rolled-back` leaves it pending. Recorded in history.
   */
  async resolve(id: string, outcome: "applied" | "rolled-back"): Promise<void> {
    await this.#open(false);
    await this.#withLease(true, async ({ lease }) => {
      const state = await this.adapter.readState();
      const marker = state.interrupted.find((m) => stepId(m.version, m.name) === id);
      if (!marker) {
        throw new LockstepError(
          "E_NOT_INTERRUPTED",
          `step ${id} is not interrupted${state.interrupted.length ? `; interrupted: ${state.interrupted.map((m) => stepId(m.version, m.name)).join(", ")}` : ""}`,
          { hint: "`lockstep status` lists interrupted steps" },
        );
      }
      const step = this.registry.find(marker.version, marker.name);
      await this.adapter.write(lease, async (writer) => {
        if (outcome === "applied") {
          await writer.putLedgerEntry({
            version: marker.version,
            name: marker.name,
            checksum: step?.checksum ?? null,
            kind: "resolved",
            appliedAt: new Date().toISOString(),
            durationMs: null,
            appVersion: this.codeVersion,
            counts: null,
          });
          if (state.stamp === null || compareVersions(marker.version, state.stamp) > 0) {
            const target =
              compareVersions(marker.version, this.codeVersion) > 0 ? this.codeVersion : marker.version;
            if (state.stamp === null || compareVersions(target, state.stamp) > 0) {
              // A database stamped before floors keeps its old stamp as floor when the stamp moves.
              if (state.stamp !== null && state.floorRecorded === false) await writer.setFloor(state.stamp);
              await writer.setStamp(target);
            }
          }
        }
        await writer.clearMarker(marker.version, marker.name);
        await writer.appendHistory(
          historyEntry(this.#engine, "resolve", {
            version: marker.version,
            step: marker.name,
            details: { outcome, marker },
          }),
        );
      });
    });
  }

  /**
   * The start-up check. Costs one read when the database is current. `warn` reports and
   * lets the app run; `refuse` throws unless the database is CURRENT (or DEV, or safely
   * auto-stamped); `upgrade` applies pending steps under the lease, so replicas starting
   * together upgrade once.
   */
  async check(options: { policy?: CheckPolicy } = {}): Promise<CheckResult> {
    return runStartUpCheck(
      {
        engine: this.#engine,
        steps: this.steps,
        open: (create) => this.#open(create),
        status: () => this.status(),
        assess: (state, settled) => this.#assess(state, { settled: settled ?? false }),
        upgrade: () => this.upgrade({}),
        withLease: (fn) => this.#withLease(true, fn),
      },
      assertCheckPolicy(options.policy ?? "warn"),
    );
  }
}
