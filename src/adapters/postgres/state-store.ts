/**
 * lockstep's own tables on PostgreSQL: where they are, their creation (race-safe), the read
 * of the history, and the StateWriter that steps commit with. The state table holds one row
 * per id: `stamp`, and `floor` (the compatibility floor) once one is recorded; every reader
 * picks its row by id. readState's one statement is in state-read.ts.
 */
import type pg from "pg";
import type { HistoryEntry, StateWriter } from "../../core/adapter.js";
import { STORE_PARTS, type StorePart } from "../../core/adapter.js";
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
import { lockKey } from "./advisory-lock.js";
import { quoteIdent as q } from "./quote-ident.js";
import { fromHistoryRow, type HistoryRow } from "./rows.js";
import type { SqlParams } from "./sql-params.js";
import { isUndefinedTable } from "./undefined-table.js";

/** The ids of the state table's rows. */
export type StateRowId = "stamp" | "floor";

/** lockstep's tables in one schema of one PostgreSQL database. */
export class PostgresStateStore {
  /** The advisory lock key serialising the creation of lockstep's store. */
  readonly #storeKey: bigint;

  constructor(
    readonly schema: string,
    readonly tables: SqlTableNames,
  ) {
    this.#storeKey = lockKey(`lockstep:store:${schema}`);
  }

  /** `table` quoted and qualified with lockstep's schema. */
  ref(table: keyof SqlTableNames): string {
    return `${q(this.schema)}.${q(this.tables[table])}`;
  }

  /** Which of lockstep's tables exist. */
  async present(c: pg.ClientBase): Promise<Set<string>> {
    const { rows } = await c.query<{ relname: string }>(
      `select c.relname from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
       where n.nspname = $1 and c.relkind in ('r', 'p') and c.relname = any($2::text[])`,
      [this.schema, Object.values(this.tables)],
    );
    return new Set(rows.map((r) => r.relname));
  }

  /** The parts of lockstep's store whose tables are in `present` (table names, as {@link present} gives them). */
  parts(present: ReadonlySet<string>): Set<StorePart> {
    return new Set(STORE_PARTS.filter((part) => present.has(this.tables[part])));
  }

  /** True when every part of lockstep's store is in `present` (the instance registry is not a part). */
  isComplete(present: ReadonlySet<string>): boolean {
    return this.parts(present).size === STORE_PARTS.length;
  }

  /**
   * Takes the store's creation lock for the caller's transaction on `c` and creates the schema
   * when missing: the first thing each creation of lockstep's tables does.
   */
  async prepareCreate(c: pg.ClientBase): Promise<void> {
    // Serialises concurrent first runs (node-pg-migrate #821: the migrations table was
    // created outside the lock, and racing pods collided on pg_type's unique index).
    await c.query("select pg_advisory_xact_lock($1::bigint)", [this.#storeKey.toString()]);
    const { rowCount } = await c.query("select 1 from pg_catalog.pg_namespace where nspname = $1", [
      this.schema,
    ]);
    // Only when missing: CREATE SCHEMA checks the CREATE privilege even when the schema exists.
    if (rowCount === 0) await c.query(`create schema if not exists ${q(this.schema)}`);
  }

  /** Creates the schema and the missing tables, in the caller's transaction on `c`. */
  async create(c: pg.ClientBase): Promise<void> {
    await this.prepareCreate(c);
    await c.query(`
      create table if not exists ${this.ref("state")} (
        id text primary key, version text not null, updated_at timestamptz not null);
      create table if not exists ${this.ref("ledger")} (
        version text not null, name text not null, checksum text, kind text not null,
        applied_at timestamptz not null, duration_ms bigint, app_version text, counts jsonb,
        primary key (version, name));
      create table if not exists ${this.ref("history")} (
        id bigserial primary key, at timestamptz not null, action text not null, version text, step text,
        outcome text not null, duration_ms bigint, host text not null, os_user text not null,
        pid integer not null, app_version text, lockstep_version text not null, details jsonb);
      create table if not exists ${this.ref("lease")} (
        id integer primary key check (id = 1), owner text not null, host text not null,
        pid integer not null, os_user text not null, acquired_at timestamptz not null,
        expires_at timestamptz not null, session_pid integer);
      create table if not exists ${this.ref("markers")} (
        version text not null, name text not null, started_at timestamptz not null, owner text not null,
        host text not null, pid integer not null, checkpoint jsonb, primary key (version, name));
    `);
  }

  /**
   * A scalar subquery counting the tables, views and foreign tables that are not lockstep's
   * (the instance registry included), in lockstep's schema and in the
   * schemas of the connection's search_path (where a step's unqualified `create table` lands).
   * Other schemas are not looked at: the test server, like many shared servers, holds other
   * apps' schemas. Objects that belong to an extension (PostGIS's `spatial_ref_sys`) do not count.
   */
  userObjectsSql(p: SqlParams): string {
    const schema = p.add(this.schema);
    return `(select count(*) from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
       where c.relkind in ('r', 'p', 'v', 'm', 'f')
         and (n.nspname = ${schema} or n.nspname = any(current_schemas(false)))
         and not (n.nspname = ${schema} and c.relname = any(${p.add(Object.values(this.tables))}::text[]))
         and not exists (select 1 from pg_catalog.pg_depend d
                         where d.classid = 'pg_catalog.pg_class'::regclass and d.objid = c.oid and d.deptype = 'e'))`;
  }

  /** The last `limit` history entries (all without a limit), oldest first; none before the store exists. One statement. */
  async readHistory(c: pg.ClientBase, limit: number | undefined): Promise<HistoryEntry[]> {
    try {
      const { rows } = await c.query<HistoryRow>(
        `select * from (select * from ${this.ref("history")} order by id desc limit $1) h order by id`,
        [limit ?? null],
      );
      return rows.map(fromHistoryRow);
    } catch (error) {
      if (isUndefinedTable(error)) return [];
      throw error;
    }
  }

  /** The StateWriter of a step, writing through `c` (inside the step's transaction when it has one). */
  writer(c: pg.ClientBase): Required<StateWriter> {
    return {
      setStamp: (version) => this.#setStateRow(c, "stamp", version),
      setFloor: (version) => this.#setStateRow(c, "floor", version),
      putLedgerEntry: async (e) => {
        await c.query(
          `insert into ${this.ref("ledger")} (${LEDGER_COLUMNS}) values (${placeholders(8, true)}::jsonb)
           on conflict (version, name) do update set checksum = excluded.checksum, kind = excluded.kind,
             applied_at = excluded.applied_at, duration_ms = excluded.duration_ms,
             app_version = excluded.app_version, counts = excluded.counts`,
          ledgerValues(e),
        );
      },
      setMarker: async (m) => {
        await c.query(
          `insert into ${this.ref("markers")} (${MARKER_COLUMNS}) values (${placeholders(7, true)}::jsonb)
           on conflict (version, name) do update set started_at = excluded.started_at, owner = excluded.owner,
             host = excluded.host, pid = excluded.pid, checkpoint = excluded.checkpoint`,
          markerValues(m),
        );
      },
      deleteLedgerEntry: async (version, name) => {
        await c.query(`delete from ${this.ref("ledger")} where version = $1 and name = $2`, [version, name]);
      },
      clearMarker: async (version, name) => {
        await c.query(`delete from ${this.ref("markers")} where version = $1 and name = $2`, [version, name]);
      },
      appendHistory: async (h) => {
        await c.query(
          `insert into ${this.ref("history")} (${HISTORY_COLUMNS}) values (${placeholders(12, true)}::jsonb)`,
          historyValues(h),
        );
      },
    };
  }

  /** Upserts the state table's row `id` (the stamp or the floor). */
  async #setStateRow(c: pg.ClientBase, id: StateRowId, version: string): Promise<void> {
    await c.query(
      `insert into ${this.ref("state")} (id, version, updated_at) values ($1, $2, clock_timestamp())
       on conflict (id) do update set version = excluded.version, updated_at = excluded.updated_at`,
      [id, version],
    );
  }
}
