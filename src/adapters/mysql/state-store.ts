import type mysql from "mysql2/promise";
import type { HistoryEntry, InProgressMarker, LedgerEntry, StateWriter } from "../../core/adapter.js";
import { DatabaseError } from "../../core/errors.js";
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

/** A row as `mysql2` returns it. */
export type Row = mysql.RowDataPacket;

/** How long a first run waits for another process creating lockstep's tables (s). */
const STORE_LOCK_WAIT_S = 30;

/** Quotes an identifier. */
export function q(identifier: string): string {
  return `\`${identifier.replaceAll("`", "``")}\``;
}

/** A user table name, optionally qualified with its database (`app.users`). */
export function tableRef(name: string): string {
  const dot = name.indexOf(".");
  return dot < 0 ? q(name) : `${q(name.slice(0, dot))}.${q(name.slice(dot + 1))}`;
}

/** Which of lockstep's tables exist in the connection's database. */
export async function presentTables(c: mysql.Connection, tables: SqlTableNames): Promise<Set<string>> {
  const [rows] = await c.query<Row[]>(
    "select table_name as name from information_schema.tables where table_schema = database() and table_name in (?)",
    [Object.values(tables)],
  );
  return new Set(rows.map((r) => String(r.name)));
}

/**
 * Creates lockstep's missing tables under the server-wide `storeLock`. CREATE TABLE IF NOT
 * EXISTS is safe to race, but racing first runs still wait here rather than each issuing the
 * DDL (node-pg-migrate #821).
 */
export async function createStore(
  c: mysql.Connection,
  tables: SqlTableNames,
  storeLock: string,
  displayName: string,
): Promise<void> {
  const [got] = await c.query<Row[]>("select get_lock(?, ?) as ok", [storeLock, STORE_LOCK_WAIT_S]);
  if (got[0]?.ok !== 1) {
    throw new DatabaseError("E_DATABASE_UNREADABLE", `could not create lockstep's tables in ${displayName}`, {
      hint: `another process held the creation lock for ${STORE_LOCK_WAIT_S} s; run again`,
    });
  }
  try {
    await createTables(c, tables);
  } finally {
    await c.query("select release_lock(?)", [storeLock]);
  }
}

async function createTables(c: mysql.Connection, tables: SqlTableNames): Promise<void> {
  const opts = "engine=InnoDB default charset=utf8mb4";
  await c.query(
    `create table if not exists ${q(tables.state)} (
       id varchar(32) primary key, version varchar(255) not null, updated_at varchar(32) not null) ${opts}`,
  );
  await c.query(
    `create table if not exists ${q(tables.ledger)} (
       version varchar(191) not null, name varchar(191) not null, checksum varchar(128) null,
       kind varchar(16) not null, applied_at varchar(32) not null, duration_ms bigint null,
       app_version varchar(255) null, counts json null, primary key (version, name)) ${opts}`,
  );
  await c.query(
    `create table if not exists ${q(tables.history)} (
       id bigint not null auto_increment primary key, at varchar(32) not null, action varchar(32) not null,
       version varchar(255) null, step varchar(255) null, outcome varchar(16) not null,
       duration_ms bigint null, host varchar(255) not null, os_user varchar(255) not null, pid int not null,
       app_version varchar(255) null, lockstep_version varchar(64) not null, details json null) ${opts}`,
  );
  await c.query(
    `create table if not exists ${q(tables.lease)} (
       id int not null primary key check (id = 1), owner varchar(255) not null, host varchar(255) not null,
       pid int not null, os_user varchar(255) not null, acquired_at varchar(32) not null,
       expires_at varchar(32) not null, session_id bigint null) ${opts}`,
  );
  await c.query(
    `create table if not exists ${q(tables.markers)} (
       version varchar(191) not null, name varchar(191) not null, started_at varchar(32) not null,
       owner varchar(255) not null, host varchar(255) not null, pid int not null, checkpoint json null,
       primary key (version, name)) ${opts}`,
  );
}

/** The last `limit` history entries (all without one), oldest first. */
export async function readHistory(
  c: mysql.Connection,
  tables: SqlTableNames,
  limit: number | undefined,
): Promise<HistoryEntry[]> {
  if (!(await presentTables(c, tables)).has(tables.history)) return [];
  const clause = limit === undefined ? "" : ` limit ${Math.max(0, Math.floor(limit))}`;
  const [rows] = await c.query<Row[]>(
    `select * from (select * from ${q(tables.history)} order by id desc${clause}) h order by id`,
  );
  return rows.map(fromHistoryRow);
}

/** The writes of one `write()` call, on its connection. */
export function stateWriter(c: mysql.Connection, tables: SqlTableNames): Required<StateWriter> {
  return {
    setStamp: (version) => setStateRow(c, tables, "stamp", version),
    setFloor: (version) => setStateRow(c, tables, "floor", version),
    putLedgerEntry: async (e) => {
      await c.query(
        `replace into ${q(tables.ledger)} (${LEDGER_COLUMNS}) values (${placeholders(8)})`,
        ledgerValues(e),
      );
    },
    setMarker: async (m) => {
      await c.query(
        `replace into ${q(tables.markers)} (${MARKER_COLUMNS}) values (${placeholders(7)})`,
        markerValues(m),
      );
    },
    deleteLedgerEntry: async (version, name) => {
      await c.query(`delete from ${q(tables.ledger)} where version = ? and name = ?`, [version, name]);
    },
    clearMarker: async (version, name) => {
      await c.query(`delete from ${q(tables.markers)} where version = ? and name = ?`, [version, name]);
    },
    appendHistory: async (h) => {
      await c.query(
        `insert into ${q(tables.history)} (${HISTORY_COLUMNS}) values (${placeholders(12)})`,
        historyValues(h),
      );
    },
  };
}

/** Upserts the state table's row `id` (`stamp`, or `floor` beside it). */
async function setStateRow(
  c: mysql.Connection,
  tables: SqlTableNames,
  id: "stamp" | "floor",
  version: string,
): Promise<void> {
  await c.query(
    `insert into ${q(tables.state)} (id, version, updated_at) values (?, ?, ?)
     on duplicate key update version = values(version), updated_at = values(updated_at)`,
    [id, version, new Date().toISOString()],
  );
}

/** JSON columns: MySQL 8 returns them parsed, MariaDB (JSON = LONGTEXT) as text. */
function json<T>(value: unknown): T | null {
  if (value === null || value === undefined) return null;
  return (typeof value === "string" ? JSON.parse(value) : value) as T;
}

function num(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

export const fromLedgerRow = (r: Row): LedgerEntry => ({
  version: String(r.version),
  name: String(r.name),
  checksum: r.checksum ?? null,
  kind: r.kind as LedgerEntry["kind"],
  appliedAt: String(r.applied_at),
  durationMs: num(r.duration_ms),
  appVersion: r.app_version ?? null,
  counts: json<Record<string, number>>(r.counts),
});

export const fromMarkerRow = (r: Row): InProgressMarker => ({
  version: String(r.version),
  name: String(r.name),
  startedAt: String(r.started_at),
  owner: String(r.owner),
  host: String(r.host),
  pid: Number(r.pid),
  checkpoint: json<unknown>(r.checkpoint),
});

const fromHistoryRow = (r: Row): HistoryEntry => ({
  at: String(r.at),
  action: r.action as HistoryEntry["action"],
  version: r.version ?? null,
  step: r.step ?? null,
  outcome: r.outcome as HistoryEntry["outcome"],
  durationMs: num(r.duration_ms),
  host: String(r.host),
  user: String(r.os_user),
  pid: Number(r.pid),
  appVersion: r.app_version ?? null,
  lockstepVersion: String(r.lockstep_version),
  details: json<Record<string, unknown>>(r.details),
});
