/**
 * The instance registry on PostgreSQL: the table `lockstep_instances` beside lockstep's other
 * tables, created on the first registration. Every time the registry judges by (last seen,
 * expiry, age) is the server's clock, so replicas with skewed clocks agree.
 */
import type pg from "pg";
import type { InstanceInfo, InstanceRecord } from "../../core/adapter.js";
import { DatabaseError } from "../../core/errors.js";
import { fromInstanceRow, type InstanceRow } from "./rows.js";
import type { PostgresStateStore } from "./state-store.js";
import { isUndefinedTable } from "./undefined-table.js";

/**
 * insufficient_privilege (a user without INSERT/CREATE) and read_only_sql_transaction (a hot
 * standby, `default_transaction_read_only`): the registry cannot be written here.
 */
const READ_ONLY_CODES = new Set(["42501", "25006"]);

/** The registry's statements; the adapter picks the connection each runs on. */
export class PostgresInstanceRegistry {
  constructor(
    readonly store: PostgresStateStore,
    readonly displayName: string,
  ) {}

  /**
   * Runs a write to the registry: a server or user that may not write becomes
   * E_DATABASE_READONLY (the guard warns and serves on); other errors pass through.
   */
  async write<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      if (!READ_ONLY_CODES.has(String((error as { code?: unknown }).code))) throw error;
      throw new DatabaseError(
        "E_DATABASE_READONLY",
        `cannot record this instance in ${this.displayName}: ${(error as Error).message}`,
        {
          cause: error,
          hint: "grant the user INSERT, UPDATE, DELETE on lockstep_instances (and CREATE on its schema, once), or connect to the primary rather than a standby",
        },
      );
    }
  }

  /**
   * One upsert on `id`: a new instance, or the keep-alive of a known one (its last sighting
   * and expiry move, `started_at` stays). Fails with 42P01 when the registry does not exist.
   */
  async register(c: pg.ClientBase, instance: InstanceRecord, ttlMs: number): Promise<void> {
    await c.query(
      `insert into ${this.store.ref("instances")} (id, app_version, host, pid, owner, started_at, last_seen, expires_at)
       values ($1, $2, $3, $4, $5, $6, clock_timestamp(), clock_timestamp() + $7 * interval '1 millisecond')
       on conflict (id) do update set app_version = excluded.app_version, host = excluded.host,
         pid = excluded.pid, owner = excluded.owner, last_seen = excluded.last_seen,
         expires_at = excluded.expires_at`,
      [
        instance.id,
        instance.appVersion,
        instance.host,
        instance.pid,
        instance.owner,
        instance.startedAt,
        ttlMs,
      ],
    );
  }

  /** Creates the registry (and lockstep's schema) when missing, in the caller's transaction on `c`. */
  async create(c: pg.ClientBase): Promise<void> {
    await this.store.prepareCreate(c);
    await c.query(`
      create table if not exists ${this.store.ref("instances")} (
        id text primary key, app_version text not null, host text not null, pid integer not null,
        owner text not null, started_at timestamptz not null, last_seen timestamptz not null,
        expires_at timestamptz not null)`);
  }

  /** Every instance, expired ones included, judged by one reading of the server's clock; [] without the registry. */
  async list(c: pg.ClientBase): Promise<InstanceInfo[]> {
    try {
      const { rows } = await c.query<InstanceRow>(
        `select i.id, i.app_version, i.host, i.pid, i.owner, i.started_at, i.last_seen,
                (extract(epoch from t.now - i.last_seen) * 1000)::float8 as age_ms, i.expires_at <= t.now as expired
         from ${this.store.ref("instances")} i cross join (select clock_timestamp() as now) t
         order by i.started_at, i.id`,
      );
      return rows.map(fromInstanceRow);
    } catch (error) {
      if (isUndefinedTable(error)) return [];
      throw error;
    }
  }

  /** Deletes instance `id`; nothing when it (or the registry) does not exist. */
  async remove(c: pg.ClientBase, id: string): Promise<void> {
    try {
      await this.write(() => c.query(`delete from ${this.store.ref("instances")} where id = $1`, [id]));
    } catch (error) {
      if (!isUndefinedTable(error)) throw error;
    }
  }
}
