import type BetterSqlite3 from "better-sqlite3";
import type { HistoryEntry, InProgressMarker, LedgerEntry, StateWriter } from "../../core/adapter.js";
import {
  HISTORY_COLUMNS,
  historyValues,
  LEDGER_COLUMNS,
  ledgerValues,
  MARKER_COLUMNS,
  markerValues,
  placeholders,
  type SqlTableNames,
} from "../sql-shared.js";

/** A better-sqlite3 connection. */
export type Db = BetterSqlite3.Database;

/** Quotes an identifier. */
export function q(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

/** Whether the table `name` exists. */
export function tableExists(db: Db, name: string): boolean {
  return db.prepare("select 1 from sqlite_master where type = 'table' and name = ?").get(name) !== undefined;
}

/** Creates whichever of lockstep's tables are missing. */
export function createStore(db: Db, t: SqlTableNames): void {
  if ([t.state, t.ledger, t.history, t.lease, t.markers].every((name) => tableExists(db, name))) return;
  db.exec(`
    create table if not exists ${q(t.state)} (id text primary key, version text not null, updated_at text not null);
    create table if not exists ${q(t.ledger)} (
      version text not null, name text not null, checksum text, kind text not null,
      applied_at text not null, duration_ms integer, app_version text, counts text,
      primary key (version, name));
    create table if not exists ${q(t.history)} (
      id integer primary key autoincrement, at text not null, action text not null, version text, step text,
      outcome text not null, duration_ms integer, host text not null, os_user text not null, pid integer not null,
      app_version text, lockstep_version text not null, details text);
    create table if not exists ${q(t.lease)} (
      id integer primary key check (id = 1), owner text not null, host text not null, pid integer not null,
      os_user text not null, acquired_at text not null, expires_at integer not null);
    create table if not exists ${q(t.markers)} (
      version text not null, name text not null, started_at text not null, owner text not null,
      host text not null, pid integer not null, checkpoint text, primary key (version, name));
  `);
}

/** The last `limit` history entries (all without one), oldest first. */
export function readHistory(db: Db, t: SqlTableNames, limit: number | undefined): HistoryEntry[] {
  if (!tableExists(db, t.history)) return [];
  const rows = db
    .prepare(`select * from (select * from ${q(t.history)} order by id desc limit ?) order by id`)
    .all(limit ?? -1) as HistoryRow[];
  return rows.map(fromHistoryRow);
}

/** The writes of one `write()` call. */
export function stateWriter(db: Db, t: SqlTableNames): Required<StateWriter> {
  return {
    setStamp: async (version) => setStateRow(db, t, "stamp", version),
    setFloor: async (version) => setStateRow(db, t, "floor", version),
    putLedgerEntry: async (e) => {
      db.prepare(`insert or replace into ${q(t.ledger)} (${LEDGER_COLUMNS}) values (${placeholders(8)})`).run(
        ...ledgerValues(e),
      );
    },
    setMarker: async (m) => {
      db.prepare(
        `insert or replace into ${q(t.markers)} (${MARKER_COLUMNS}) values (${placeholders(7)})`,
      ).run(...markerValues(m));
    },
    deleteLedgerEntry: async (version, name) => {
      db.prepare(`delete from ${q(t.ledger)} where version = ? and name = ?`).run(version, name);
    },
    clearMarker: async (version, name) => {
      db.prepare(`delete from ${q(t.markers)} where version = ? and name = ?`).run(version, name);
    },
    appendHistory: async (h) => {
      db.prepare(`insert into ${q(t.history)} (${HISTORY_COLUMNS}) values (${placeholders(12)})`).run(
        ...historyValues(h),
      );
    },
  };
}

/** Upserts the state table's row `id` (`stamp`, or `floor` beside it). */
function setStateRow(db: Db, t: SqlTableNames, id: "stamp" | "floor", version: string): void {
  db.prepare(
    `insert into ${q(t.state)} (id, version, updated_at) values (?, ?, ?)
     on conflict (id) do update set version = excluded.version, updated_at = excluded.updated_at`,
  ).run(id, version, new Date().toISOString());
}

export interface LedgerRow {
  version: string;
  name: string;
  checksum: string | null;
  kind: LedgerEntry["kind"];
  applied_at: string;
  duration_ms: number | null;
  app_version: string | null;
  counts: string | null;
}
export const fromLedgerRow = (r: LedgerRow): LedgerEntry => ({
  version: r.version,
  name: r.name,
  checksum: r.checksum,
  kind: r.kind,
  appliedAt: r.applied_at,
  durationMs: r.duration_ms,
  appVersion: r.app_version,
  counts: r.counts ? (JSON.parse(r.counts) as Record<string, number>) : null,
});

export interface MarkerRow {
  version: string;
  name: string;
  started_at: string;
  owner: string;
  host: string;
  pid: number;
  checkpoint: string | null;
}
export const fromMarkerRow = (r: MarkerRow): InProgressMarker => ({
  version: r.version,
  name: r.name,
  startedAt: r.started_at,
  owner: r.owner,
  host: r.host,
  pid: r.pid,
  checkpoint: r.checkpoint ? JSON.parse(r.checkpoint) : null,
});

interface HistoryRow {
  at: string;
  action: HistoryEntry["action"];
  version: string | null;
  step: string | null;
  outcome: HistoryEntry["outcome"];
  duration_ms: number | null;
  host: string;
  os_user: string;
  pid: number;
  app_version: string | null;
  lockstep_version: string;
  details: string | null;
}
const fromHistoryRow = (r: HistoryRow): HistoryEntry => ({
  at: r.at,
  action: r.action,
  version: r.version,
  step: r.step,
  outcome: r.outcome,
  durationMs: r.duration_ms,
  host: r.host,
  user: r.os_user,
  pid: r.pid,
  appVersion: r.app_version,
  lockstepVersion: r.lockstep_version,
  details: r.details ? (JSON.parse(r.details) as Record<string, unknown>) : null,
});
