import type BetterSqlite3 from "better-sqlite3";
import type {
  DatabaseState,
  HistoryEntry,
  InProgressMarker,
  LedgerEntry,
  StateWriter,
} from "../../core/adapter.js";
import { STORE_PARTS } from "../../core/adapter.js";
import { parseStamp, type ReadStateOptions } from "../../core/stamp.js";
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

/** The stamp, ledger and in-progress markers (the caller holds the read transaction). */
export function readStore(db: Db, t: SqlTableNames, options: ReadStateOptions): Omit<DatabaseState, "lease"> {
  const hasLedger = tableExists(db, t.ledger);
  const stampRow = tableExists(db, t.state)
    ? (db.prepare(`select version from ${q(t.state)} where id = 'stamp'`).get() as
        | { version: string }
        | undefined)
    : undefined;
  const ledger = hasLedger
    ? (
        db.prepare(`select * from ${q(t.ledger)} order by applied_at, version, name`).all() as LedgerRow[]
      ).map(fromLedgerRow)
    : [];
  const interrupted = tableExists(db, t.markers)
    ? (db.prepare(`select * from ${q(t.markers)} order by started_at`).all() as MarkerRow[]).map(
        fromMarkerRow,
      )
    : [];
  const missingStore = STORE_PARTS.filter((part) => !tableExists(db, t[part]));
  const stamp = parseStamp(stampRow?.version, `${t.state}.version`, options);
  const userObjects = countUserObjects(db, t);
  return { stamp, hasLedger, missingStore, userObjects, ledger, interrupted };
}

/** Tables and views that are neither SQLite's own (`sqlite_%`) nor lockstep's. */
export function countUserObjects(db: Db, t: SqlTableNames): number {
  const ours = Object.values(t);
  const row = db
    .prepare(
      `select count(*) as n from sqlite_master where type in ('table', 'view') and substr(name, 1, 7) <> 'sqlite_'
       and name not in (${placeholders(ours.length)})`,
    )
    .get(...ours) as { n: number };
  return row.n;
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
export function stateWriter(db: Db, t: SqlTableNames): StateWriter {
  return {
    setStamp: async (version) => {
      db.prepare(
        `insert into ${q(t.state)} (id, version, updated_at) values ('stamp', ?, ?)
         on conflict (id) do update set version = excluded.version, updated_at = excluded.updated_at`,
      ).run(version, new Date().toISOString());
    },
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

interface LedgerRow {
  version: string;
  name: string;
  checksum: string | null;
  kind: LedgerEntry["kind"];
  applied_at: string;
  duration_ms: number | null;
  app_version: string | null;
  counts: string | null;
}
const fromLedgerRow = (r: LedgerRow): LedgerEntry => ({
  version: r.version,
  name: r.name,
  checksum: r.checksum,
  kind: r.kind,
  appliedAt: r.applied_at,
  durationMs: r.duration_ms,
  appVersion: r.app_version,
  counts: r.counts ? (JSON.parse(r.counts) as Record<string, number>) : null,
});

interface MarkerRow {
  version: string;
  name: string;
  started_at: string;
  owner: string;
  host: string;
  pid: number;
  checkpoint: string | null;
}
const fromMarkerRow = (r: MarkerRow): InProgressMarker => ({
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
