import type {
  CountQuery,
  HistoryEntry,
  InProgressMarker,
  InstanceInfo,
  InstanceRecord,
  LedgerEntry,
} from "../core/adapter.js";
import { LockstepError } from "../core/errors.js";

/** The `select count(*)` of a count query on an SQL database (`tableRef` quotes a user table). */
export function countSql(
  query: CountQuery,
  databaseName: string,
  tableRef: (table: string) => string,
): string {
  if ("table" in query)
    return `select count(*) as n from ${tableRef(query.table)}${query.where ? ` where ${query.where}` : ""}`;
  if (query.filter && Object.keys(query.filter).length > 0) {
    throw new LockstepError(
      "E_UNSUPPORTED",
      `document filters are MongoDB's; on ${databaseName} count ${query.collection} with { table, where } instead`,
      { hint: 'use noRowsWhere(table, "sql condition") or affects: [{ table, where }]' },
    );
  }
  return `select count(*) as n from ${tableRef(query.collection)}`;
}

/** The history table's columns, in the order of {@link historyValues}. */
export const HISTORY_COLUMNS =
  "at, action, version, step, outcome, duration_ms, host, os_user, pid, app_version, lockstep_version, details";

/** A history entry as the parameters of an insert into {@link HISTORY_COLUMNS}. */
export function historyValues(h: HistoryEntry): unknown[] {
  return [
    h.at,
    h.action,
    h.version,
    h.step,
    h.outcome,
    h.durationMs,
    h.host,
    h.user,
    h.pid,
    h.appVersion,
    h.lockstepVersion,
    h.details ? JSON.stringify(h.details) : null,
  ];
}

/** The names of lockstep's tables on an SQL database (SQLite, PostgreSQL, MySQL/MariaDB). */
export interface SqlTableNames {
  readonly state: string;
  readonly ledger: string;
  readonly history: string;
  readonly lease: string;
  readonly markers: string;
  /** The instance registry: created on first registration, not one of the store's parts. */
  readonly instances: string;
}

/** Default table names, the same on every SQL database. */
export const DEFAULT_SQL_TABLES: SqlTableNames = {
  state: "lockstep_state",
  ledger: "lockstep_ledger",
  history: "lockstep_history",
  lease: "lockstep_lease",
  markers: "lockstep_markers",
  instances: "lockstep_instances",
};

/** The ledger table's columns, in the order of {@link ledgerValues}. */
export const LEDGER_COLUMNS = "version, name, checksum, kind, applied_at, duration_ms, app_version, counts";

/** A ledger entry as the parameters of an insert into {@link LEDGER_COLUMNS}. */
export function ledgerValues(e: LedgerEntry): unknown[] {
  return [
    e.version,
    e.name,
    e.checksum,
    e.kind,
    e.appliedAt,
    e.durationMs,
    e.appVersion,
    e.counts ? JSON.stringify(e.counts) : null,
  ];
}

/** The markers table's columns, in the order of {@link markerValues}. */
export const MARKER_COLUMNS = "version, name, started_at, owner, host, pid, checkpoint";

/** An in-progress marker as the parameters of an insert into {@link MARKER_COLUMNS}. */
export function markerValues(m: InProgressMarker): unknown[] {
  return [
    m.version,
    m.name,
    m.startedAt,
    m.owner,
    m.host,
    m.pid,
    m.checkpoint == null ? null : JSON.stringify(m.checkpoint),
  ];
}

/** `count` placeholders for a values list: `?, ?, ?` or, with `numbered`, `$1, $2, $3`. */
export function placeholders(count: number, numbered = false): string {
  return Array.from({ length: count }, (_, i) => (numbered ? `$${i + 1}` : "?")).join(", ");
}

/** The one method both SQL server drivers' connections share. */
export interface SqlQueryable {
  query(sql: string): Promise<unknown>;
}

/**
 * Runs `fn` inside one read-only snapshot transaction opened by `begin` on `c`, so the parts
 * of lockstep's state it reads agree with each other; rolled back if `fn` fails.
 */
export async function inSnapshot<C extends SqlQueryable, T>(
  c: C,
  begin: string,
  fn: (c: C) => Promise<T>,
): Promise<T> {
  await c.query(begin);
  try {
    const result = await fn(c);
    await c.query("commit");
    return result;
  } catch (error) {
    await c.query("rollback").catch(() => undefined);
    throw error;
  }
}

/**
 * The floor a DatabaseState reports from the state table's `floor` row (`stored`, parsed):
 * that row, or the stamp standing in for it on a database stamped before floors existed.
 */
export function floorOf(
  stamp: string | null,
  stored: string | null,
): { floor: string | null; floorRecorded: boolean } {
  return { floor: stored ?? stamp, floorRecorded: stored !== null };
}

/** The instance registry's columns the caller gives, in the order of {@link instanceValues}. */
export const INSTANCE_COLUMNS = "id, app_version, host, pid, owner, started_at";

/** An instance as the parameters of an insert into {@link INSTANCE_COLUMNS}. */
export function instanceValues(i: InstanceRecord): unknown[] {
  return [i.id, i.appVersion, i.host, i.pid, i.owner, i.startedAt];
}

/** A registry row as `listInstances` selects it: `last_seen` ISO, `age_ms` and `expired` by the database's clock. */
export function fromInstanceRow(r: Record<string, unknown>): InstanceInfo {
  return {
    id: String(r.id),
    appVersion: String(r.app_version),
    host: String(r.host),
    pid: Number(r.pid),
    owner: String(r.owner),
    startedAt: String(r.started_at),
    lastSeen: new Date(String(r.last_seen)).toISOString(),
    ageMs: Math.max(0, Math.round(Number(r.age_ms))),
    expired: Number(r.expired) === 1,
  };
}
