import type { CountQuery, HistoryEntry } from "../core/adapter.js";
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
