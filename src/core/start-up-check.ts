import type { Adapter, DatabaseState } from "./adapter.js";
import type { EngineContext } from "./engine-context.js";
import { LeaseError, type LockstepError, type LockstepErrorCode, RefusedError } from "./errors.js";
import type { AcquiredLease } from "./lease-acquire.js";
import { holderSummary } from "./lease-hints.js";
import type { DatabaseStatus, StatusReport } from "./planner.js";
import { historyEntry, ledgerEntry } from "./records.js";
import type { CheckAction, CheckPolicy, CheckResult, UpgradeResult } from "./reports.js";
import type { Step } from "./step.js";
import { findStoreDamage } from "./store-damage.js";
import { compareVersions } from "./versions.js";

/** What the start-up check needs from the upgrader. */
export interface CheckHost<TDb> {
  readonly engine: EngineContext<TDb>;
  readonly steps: readonly Step<TDb>[];
  /** Opens the database (creating it when `create`). */
  open(create: boolean): Promise<unknown>;
  status(): Promise<StatusReport>;
  /** The status of `state`; `settled` ignores a lease held by another upgrader. */
  assess(state: DatabaseState, settled?: boolean): StatusReport;
  upgrade(): Promise<UpgradeResult>;
  /** Runs `fn` under the lease, waiting for another holder. */
  withLease<T>(fn: (acquired: AcquiredLease) => Promise<T>): Promise<T>;
}

/**
 * The start-up check. Costs one read when the database is current. `warn` reports and
 * lets the app run; `refuse` throws unless the database is CURRENT (or DEV, or safely
 * auto-stamped); `upgrade` applies pending steps under the lease.
 */
export async function runStartUpCheck<TDb>(host: CheckHost<TDb>, policy: CheckPolicy): Promise<CheckResult> {
  // No describe() and no second read: on a current database the guard is one state read.
  await host.engine.adapter.open({ create: policy === "upgrade" });
  const { state, report } = await readReport(host);
  const done = (action: CheckAction, r: StatusReport, steps: string[] = [], warnings: string[] = []) =>
    ({
      status: action === "stamped" ? "AUTO_STAMPED" : r.status,
      report: r,
      action,
      steps,
      warnings,
    }) satisfies CheckResult;
  if (report.status === "DEV" || report.status === "CURRENT") return done("none", report);
  // This release is the stamp and another holder has the lease (finishing its upgrade, or a newer
  // release starting, which sees this instance in the registry): the work this code needs is done,
  // unless that upgrader raised the floor above this code (a breaking step under way): then the
  // refusal below, never a pass.
  if (
    report.status === "UPGRADING" &&
    report.compatible &&
    report.stamp !== null &&
    compareVersions(report.stamp, report.codeVersion) === 0
  ) {
    return done("none", host.assess(state, true));
  }
  // Older code on data it can run on (F <= C <= S): it serves under every policy, writing nothing.
  if (report.status === "AHEAD_COMPATIBLE" || (report.status === "UPGRADING" && report.compatible)) {
    const warning = `${report.status}: ${report.message}`;
    host.engine.emit("warning", { message: warning });
    return done("none", report, [], [warning]);
  }
  if (report.autoStampable || (policy === "upgrade" && report.status !== "AHEAD")) {
    // Once the work is done, a racer still holding the lease (to find nothing left) is no
    // upgrade in progress: the status is the state the work left, not UPGRADING.
    const settled = async () => host.assess(await host.engine.adapter.readState(), true);
    if (report.autoStampable) {
      // Pending work that someone else did first: this caller waited for it.
      return done((await autoStamp(host)) ? "stamped" : "waited", await settled());
    }
    const result = await host.upgrade();
    const applied = result.results.filter((r) => r.status === "applied").map((r) => r.step);
    return done(result.outcome === "upgraded" ? "upgraded" : "waited", await settled(), applied);
  }
  if (policy === "warn") {
    const warning = `${report.status}: ${report.message}${report.next ? ` (next: ${report.next})` : ""}`;
    host.engine.emit("warning", { message: warning });
    return done("none", report, [], [warning]);
  }
  throw refusalFor(report);
}

/** The status from one state read; a damaged store (rare) is reported through `status()`. */
async function readReport<TDb>(
  host: CheckHost<TDb>,
): Promise<{ state: DatabaseState; report: StatusReport }> {
  const { adapter } = host.engine;
  const state = await adapter.readState();
  const damage = await findStoreDamage(adapter as Adapter<unknown>, state, host.steps as Step<unknown>[]);
  return { state, report: damage === null ? host.assess(state) : await host.status() };
}

/** Stamps the code version when no step applies; false when someone else did first. */
async function autoStamp<TDb>(host: CheckHost<TDb>): Promise<boolean> {
  const { engine } = host;
  const { adapter, codeVersion } = engine;
  await host.open(true);
  return host.withLease(async ({ lease }) => {
    await adapter.ensureStore();
    const state = await adapter.readState();
    if (!host.assess(state).autoStampable) return false;
    await adapter.write(lease, async (writer) => {
      if (state.stamp === null || !state.hasLedger) {
        const at = new Date().toISOString();
        for (const step of host.steps) {
          if (state.stamp !== null && compareVersions(step.version, state.stamp) <= 0) {
            await writer.putLedgerEntry(ledgerEntry(engine, step, "baselined", at, null, null));
          }
        }
      }
      // An auto-stamp never raises the floor; a database stamped before floors keeps its old stamp as floor.
      if (state.stamp !== null && state.floorRecorded === false) await writer.setFloor(state.stamp);
      await writer.setStamp(codeVersion);
      await writer.appendHistory(
        historyEntry(engine, "auto_stamp", { version: codeVersion, details: { previous: state.stamp } }),
      );
    });
    engine.emit("stamped", { version: codeVersion, action: "auto_stamp" });
    return true;
  });
}

/** The code a refusing start-up check throws for each status. */
const REFUSAL_CODES: Readonly<Record<DatabaseStatus, LockstepErrorCode>> = {
  UNINITIALISED: "E_UNINITIALISED",
  AHEAD: "E_AHEAD",
  // The check passes this one (with a warning); listed for callers of refusalFor.
  AHEAD_COMPATIBLE: "E_AHEAD",
  INTERRUPTED: "E_INTERRUPTED",
  UPGRADING: "E_LOCK_HELD",
  UPGRADE_PENDING: "E_UPGRADE_PENDING",
  STORE_DAMAGED: "E_STORE_DAMAGED",
  // The check returns before refusing these; a caller passing one gets the generic code.
  DEV: "E_UPGRADE_PENDING",
  CURRENT: "E_UPGRADE_PENDING",
  AUTO_STAMPED: "E_UPGRADE_PENDING",
};

/** The error a refusing start-up check throws for a status. */
export function refusalFor(report: StatusReport): LockstepError {
  if (report.status === "UPGRADING") {
    // Always the lease error, carrying its holder, like the one an upgrade throws.
    return new LeaseError(
      "E_LOCK_HELD",
      `refusing to start: ${report.message}`,
      report.lease ? holderSummary(report.lease) : undefined,
      report.next ? { hint: report.next } : {},
    );
  }
  return new RefusedError(
    REFUSAL_CODES[report.status],
    `refusing to start: ${report.message}`,
    report.next ? { hint: report.next } : {},
  );
}
