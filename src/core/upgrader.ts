import { type Actor, defaultActor } from "../runtime/actor.js";
import type {
  Adapter,
  DatabaseDescription,
  DatabaseState,
  HistoryEntry,
  LeaseHandle,
  LeaseInfo,
} from "./adapter.js";
import type { EngineContext } from "./engine-context.js";
import { LeaseError, LockstepError, PreconditionError, RefusedError } from "./errors.js";
import { TypedEmitter, type UpgraderEvents } from "./events.js";
import { assessStatus, type Plan, type PlanOptions, planUpgrade, type StatusReport } from "./planner.js";
import { historyEntry, ledgerEntry } from "./records.js";
import { StepRegistry, stepId } from "./registry.js";
import type {
  CheckPolicy,
  CheckResult,
  MeasuredCount,
  PlannedStep,
  PlanReport,
  PreconditionReport,
  UpgradeResult,
} from "./reports.js";
import { type StepResult, stepResult } from "./results.js";
import type { Step } from "./step.js";
import { runsInTransaction, stepMode } from "./step-mode.js";
import { messageOf, normaliseCounts, runStep, stepContext, stepFailedError } from "./step-runner.js";
import {
  DEFAULT_LEASE_OPTIONS,
  type LeaseOptions,
  type UpgradeOptions,
  type UpgraderOptions,
} from "./upgrader-options.js";
import { compareVersions, isDevVersion, normaliseVersion, parseVersion } from "./versions.js";

export type {
  CheckPolicy,
  CheckResult,
  MeasuredCount,
  PlannedStep,
  PlanReport,
  PreconditionReport,
  UpgradeResult,
} from "./reports.js";
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
  readonly #engine: EngineContext<TDb>;
  #opened: Promise<DatabaseDescription> | undefined;

  constructor(options: UpgraderOptions<TDb>) {
    super();
    this.adapter = options.adapter;
    this.codeVersion = normaliseVersion(options.appVersion, "the application version (appVersion)");
    this.registry = new StepRegistry(options.steps);
    this.#lease = { ...DEFAULT_LEASE_OPTIONS, ...options.lease };
    this.#actor = options.actor ?? defaultActor();
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

  /** Can this code run on this database? A pure read. */
  async status(): Promise<StatusReport> {
    await this.#open(false);
    return this.#assess(await this.adapter.readState());
  }

  #assess(state: DatabaseState): StatusReport {
    return assessStatus(state, this.steps, this.codeVersion, {
      leaseHeldByOther: this.#heldByOther(state.lease),
    });
  }

  #heldByOther(lease: LeaseInfo | null): boolean {
    // A lease whose holder ran here and is gone (killed) is not an upgrade in progress: the
    // next upgrader breaks it at once (see #acquireLease).
    return (
      lease !== null &&
      !lease.expired &&
      lease.owner !== this.#actor.owner &&
      this.#actor.isLocalProcessAlive(lease.owner, lease.pid) !== false
    );
  }

  /** What an upgrade would do, with preconditions evaluated. Writes nothing. */
  async plan(options: UpgradeOptions = {}): Promise<PlanReport> {
    const database = await this.#open(false);
    const state = await this.adapter.readState();
    const plan = planUpgrade(state, this.steps, this.codeVersion, this.#normalisePlanOptions(options));
    const preconditions = await this.#checkPreconditions(plan.steps, options.force ?? false);
    return {
      database,
      codeVersion: this.codeVersion,
      stamp: state.stamp,
      from: plan.from,
      target: plan.target,
      steps: plan.steps.map((step) => this.#planned(step, database)),
      baseline: plan.baseline.map((step) => step.id),
      skippedOutOfOrder: plan.skippedOutOfOrder.map((step) => step.id),
      checksumMismatches: plan.checksumMismatches,
      preconditions,
      interrupted: state.interrupted,
    };
  }

  #planned(step: Step<TDb>, database: DatabaseDescription): PlannedStep {
    return {
      id: step.id,
      version: step.version,
      name: step.name,
      description: step.description ?? null,
      atomic: stepMode(step, database.capabilities) === "atomic",
      idempotent: step.idempotent ?? false,
      batched: step.batched ?? false,
    };
  }

  #normalisePlanOptions(options: PlanOptions): PlanOptions {
    return {
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
    if (options.dryRun) return this.#dryRun(database, planOptions, options.force ?? false);

    const { lease, waited } = await this.#acquireLease(options.wait ?? true);
    try {
      await this.adapter.ensureStore();
      // Re-read under the lease: another upgrader may have finished while we waited.
      const state = await this.adapter.readState();
      const plan = planUpgrade(state, this.steps, this.codeVersion, planOptions);
      this.#refuseInterrupted(state, plan);
      const preconditions = await this.#checkPreconditions(plan.steps, options.force ?? false);
      throwOnFailedPreconditions(preconditions);
      for (const id of plan.skippedOutOfOrder) {
        this.emit("warning", {
          message: `step ${id} is below the stamp and was never applied: rerun with --out-of-order`,
        });
      }

      let stamp = state.stamp;
      if (plan.baseline.length > 0 || (plan.unstamped && planOptions.fromVersion !== undefined)) {
        stamp = await this.#writeBaseline(lease, plan, state.stamp);
      }
      const results: StepResult[] = [];
      for (const [index, step] of plan.steps.entries()) {
        this.emit("step:started", { step: step.id, index, total: plan.steps.length, dryRun: false });
        try {
          const interrupted = state.interrupted.find(
            (m) => m.version === step.version && m.name === step.name,
          );
          const nextStamp = this.#stampAfter(stamp, step.version, plan.target);
          const result = await runStep(this.#engine, {
            step,
            lease,
            stamp,
            nextStamp,
            capabilities: database.capabilities,
            interrupted,
          });
          stamp = nextStamp;
          results.push(result);
          this.emit("step:finished", result);
        } catch (error) {
          const failed = stepResult(step, "failed", { error: messageOf(error) });
          results.push(failed);
          this.emit("step:finished", failed);
          for (const rest of plan.steps.slice(index + 1)) results.push(stepResult(rest, "pending"));
          if (error instanceof LeaseError) throw error;
          const mode = stepMode(step, database.capabilities);
          throw stepFailedError(this.#engine, step, mode, stamp, results, error);
        }
      }
      const moved = stamp === null || compareVersions(plan.target, stamp) > 0;
      if (moved) {
        await this.adapter.write(lease, async (writer) => {
          await writer.setStamp(plan.target);
          await writer.appendHistory(
            historyEntry(this.#engine, "stamp", { version: plan.target, details: { from: stamp } }),
          );
        });
        this.emit("stamped", { version: plan.target, action: "upgrade" });
      }
      if (results.length > 0 || moved) {
        await this.adapter.write(lease, (writer) =>
          writer.appendHistory(
            historyEntry(this.#engine, "upgrade_finished", {
              version: plan.target,
              details: { from: plan.from, steps: results.map((r) => r.step) },
            }),
          ),
        );
      }
      return {
        outcome: results.length > 0 || moved ? "upgraded" : "current",
        from: state.stamp,
        to: plan.target,
        results,
        waitedForLease: waited,
        preconditions,
        measured: {},
      };
    } finally {
      await lease.release();
    }
  }

  async #dryRun(
    database: DatabaseDescription,
    planOptions: PlanOptions,
    force: boolean,
  ): Promise<UpgradeResult> {
    const state = await this.adapter.readState();
    const plan = planUpgrade(state, this.steps, this.codeVersion, planOptions);
    this.#refuseInterrupted(state, plan);
    const preconditions = await this.#checkPreconditions(plan.steps, force);
    throwOnFailedPreconditions(preconditions);
    const results: StepResult[] = [];
    const measured: Record<string, MeasuredCount[]> = {};
    for (const [index, step] of plan.steps.entries()) {
      this.emit("step:started", { step: step.id, index, total: plan.steps.length, dryRun: true });
      measured[step.id] = await Promise.all(
        (step.affects ?? []).map(async (query) => ({
          query: JSON.stringify(query),
          count: await this.adapter.count(query),
        })),
      );
      const started = Date.now();
      // Steps are called in dry-run mode; where the database has transactions they also run
      // inside one that is always rolled back, so a step that forgets `dryRun` still writes nothing.
      const counts = await this.adapter.write(
        null,
        async (_writer, db) => normaliseCounts(await step.run(stepContext(this.#engine, step, db, true))),
        { transactional: runsInTransaction(step, database.capabilities), rollback: true },
      );
      const result = stepResult(step, "dry-run", { durationMs: Date.now() - started, counts });
      results.push(result);
      this.emit("step:finished", result);
    }
    return {
      outcome: "dry-run",
      from: state.stamp,
      to: plan.target,
      results,
      waitedForLease: false,
      preconditions,
      measured,
    };
  }

  #stampAfter(stamp: string | null, stepVersion: string, target: string): string | null {
    // Capped at the target: a release candidate applies the steps of its release (see
    // versions.ts) but records its own version. Out-of-order steps never lower the stamp.
    const candidate = compareVersions(stepVersion, target) > 0 ? target : stepVersion;
    return stamp === null || compareVersions(candidate, stamp) > 0 ? candidate : stamp;
  }

  #refuseInterrupted(state: DatabaseState, plan: Plan<TDb>): void {
    for (const marker of state.interrupted) {
      const step = this.registry.find(marker.version, marker.name);
      const id = stepId(marker.version, marker.name);
      // Idempotent steps can run again; batched ones resume after their last checkpoint.
      const retryable =
        step !== undefined &&
        (step.idempotent === true || step.batched === true) &&
        plan.steps.includes(step);
      if (!retryable) {
        throw new RefusedError(
          "E_INTERRUPTED",
          `step ${id} started at ${marker.startedAt} (pid ${marker.pid} on ${marker.host}) and never finished; its writes may be partial`,
          {
            hint: `check the data, then run \`lockstep resolve ${id} --applied\` if its work is complete or \`lockstep resolve ${id} --rolled-back\` if it is undone`,
          },
        );
      }
      this.emit("warning", {
        message: step.batched
          ? `resuming interrupted batched step ${id} after its last checkpoint`
          : `retrying interrupted idempotent step ${id}`,
      });
    }
  }

  async #checkPreconditions(steps: readonly Step<TDb>[], force: boolean): Promise<PreconditionReport[]> {
    const reports: PreconditionReport[] = [];
    const ctx = {
      db: this.adapter.handle(),
      databaseKind: this.adapter.kind,
      count: (query: Parameters<Adapter["count"]>[0]) => this.adapter.count(query),
    };
    for (const step of steps) {
      for (const condition of step.conditions ?? []) {
        const base = { step: step.id, description: condition.description, skippable: condition.skippable };
        if (force && condition.skippable) {
          reports.push({ ...base, status: "skipped" });
          continue;
        }
        const failure = await condition.check(ctx);
        reports.push(
          failure
            ? {
                ...base,
                status: "failed",
                message: failure.message,
                ...(failure.count !== undefined && { count: failure.count }),
              }
            : { ...base, status: "passed" },
        );
      }
    }
    return reports;
  }

  async #writeBaseline(lease: LeaseHandle, plan: Plan<TDb>, stamp: string | null): Promise<string> {
    const at = new Date().toISOString();
    await this.adapter.write(lease, async (writer) => {
      for (const step of plan.baseline)
        await writer.putLedgerEntry(ledgerEntry(this.#engine, step, "baselined", at, null, null));
      if (stamp === null) await writer.setStamp(plan.from);
      await writer.appendHistory(
        historyEntry(this.#engine, "baseline", {
          version: plan.from,
          details: { steps: plan.baseline.map((s) => s.id) },
        }),
      );
    });
    return stamp ?? plan.from;
  }

  /** Takes the lease, waiting for another holder unless `wait` is false. */
  async #acquireLease(wait: boolean): Promise<{ lease: LeaseHandle; waited: boolean }> {
    const started = Date.now();
    const request = {
      owner: this.#actor.owner,
      host: this.#actor.host,
      pid: this.#actor.pid,
      user: this.#actor.user,
      ttlMs: this.#lease.ttlMs,
    };
    let waited = false;
    for (;;) {
      const attempt = await this.adapter.tryAcquireLease(request);
      if ("lease" in attempt) {
        this.emit("lease:acquired", { owner: request.owner, waited });
        return { lease: attempt.lease, waited };
      }
      const holder = attempt.heldBy;
      if (holder && this.#actor.isLocalProcessAlive(holder.owner, holder.pid) === false) {
        // The holder ran on this machine and its process is gone (killed): its lease can
        // never be renewed, so waiting for it to expire only delays the next upgrader.
        const broken = await this.adapter.breakLease({ owner: holder.owner });
        if (broken) {
          const reason = `holder process ${holder.pid} on ${holder.host} is no longer running`;
          await this.adapter.ensureStore();
          await this.adapter.write(null, (writer) =>
            writer.appendHistory(
              historyEntry(this.#engine, "unlock", { details: { holder: broken, reason, automatic: true } }),
            ),
          );
          this.emit("lease:broken", { holder: broken, reason });
        } else {
          // Someone else broke or took it first (or a session lock lingers): don't spin.
          await sleep(this.#lease.pollMs);
        }
        continue;
      }
      const waitedMs = Date.now() - started;
      if (!wait || waitedMs >= this.#lease.waitMs) {
        throw new LeaseError(
          "E_LOCK_HELD",
          holder
            ? `another upgrader holds the lease on ${this.adapter.displayName}: ${holder.owner} (pid ${holder.pid} on ${holder.host}, user ${holder.user}) until ${holder.expiresAt}`
            : `could not take the lease on ${this.adapter.displayName}: another upgrader holds it (or another process is writing)`,
          holder
            ? { owner: holder.owner, host: holder.host, pid: holder.pid, expiresAt: holder.expiresAt }
            : undefined,
          {
            hint: wait
              ? "wait for it to finish and run again (or raise the wait with --lock-timeout); if that process is gone, `lockstep unlock` once the lease has expired"
              : "run again without --no-wait to wait for it; if that process is gone, `lockstep unlock` once the lease has expired",
          },
        );
      }
      waited = true;
      this.emit("lease:waiting", { holder, waitedMs });
      await sleep(this.#lease.pollMs);
    }
  }

  /**
   * Stamps a new deployment with the code version (or `version`) without running any step;
   * every registered step up to it is recorded as baselined. Refuses a stamped database
   * unless `force`.
   */
  async init(
    options: { version?: string; force?: boolean } = {},
  ): Promise<{ version: string; previous: string | null }> {
    const version =
      options.version !== undefined ? normaliseVersion(options.version, "--version") : this.codeVersion;
    if (options.version === undefined && isDevVersion(parseVersion(version, "the code version"))) {
      throw new RefusedError("E_DEV_VERSION", `the code version ${version} is a development build`, {
        hint: "give the release this database is in the format of: `lockstep init --version X.Y.Z`",
      });
    }
    await this.#open(true);
    const { lease } = await this.#acquireLease(true);
    try {
      await this.adapter.ensureStore();
      const state = await this.adapter.readState();
      if (state.stamp !== null && !options.force) {
        throw new RefusedError("E_ALREADY_INITIALISED", `the database is already stamped ${state.stamp}`, {
          hint: `use \`lockstep upgrade\` to move it forward; \`lockstep init --version ${version} --force\` overwrites the stamp`,
        });
      }
      const known = new Set(state.ledger.map((entry) => stepId(entry.version, entry.name)));
      const at = new Date().toISOString();
      await this.adapter.write(lease, async (writer) => {
        for (const step of this.steps) {
          if (compareVersions(step.version, version) <= 0 && !known.has(step.id)) {
            await writer.putLedgerEntry(ledgerEntry(this.#engine, step, "baselined", at, null, null));
          }
        }
        await writer.setStamp(version);
        await writer.appendHistory(
          historyEntry(this.#engine, "init", {
            version,
            details: { previous: state.stamp, force: options.force ?? false },
          }),
        );
      });
      this.emit("stamped", { version, action: "init" });
      return { version, previous: state.stamp };
    } finally {
      await lease.release();
    }
  }

  /** The history, oldest first. */
  async history(options: { limit?: number } = {}): Promise<HistoryEntry[]> {
    await this.#open(false);
    return this.adapter.readHistory(options);
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
        { owner: lease.owner, host: lease.host, pid: lease.pid, expiresAt: lease.expiresAt },
        {
          hint: "wait for it to expire, or `lockstep unlock --force` if you are sure that process is gone",
        },
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
    const { lease } = await this.#acquireLease(true);
    try {
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
            if (state.stamp === null || compareVersions(target, state.stamp) > 0)
              await writer.setStamp(target);
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
    } finally {
      await lease.release();
    }
  }

  /**
   * The start-up check. Costs one read when the database is current. `warn` reports and
   * lets the app run; `refuse` throws unless the database is CURRENT (or DEV, or safely
   * auto-stamped); `upgrade` applies pending steps under the lease, so replicas starting
   * together upgrade once.
   */
  async check(options: { policy?: CheckPolicy } = {}): Promise<CheckResult> {
    const policy = options.policy ?? "warn";
    await this.#open(policy === "upgrade");
    const report = await this.status();
    const done = (action: CheckResult["action"], r: StatusReport, warnings: string[] = []): CheckResult => ({
      status: action === "stamped" ? "AUTO_STAMPED" : r.status,
      report: r,
      action,
      warnings,
    });
    if (report.status === "DEV" || report.status === "CURRENT") return done("none", report);
    if (report.autoStampable || (policy === "upgrade" && report.status !== "AHEAD")) {
      if (report.autoStampable) {
        const stamped = await this.#autoStamp();
        if (stamped) return done("stamped", await this.status());
        return done("none", await this.status());
      }
      await this.upgrade({});
      return done("upgraded", await this.status());
    }
    if (policy === "warn") {
      const warning = `${report.status}: ${report.message}${report.next ? ` (next: ${report.next})` : ""}`;
      this.emit("warning", { message: warning });
      return done("none", report, [warning]);
    }
    throw refusalFor(report);
  }

  /** Stamps the code version when no step applies; false when someone else did first. */
  async #autoStamp(): Promise<boolean> {
    await this.#open(true);
    const { lease } = await this.#acquireLease(true);
    try {
      await this.adapter.ensureStore();
      const state = await this.adapter.readState();
      const report = this.#assess(state);
      if (!report.autoStampable) return false;
      await this.adapter.write(lease, async (writer) => {
        if (state.stamp === null || !state.hasLedger) {
          const at = new Date().toISOString();
          for (const step of this.steps) {
            if (state.stamp !== null && compareVersions(step.version, state.stamp) <= 0) {
              await writer.putLedgerEntry(ledgerEntry(this.#engine, step, "baselined", at, null, null));
            }
          }
        }
        await writer.setStamp(this.codeVersion);
        await writer.appendHistory(
          historyEntry(this.#engine, "auto_stamp", {
            version: this.codeVersion,
            details: { previous: state.stamp },
          }),
        );
      });
      this.emit("stamped", { version: this.codeVersion, action: "auto_stamp" });
      return true;
    } finally {
      await lease.release();
    }
  }
}

/** Throws a {@link PreconditionError} listing every failed precondition, if any failed. */
export function throwOnFailedPreconditions(reports: readonly PreconditionReport[]): void {
  const failed = reports.filter((report) => report.status === "failed");
  if (failed.length === 0) return;
  const lines = failed.map((f) => `  - ${f.description} (step ${f.step}): ${f.message}`).join("\n");
  const allSkippable = failed.every((f) => f.skippable);
  throw new PreconditionError(
    `${failed.length} precondition(s) failed; nothing was applied:\n${lines}`,
    failed.map((f) => ({
      step: f.step,
      description: f.description,
      message: f.message ?? "",
      skippable: f.skippable,
      ...(f.count !== undefined && { count: f.count }),
    })),
    {
      hint: allSkippable
        ? "fix the data, or rerun with --force to skip these skippable conditions"
        : "fix the data first: at least one condition cannot be skipped",
    },
  );
}

/** The error a refusing start-up check throws for a status. */
export function refusalFor(report: StatusReport): LockstepError {
  const code =
    report.status === "UNINITIALISED"
      ? "E_UNINITIALISED"
      : report.status === "AHEAD"
        ? "E_AHEAD"
        : report.status === "INTERRUPTED"
          ? "E_INTERRUPTED"
          : report.status === "UPGRADING"
            ? "E_LOCK_HELD"
            : "E_UPGRADE_PENDING";
  return new RefusedError(
    code,
    `refusing to start: ${report.message}`,
    report.next ? { hint: report.next } : {},
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
