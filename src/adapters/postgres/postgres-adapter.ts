import { createHash } from "node:crypto";
import type pg from "pg";
import type {
  Adapter,
  AdapterCapabilities,
  BatchChange,
  BatchPage,
  BatchSource,
  CountQuery,
  DatabaseDescription,
  DatabaseState,
  HistoryEntry,
  InProgressMarker,
  LeaseAttempt,
  LeaseHandle,
  LeaseInfo,
  LeaseRequest,
  LedgerEntry,
  OpenOptions,
  StateWriter,
  WriteOptions,
} from "../../core/adapter.js";
import { groupByColumns, sourceTable } from "../../core/batch.js";
import { DatabaseError, LeaseError, LockstepError } from "../../core/errors.js";
import { HeartbeatLease } from "../heartbeat-lease.js";
import { loadDriver } from "../load-driver.js";
import { countSql, HISTORY_COLUMNS, historyValues } from "../sql-shared.js";
import { badUrl, redactUrl, scrub, scrubError, secretsOf, takeLockstepParams } from "../url.js";

/** The handle steps receive on PostgreSQL: a `pg` client (inside a step, the step's transaction). */
export type PgClient = pg.ClientBase;

/** The names of lockstep's tables in their PostgreSQL schema. */
export interface PostgresTableNames {
  readonly state: string;
  readonly ledger: string;
  readonly history: string;
  readonly lease: string;
  readonly markers: string;
}

/** Default table names: the same as SQLite's. */
export const DEFAULT_POSTGRES_TABLES: PostgresTableNames = {
  state: "lockstep_state",
  ledger: "lockstep_ledger",
  history: "lockstep_history",
  lease: "lockstep_lease",
  markers: "lockstep_markers",
};

/**
 * How the lease is held. `session`: a session advisory lock on a dedicated connection (the
 * default; released by the server when that connection dies). `table`: a lease row with an
 * expiry judged by the server's clock, for PgBouncer transaction pooling and serverless
 * PostgreSQL, where session advisory locks leak (authentik #23876, rails #31190).
 */
export type PostgresLeaseMode = "session" | "table";

/** Options of {@link PostgresAdapter}. */
export interface PostgresAdapterOptions {
  /** A `postgres://` connection string, as `pg` takes it. */
  readonly connectionString: string;
  /** The schema holding lockstep's tables. Default "public". */
  readonly schema?: string;
  readonly tables?: Partial<PostgresTableNames>;
  /** Default "session". */
  readonly lease?: PostgresLeaseMode;
  /** Connections for step transactions. Default 4. */
  readonly poolSize?: number;
  /** How long a connection attempt may take (ms). Default 10000. */
  readonly connectTimeoutMs?: number;
}

const SESSION_CAPABILITIES: AdapterCapabilities = {
  supportsTransactionalSteps: true,
  supportsTransactionalDdl: true,
  leaseMode: "session-lock",
};

const TABLE_CAPABILITIES: AdapterCapabilities = {
  supportsTransactionalSteps: true,
  supportsTransactionalDdl: true,
  leaseMode: "lease-row",
};

/** How long one attempt on the lease row waits for a row lock held by the holder's open step (ms). */
const POSTGRES_URL_HINT =
  "use postgres://user@host:5432/db, optionally with ?schema=name and lease=session|table";

const LEASE_ROW_LOCK_TIMEOUT_MS = 500;

type Pg = typeof pg;

/**
 * PostgreSQL through `pg`. Every step runs in one transaction on one dedicated connection,
 * with its ledger entry and stamp (PostgreSQL DDL is transactional), so a crash rolls it
 * back whole. The lease is a session advisory lock (result checked) or, with
 * `lease: "table"`, a lease row taken by one atomic upsert with a server-clock expiry.
 */
export class PostgresAdapter implements Adapter<PgClient> {
  readonly kind = "postgres";
  readonly capabilities: AdapterCapabilities;
  readonly displayName: string;
  readonly schema: string;
  readonly tables: PostgresTableNames;
  readonly leaseMode: PostgresLeaseMode;
  readonly #connectionString: string;
  readonly #secrets: readonly string[];
  readonly #poolSize: number;
  readonly #connectTimeoutMs: number;
  /** The advisory lock key of the lease (session mode). */
  readonly #leaseKey: bigint;
  /** The advisory lock key serialising the creation of lockstep's store. */
  readonly #storeKey: bigint;
  #driver: Pg | undefined;
  #main: pg.Client | undefined;
  #pool: pg.Pool | undefined;
  /** An idle lease connection kept between two attempts, so a waiter does not reconnect each poll. */
  #spare: pg.Client | undefined;
  readonly #leases = new Set<PostgresSessionLease | PostgresLeaseRow>();
  /** Column name -> SQL type (`format_type`) per user table, looked up once for `writePage`. */
  readonly #columnTypes = new Map<string, Map<string, ColumnType>>();

  /**
   * `postgres://user:password@host:5432/db?schema=app&lease=table`: `schema` and `lease`
   * are lockstep's and are removed before the URL reaches `pg`.
   */
  static fromUrl(
    url: string,
    options: Omit<PostgresAdapterOptions, "connectionString" | "schema" | "lease"> = {},
  ): PostgresAdapter {
    const { rest, params } = takeLockstepParams(url, ["schema", "lease"]);
    const schema = params.get("schema");
    const lease = params.get("lease");
    if (schema === "") throw badUrl(url, "`schema=` needs a schema name", POSTGRES_URL_HINT);
    if (lease !== undefined && lease !== "session" && lease !== "table") {
      throw badUrl(
        url,
        `\`lease=${lease}\` is not a lease mode (use lease=session or lease=table)`,
        POSTGRES_URL_HINT,
      );
    }
    return new PostgresAdapter({
      ...options,
      connectionString: rest,
      ...(schema !== undefined && { schema }),
      ...(lease !== undefined && { lease }),
    });
  }

  constructor(options: PostgresAdapterOptions) {
    this.#connectionString = options.connectionString;
    this.#secrets = secretsOf(options.connectionString);
    this.schema = options.schema ?? "public";
    this.tables = { ...DEFAULT_POSTGRES_TABLES, ...options.tables };
    this.leaseMode = options.lease ?? "session";
    this.capabilities = this.leaseMode === "table" ? TABLE_CAPABILITIES : SESSION_CAPABILITIES;
    this.#poolSize = options.poolSize ?? 4;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    const extra = [
      ...(this.schema !== "public" ? [`schema=${encodeURIComponent(this.schema)}`] : []),
      ...(this.leaseMode === "table" ? ["lease=table"] : []),
    ];
    const base = redactUrl(options.connectionString);
    this.displayName =
      extra.length === 0 ? base : `${base}${base.includes("?") ? "&" : "?"}${extra.join("&")}`;
    this.#leaseKey = lockKey(`lockstep:lease:${this.schema}.${this.tables.lease}`);
    this.#storeKey = lockKey(`lockstep:store:${this.schema}`);
  }

  get #conn(): pg.Client {
    if (!this.#main) throw new LockstepError("E_UNSUPPORTED", "the PostgreSQL adapter is not open");
    return this.#main;
  }

  get #connections(): pg.Pool {
    if (!this.#pool) throw new LockstepError("E_UNSUPPORTED", "the PostgreSQL adapter is not open");
    return this.#pool;
  }

  #config(): pg.ClientConfig {
    return {
      connectionString: this.#connectionString,
      connectionTimeoutMillis: this.#connectTimeoutMs,
      keepAlive: true,
    };
  }

  /** `table` quoted and qualified with lockstep's schema. */
  #t(table: keyof PostgresTableNames): string {
    return `${q(this.schema)}.${q(this.tables[table])}`;
  }

  async open(_options: OpenOptions): Promise<void> {
    if (this.#main) return;
    const driver = await loadDriver<Pg>("pg", "PostgreSQL");
    this.#driver = driver;
    const main = await this.#connect();
    const pool = new driver.Pool({ ...this.#config(), max: this.#poolSize });
    // An idle pooled connection that drops emits here; the next checkout reconnects.
    pool.on("error", () => undefined);
    this.#main = main;
    this.#pool = pool;
  }

  /** A new connected client; connection failures become DatabaseErrors without credentials. */
  async #connect(): Promise<pg.Client> {
    const driver = this.#driver;
    if (!driver) throw new LockstepError("E_UNSUPPORTED", "the PostgreSQL adapter is not open");
    const client = new driver.Client(this.#config());
    // Errors of a live connection surface on its next query; without a listener they would crash.
    client.on("error", () => undefined);
    try {
      await client.connect();
      return client;
    } catch (error) {
      await client.end().catch(() => undefined);
      throw this.#connectError(error);
    }
  }

  #connectError(error: unknown): DatabaseError {
    const code = (error as { code?: string }).code ?? "";
    const detail = scrub(error instanceof Error ? error.message : String(error), this.#secrets);
    if (code === "3D000") {
      return new DatabaseError("E_DATABASE_NOT_FOUND", `the database in ${this.displayName} does not exist`, {
        cause: scrubError(error, this.#secrets),
        hint: `create it first (createdb, or CREATE DATABASE) or fix the database name in the URL (${detail})`,
      });
    }
    const auth = code === "28P01" || code === "28000";
    return new DatabaseError(
      "E_DATABASE_UNREACHABLE",
      `cannot connect to PostgreSQL at ${this.displayName}`,
      {
        cause: scrubError(error, this.#secrets),
        hint: auth
          ? `check the user name and password in the URL and the server's pg_hba.conf (${detail})`
          : `check that the server is running and that the host and port in the URL are right and reachable from here (${detail})`,
      },
    );
  }

  /**
   * Closes every connection. A lease still held is abandoned, not released: its heartbeat
   * stops, a session lock goes with its connection, a lease row stays until it expires.
   */
  async close(): Promise<void> {
    for (const lease of [...this.#leases]) await lease.abandon();
    const spare = this.#spare;
    const main = this.#main;
    const pool = this.#pool;
    this.#spare = undefined;
    this.#main = undefined;
    this.#pool = undefined;
    await spare?.end().catch(() => undefined);
    await main?.end().catch(() => undefined);
    await pool?.end().catch(() => undefined);
  }

  handle(): PgClient {
    return this.#conn;
  }

  async describe(): Promise<DatabaseDescription> {
    const { rows } = await this.#conn.query<{ v: string }>("select current_setting('server_version') as v");
    const version = rows[0]?.v.split(" ")[0] ?? "unknown";
    return {
      target: this.displayName,
      server: `PostgreSQL ${version}`,
      capabilities: this.capabilities,
      guarantees: [
        "each step commits atomically with its ledger entry and stamp (schema changes included)",
        "a crash mid-step rolls the step back whole",
        "a step with `transaction: false` (CREATE INDEX CONCURRENTLY, ALTER TYPE ... ADD VALUE) runs outside a transaction behind an in-progress marker: a crash leaves it INTERRUPTED",
        this.leaseMode === "table"
          ? "one upgrader at a time: a lease row taken atomically, expiry judged by the server's clock, renewed by a heartbeat (safe behind PgBouncer transaction pooling)"
          : "one upgrader at a time: a session advisory lock on a dedicated connection, released by the server if that connection dies (not for PgBouncer transaction pooling: use lease=table)",
      ],
    };
  }

  /** Which of lockstep's tables exist. */
  async #presentTables(c: PgClient): Promise<Set<string>> {
    const { rows } = await c.query<{ relname: string }>(
      `select c.relname from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
       where n.nspname = $1 and c.relkind in ('r', 'p') and c.relname = any($2::text[])`,
      [this.schema, Object.values(this.tables)],
    );
    return new Set(rows.map((r) => r.relname));
  }

  async ensureStore(): Promise<void> {
    const t = this.tables;
    if ((await this.#presentTables(this.#conn)).size === Object.keys(t).length) return;
    await this.#inTransaction(async (c) => {
      // Serialises concurrent first runs (node-pg-migrate #821: the migrations table was
      // created outside the lock, and racing pods collided on pg_type's unique index).
      await c.query("select pg_advisory_xact_lock($1::bigint)", [this.#storeKey.toString()]);
      const { rowCount } = await c.query("select 1 from pg_catalog.pg_namespace where nspname = $1", [
        this.schema,
      ]);
      // Only when missing: CREATE SCHEMA checks the CREATE privilege even when the schema exists.
      if (rowCount === 0) await c.query(`create schema if not exists ${q(this.schema)}`);
      await c.query(`
        create table if not exists ${this.#t("state")} (
          id text primary key, version text not null, updated_at timestamptz not null);
        create table if not exists ${this.#t("ledger")} (
          version text not null, name text not null, checksum text, kind text not null,
          applied_at timestamptz not null, duration_ms bigint, app_version text, counts jsonb,
          primary key (version, name));
        create table if not exists ${this.#t("history")} (
          id bigserial primary key, at timestamptz not null, action text not null, version text, step text,
          outcome text not null, duration_ms bigint, host text not null, os_user text not null,
          pid integer not null, app_version text, lockstep_version text not null, details jsonb);
        create table if not exists ${this.#t("lease")} (
          id integer primary key check (id = 1), owner text not null, host text not null,
          pid integer not null, os_user text not null, acquired_at timestamptz not null,
          expires_at timestamptz not null, session_pid integer);
        create table if not exists ${this.#t("markers")} (
          version text not null, name text not null, started_at timestamptz not null, owner text not null,
          host text not null, pid integer not null, checkpoint jsonb, primary key (version, name));
      `);
    });
  }

  /** Runs `fn` in a transaction on one pooled connection. */
  async #inTransaction<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.#checkout();
    let broken = false;
    try {
      await client.query("begin");
      const result = await fn(client);
      await client.query("commit");
      return result;
    } catch (error) {
      await client.query("rollback").catch(() => {
        broken = true;
      });
      throw error;
    } finally {
      client.release(broken);
    }
  }

  async #checkout(): Promise<pg.PoolClient> {
    try {
      return await this.#connections.connect();
    } catch (error) {
      throw this.#connectError(error);
    }
  }

  async readState(): Promise<DatabaseState> {
    const c = this.#conn;
    // One snapshot, so the parts agree with each other.
    await c.query("begin isolation level repeatable read read only");
    try {
      const present = await this.#presentTables(c);
      const hasLedger = present.has(this.tables.ledger);
      const stamp = present.has(this.tables.state)
        ? ((await c.query<{ version: string }>(`select version from ${this.#t("state")} where id = 'stamp'`))
            .rows[0]?.version ?? null)
        : null;
      const ledger = hasLedger
        ? (
            await c.query<LedgerRow>(`select * from ${this.#t("ledger")} order by applied_at, version, name`)
          ).rows.map(fromLedgerRow)
        : [];
      const interrupted = present.has(this.tables.markers)
        ? (await c.query<MarkerRow>(`select * from ${this.#t("markers")} order by started_at`)).rows.map(
            fromMarkerRow,
          )
        : [];
      const lease = await this.#readLease(c, present.has(this.tables.lease));
      await c.query("commit");
      return { stamp, hasLedger, ledger, interrupted, lease };
    } catch (error) {
      await c.query("rollback").catch(() => undefined);
      throw error;
    }
  }

  /** The lease as it is now: the lease row (table mode), or the advisory lock's holder (session mode). */
  async #readLease(c: PgClient, tableExists: boolean): Promise<LeaseInfo | null> {
    if (this.leaseMode === "table") {
      if (!tableExists) return null;
      const { rows } = await c.query<LeaseRow>(
        `select *, expires_at < clock_timestamp() as expired from ${this.#t("lease")} where id = 1`,
      );
      return rows[0] ? fromLeaseRow(rows[0]) : null;
    }
    const holder = await this.#lockHolder(c);
    if (!holder) return null;
    const row = tableExists
      ? (await c.query<LeaseRow>(`select *, false as expired from ${this.#t("lease")} where id = 1`)).rows[0]
      : undefined;
    // The lease row tells who holds the lock once the holder has written it; until then
    // (a few milliseconds after taking the lock) pg_stat_activity says what it can.
    if (row && row.session_pid === holder.pid) return fromLeaseRow(row);
    return {
      owner: `postgres backend ${holder.pid}`,
      host: holder.client_addr ?? "unknown",
      pid: Number(/ pid (\d+)/.exec(holder.application_name ?? "")?.[1] ?? 0),
      user: holder.usename ?? "unknown",
      acquiredAt: iso(holder.backend_start ?? holder.now),
      expiresAt: iso(holder.now),
      expired: false,
    };
  }

  /** The backend holding the lease's advisory lock, if any. */
  async #lockHolder(c: PgClient): Promise<LockHolderRow | null> {
    const [classid, objid] = lockIds(this.#leaseKey);
    const { rows } = await c.query<LockHolderRow>(
      `select l.pid, a.application_name, a.usename, host(a.client_addr) as client_addr, a.backend_start,
              clock_timestamp() as now
       from pg_catalog.pg_locks l left join pg_catalog.pg_stat_activity a on a.pid = l.pid
       where l.locktype = 'advisory' and l.granted and l.objsubid = 1 and l.classid = $1 and l.objid = $2
         and l.database = (select oid from pg_catalog.pg_database where datname = current_database())`,
      [classid, objid],
    );
    return rows[0] ?? null;
  }

  async readHistory(options: { limit?: number } = {}): Promise<HistoryEntry[]> {
    const c = this.#conn;
    if (!(await this.#presentTables(c)).has(this.tables.history)) return [];
    const { rows } = await c.query<HistoryRow>(
      `select * from (select * from ${this.#t("history")} order by id desc limit $1) h order by id`,
      [options.limit ?? null],
    );
    return rows.map(fromHistoryRow);
  }

  async tryAcquireLease(request: LeaseRequest): Promise<LeaseAttempt> {
    await this.ensureStore();
    return this.leaseMode === "table" ? this.#acquireLeaseRow(request) : this.#acquireSessionLock(request);
  }

  async #acquireSessionLock(request: LeaseRequest): Promise<LeaseAttempt> {
    const spare = this.#spare;
    this.#spare = undefined;
    const client = spare ?? (await this.#connect());
    try {
      // Names the holder in pg_stat_activity for anyone looking at the server.
      await client.query("select set_config('application_name', $1, false)", [
        `lockstep pid ${request.pid} on ${request.host}`.slice(0, 63),
      ]);
      const { rows } = await client.query<{ ok: boolean; pid: number }>(
        "select pg_try_advisory_lock($1::bigint) as ok, pg_backend_pid() as pid",
        [this.#leaseKey.toString()],
      );
      const row = rows[0];
      if (row?.ok !== true) {
        this.#spare = client;
        return { heldBy: await this.#readLease(this.#conn, true).catch(() => null) };
      }
      await client.query(
        `insert into ${this.#t("lease")} (id, owner, host, pid, os_user, acquired_at, expires_at, session_pid)
         values (1, $1, $2, $3, $4, clock_timestamp(), clock_timestamp() + $5 * interval '1 millisecond', pg_backend_pid())
         on conflict (id) do update set owner = excluded.owner, host = excluded.host, pid = excluded.pid,
           os_user = excluded.os_user, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at,
           session_pid = excluded.session_pid`,
        [request.owner, request.host, request.pid, request.user, request.ttlMs],
      );
      const lease = new PostgresSessionLease(this, client, row.pid, request);
      this.#leases.add(lease);
      return { lease };
    } catch (error) {
      await client.end().catch(() => undefined);
      // A spare connection may have died while idle: one fresh connection decides.
      if (spare) return this.#acquireSessionLock(request);
      throw error;
    }
  }

  async #acquireLeaseRow(request: LeaseRequest): Promise<LeaseAttempt> {
    const L = this.#t("lease");
    try {
      const taken = await this.#inTransaction(async (c) => {
        // The holder's open step transaction locks the row; one attempt does not wait it out.
        await c.query(`set local lock_timeout = ${LEASE_ROW_LOCK_TIMEOUT_MS}`);
        const result = await c.query(
          `insert into ${L} (id, owner, host, pid, os_user, acquired_at, expires_at, session_pid)
           values (1, $1, $2, $3, $4, clock_timestamp(), clock_timestamp() + $5 * interval '1 millisecond', null)
           on conflict (id) do update set owner = excluded.owner, host = excluded.host, pid = excluded.pid,
             os_user = excluded.os_user, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
           where ${L}.expires_at < clock_timestamp() or ${L}.owner = excluded.owner`,
          [request.owner, request.host, request.pid, request.user, request.ttlMs],
        );
        return result.rowCount === 1;
      });
      if (taken) {
        const lease = new PostgresLeaseRow(this, request);
        this.#leases.add(lease);
        return { lease };
      }
    } catch (error) {
      if ((error as { code?: string }).code !== "55P03") throw error;
    }
    return { heldBy: await this.#readLease(this.#conn, true).catch(() => null) };
  }

  /** Renews our lease row; false when another owner has it now, undefined when busy. Used by the heartbeat. */
  async renewLeaseRow(owner: string, ttlMs: number): Promise<boolean | undefined> {
    try {
      return await this.#inTransaction(async (c) => {
        // Waits out a waiter's attempt (it locks the row for a moment), but not our own open
        // step transaction, which renews the row itself before it commits.
        await c.query(`set local lock_timeout = ${LEASE_ROW_LOCK_TIMEOUT_MS}`);
        const { rowCount } = await c.query(
          `update ${this.#t("lease")} set expires_at = clock_timestamp() + $2 * interval '1 millisecond'
           where id = 1 and owner = $1`,
          [owner, ttlMs],
        );
        return rowCount === 1;
      });
    } catch {
      return undefined;
    }
  }

  /** Removes the lease row if `owner` holds it. */
  async releaseLeaseRow(c: PgClient | null, owner: string): Promise<void> {
    await (c ?? this.#connections).query(`delete from ${this.#t("lease")} where id = 1 and owner = $1`, [
      owner,
    ]);
  }

  /** Unlocks the advisory lock held by `client` (session mode). */
  async releaseSessionLock(client: pg.Client): Promise<void> {
    await client.query("select pg_advisory_unlock($1::bigint)", [this.#leaseKey.toString()]);
  }

  /** Stops tracking a lease that was released or abandoned. */
  forget(lease: PostgresSessionLease | PostgresLeaseRow): void {
    this.#leases.delete(lease);
  }

  async breakLease(options: { owner?: string }): Promise<LeaseInfo | null> {
    const c = this.#conn;
    const exists = (await this.#presentTables(c)).has(this.tables.lease);
    if (!exists) return null;
    if (this.leaseMode === "table") {
      const { rows } = await c.query<LeaseRow>(
        `delete from ${this.#t("lease")} where id = 1 and ($1::text is null or owner = $1)
         returning *, expires_at < clock_timestamp() as expired`,
        [options.owner ?? null],
      );
      return rows[0] ? fromLeaseRow(rows[0]) : null;
    }
    const holder = await this.#lockHolder(c);
    const current = holder ? await this.#readLease(c, true) : null;
    if (!holder || !current) {
      // The lock is free: a row left by a killed holder is stale and goes.
      await c.query(`delete from ${this.#t("lease")} where id = 1 and ($1::text is null or owner = $1)`, [
        options.owner ?? null,
      ]);
      return null;
    }
    if (options.owner !== undefined && current.owner !== options.owner) return null;
    // The server releases a session lock only with its session.
    await c.query("select pg_terminate_backend($1)", [holder.pid]);
    for (let i = 0; i < 50 && (await this.#lockHolder(c))?.pid === holder.pid; i++) await sleep(100);
    await c.query(`delete from ${this.#t("lease")} where id = 1 and owner = $1`, [current.owner]);
    return current;
  }

  async write<T>(
    lease: LeaseHandle | null,
    fn: (writer: StateWriter, db: PgClient) => Promise<T>,
    options: WriteOptions = {},
  ): Promise<T> {
    const transactional = options.transactional ?? true;
    const client = await this.#checkout();
    let broken = false;
    try {
      if (!transactional) {
        if (lease) await this.#assertLease(client, lease);
        return await fn(this.#writer(client), client);
      }
      await client.query(options.durable === false ? "begin; set local synchronous_commit = off" : "begin");
      try {
        if (lease) await this.#assertLease(client, lease);
        const result = await fn(this.#writer(client), client);
        if (options.rollback) {
          await client.query("rollback");
        } else {
          // The row stayed locked by this transaction, so the heartbeat could not renew it.
          if (lease instanceof PostgresLeaseRow) await this.#renewInTransaction(client, lease);
          await client.query("commit");
        }
        return result;
      } catch (error) {
        await client.query("rollback").catch(() => {
          broken = true;
        });
        throw error;
      }
    } finally {
      client.release(broken);
    }
  }

  /** Fails with E_LEASE_LOST unless `lease` still holds the lease; in table mode also locks and renews the row. */
  async #assertLease(c: PgClient, lease: LeaseHandle): Promise<void> {
    let ours = !lease.lost;
    if (ours && lease instanceof PostgresLeaseRow) {
      // Locks the row until this transaction ends: nobody takes the lease over mid-step.
      const { rowCount } = await c.query(
        `update ${this.#t("lease")} set expires_at = greatest(expires_at, clock_timestamp() + $2 * interval '1 millisecond')
         where id = 1 and owner = $1`,
        [lease.owner, lease.ttlMs],
      );
      ours = rowCount === 1;
    } else if (ours && lease instanceof PostgresSessionLease) {
      // pg_locks alone: this runs before every write (each batch page), and the join with
      // pg_stat_activity that #lockHolder needs to name a holder cost ~1 ms each time.
      const [classid, objid] = lockIds(this.#leaseKey);
      const { rowCount } = await c.query(
        `select 1 from pg_catalog.pg_locks
         where locktype = 'advisory' and granted and objsubid = 1 and classid = $1 and objid = $2 and pid = $3
           and database = (select oid from pg_catalog.pg_database where datname = current_database())`,
        [classid, objid, lease.backendPid],
      );
      ours = rowCount === 1;
    }
    if (ours) return;
    (lease as PostgresLeaseRow | PostgresSessionLease).markLost();
    const holder = await this.#readLease(c, true).catch(() => null);
    throw new LeaseError(
      "E_LEASE_LOST",
      `the lease on ${this.displayName} was lost${holder ? `, now held by ${holder.owner} (pid ${holder.pid} on ${holder.host})` : ""}; stopping before the next write`,
      holder
        ? { owner: holder.owner, host: holder.host, pid: holder.pid, expiresAt: holder.expiresAt }
        : undefined,
      { hint: "run `lockstep status` to see where the database stands, then `lockstep upgrade` again" },
    );
  }

  async #renewInTransaction(c: PgClient, lease: PostgresLeaseRow): Promise<void> {
    await c.query(
      `update ${this.#t("lease")} set expires_at = clock_timestamp() + $2 * interval '1 millisecond'
       where id = 1 and owner = $1`,
      [lease.owner, lease.ttlMs],
    );
  }

  #writer(c: PgClient): StateWriter {
    return {
      setStamp: async (version) => {
        await c.query(
          `insert into ${this.#t("state")} (id, version, updated_at) values ('stamp', $1, clock_timestamp())
           on conflict (id) do update set version = excluded.version, updated_at = excluded.updated_at`,
          [version],
        );
      },
      putLedgerEntry: async (e) => {
        await c.query(
          `insert into ${this.#t("ledger")} (version, name, checksum, kind, applied_at, duration_ms, app_version, counts)
           values ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)
           on conflict (version, name) do update set checksum = excluded.checksum, kind = excluded.kind,
             applied_at = excluded.applied_at, duration_ms = excluded.duration_ms,
             app_version = excluded.app_version, counts = excluded.counts`,
          [
            e.version,
            e.name,
            e.checksum,
            e.kind,
            e.appliedAt,
            e.durationMs,
            e.appVersion,
            e.counts ? JSON.stringify(e.counts) : null,
          ],
        );
      },
      setMarker: async (m) => {
        await c.query(
          `insert into ${this.#t("markers")} (version, name, started_at, owner, host, pid, checkpoint)
           values ($1, $2, $3, $4, $5, $6, $7::jsonb)
           on conflict (version, name) do update set started_at = excluded.started_at, owner = excluded.owner,
             host = excluded.host, pid = excluded.pid, checkpoint = excluded.checkpoint`,
          [
            m.version,
            m.name,
            m.startedAt,
            m.owner,
            m.host,
            m.pid,
            m.checkpoint == null ? null : JSON.stringify(m.checkpoint),
          ],
        );
      },
      clearMarker: async (version, name) => {
        await c.query(`delete from ${this.#t("markers")} where version = $1 and name = $2`, [version, name]);
      },
      appendHistory: async (h) => {
        await c.query(
          `insert into ${this.#t("history")} (${HISTORY_COLUMNS})
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb)`,
          historyValues(h),
        );
      },
    };
  }

  /**
   * A keyset page on a pooled connection of its own, so it can run while the page before
   * it is written in another connection's transaction.
   */
  async readPage(source: BatchSource, after: unknown, limit: number): Promise<BatchPage> {
    const table = tableRef(sourceTable(source));
    const key = source.key ?? "id";
    const columns = source.fields ? [key, ...source.fields.filter((f) => f !== key)].map(q).join(", ") : "*";
    const params: unknown[] = [limit];
    const conditions: string[] = [];
    if (after !== null && after !== undefined) {
      params.push(after);
      conditions.push(`${q(key)} > $2`);
    }
    if (source.where) conditions.push(`(${source.where})`);
    const { rows } = await this.#connections.query<Record<string, unknown>>(
      `select ${columns} from ${table}${conditions.length ? ` where ${conditions.join(" and ")}` : ""} order by ${q(key)} limit $1`,
      params,
    );
    return { rows, lastKey: rows.length > 0 ? rows[rows.length - 1]![key] : null };
  }

  /**
   * One `update ... from unnest(...)` per set of columns changed (one per page when every
   * change sets the same columns), each column sent as one typed array.
   */
  async writePage(db: PgClient, source: BatchSource, changes: readonly BatchChange[]): Promise<number> {
    const name = sourceTable(source);
    const key = source.key ?? "id";
    let written = 0;
    for (const [columns, group] of groupByColumns(changes)) {
      const types = await this.#typesOf(db, name, [key, ...columns]);
      const keyType = types.get(key)!;
      const params: unknown[] = [group.map((c) => pgValue(c.key, keyType))];
      const casts = [`$1::${arrayTypeOf(keyType)}`];
      const sets: string[] = [];
      for (const [i, column] of columns.entries()) {
        const type = types.get(column)!;
        const values = group.map((c) => c.set[column]);
        const json = type.sql === "json" || type.sql === "jsonb" ? type.sql : null;
        if (json) {
          // One JSON array document instead of a jsonb[] literal, whose every element pg
          // quotes and escapes and the server unescapes again: measured 1.7x faster per page.
          params.push(jsonArray(values, column));
          casts.push(
            `array(select case when ${json}_typeof(e) = 'null' then null else e end
               from ${json}_array_elements($${i + 2}::${json}) with ordinality as x(e, i) order by i)`,
          );
        } else {
          params.push(values.map((value) => pgValue(value, type)));
          casts.push(`$${i + 2}::${arrayTypeOf(type)}`);
        }
        // Array columns travel as text[] of array literals: unnest would flatten a 2-D array.
        sets.push(`${q(column)} = v.c${i}${type.isArray ? `::${type.sql}` : ""}`);
      }
      const alias = ["k", ...columns.map((_, i) => `c${i}`)].join(", ");
      const result = await db.query(
        `update ${tableRef(name)} as t set ${sets.join(", ")}
         from unnest(${casts.join(", ")}) as v(${alias}) where t.${q(key)} = v.k`,
        params,
      );
      written += result.rowCount ?? 0;
    }
    return written;
  }

  /** The SQL types of `columns` of `table`, from the catalog once per table (again if a column is new). */
  async #typesOf(c: PgClient, table: string, columns: readonly string[]): Promise<Map<string, ColumnType>> {
    const cached = this.#columnTypes.get(table);
    if (cached && columns.every((col) => cached.has(col))) return cached;
    const { rows } = await c.query<{ name: string; type: string; is_array: boolean }>(
      `select a.attname as name, format_type(a.atttypid, a.atttypmod) as type, t.typcategory = 'A' as is_array
       from pg_catalog.pg_attribute a join pg_catalog.pg_type t on t.oid = a.atttypid
       where a.attrelid = to_regclass($1) and a.attnum > 0 and not a.attisdropped`,
      [tableRef(table)],
    );
    if (rows.length === 0) {
      throw new LockstepError("E_INVALID_STEP", `the batch source table ${table} does not exist`, {
        hint: "name an existing table (schema-qualified as app.items if it is not on the search_path)",
      });
    }
    const types = new Map(rows.map((r) => [r.name, { sql: r.type, isArray: r.is_array }]));
    this.#columnTypes.set(table, types);
    const missing = columns.filter((col) => !types.has(col));
    if (missing.length > 0) {
      throw new LockstepError("E_INVALID_STEP", `table ${table} has no column ${missing.join(", ")}`, {
        hint: "a batch change may only set columns the table has",
      });
    }
    return types;
  }

  async count(query: CountQuery): Promise<number> {
    const { rows } = await this.#conn.query<{ n: string }>(countSql(query, "PostgreSQL", tableRef));
    return Number(rows[0]?.n ?? 0);
  }
}

/** The session advisory lock, held by a dedicated connection until it is released or that connection dies. */
class PostgresSessionLease extends HeartbeatLease {
  constructor(
    private readonly adapter: PostgresAdapter,
    private readonly client: pg.Client,
    readonly backendPid: number,
    request: LeaseRequest,
  ) {
    super(request.owner);
    const lose = () => this.markLost();
    client.on("error", lose);
    client.on("end", lose);
    // Keeps the lease row's expiry (shown to others) current, and finds a dead connection
    // even when the socket reports nothing.
    this.startHeartbeat(request.ttlMs, async () => {
      await client.query(
        `update ${q(adapter.schema)}.${q(adapter.tables.lease)}
         set expires_at = clock_timestamp() + $2 * interval '1 millisecond' where id = 1 and owner = $1`,
        [this.owner, request.ttlMs],
      );
      return "ok" as const;
    });
  }

  async release(): Promise<void> {
    if (!this.stop()) return;
    this.adapter.forget(this);
    try {
      await this.adapter.releaseLeaseRow(this.client, this.owner);
      await this.adapter.releaseSessionLock(this.client);
    } catch {
      // Closing the connection below frees the lock anyway.
    }
    await this.client.end().catch(() => undefined);
  }

  /** Stops the heartbeat and closes the connection, which frees the lock. */
  async abandon(): Promise<void> {
    this.stop();
    this.adapter.forget(this);
    await this.client.end().catch(() => undefined);
  }
}

/** Our lease row, renewed by a heartbeat at a third of its lifetime. */
class PostgresLeaseRow extends HeartbeatLease {
  readonly ttlMs: number;

  constructor(
    private readonly adapter: PostgresAdapter,
    request: LeaseRequest,
  ) {
    super(request.owner);
    this.ttlMs = request.ttlMs;
    this.startHeartbeat(request.ttlMs, async () => {
      // Busy or unreachable (undefined): the next beat retries; the check before each write decides.
      const renewed = await adapter.renewLeaseRow(this.owner, this.ttlMs);
      return renewed === undefined ? "busy" : renewed ? "ok" : "lost";
    });
  }

  async release(): Promise<void> {
    if (!this.stop()) return;
    this.adapter.forget(this);
    try {
      await this.adapter.releaseLeaseRow(null, this.owner);
    } catch {
      // Expiry frees it anyway.
    }
  }

  /** Stops the heartbeat; the row stays until it expires. */
  async abandon(): Promise<void> {
    this.stop();
    this.adapter.forget(this);
  }
}

/** A column's SQL type as `format_type` spells it, and whether it is an array type. */
interface ColumnType {
  readonly sql: string;
  readonly isArray: boolean;
}

/** The array type `unnest` takes a column of `type` in (array columns go as text literals). */
function arrayTypeOf(type: ColumnType): string {
  return type.isArray ? "text[]" : `${type.sql}[]`;
}

/** A value as one element of a typed array parameter: objects and arrays as JSON, or as an array literal for array columns. */
function pgValue(value: unknown, type: ColumnType): unknown {
  if (value === undefined || value === null) return null;
  if (type.isArray && Array.isArray(value)) return arrayLiteral(value);
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "object" && !(value instanceof Date) && !Buffer.isBuffer(value)) {
    return JSON.stringify(value);
  }
  return value;
}

/**
 * The values bound for one json/jsonb column as one JSON array. A string is JSON text already
 * (as a cast to jsonb would take it) and goes in as it is once it parses: an invalid one
 * such as `1, 2` would otherwise become two elements and shift every row after it.
 * null and undefined become JSON null, stored as SQL NULL.
 */
function jsonArray(values: readonly unknown[], column: string): string {
  const parts = values.map((value) => {
    if (value === undefined || value === null) return "null";
    if (typeof value === "string") {
      try {
        JSON.parse(value);
      } catch (error) {
        throw new LockstepError(
          "E_INVALID_STEP",
          `a change sets JSON column ${column} to text that is not JSON`,
          {
            cause: error,
            hint: "set an object, an array, or valid JSON text",
          },
        );
      }
      return value;
    }
    if (typeof value === "bigint") return value.toString();
    return JSON.stringify(value);
  });
  return `[${parts.join(",")}]`;
}

/** A PostgreSQL array literal (`{1,"a b",NULL}`) for a JS array bound for an array column. */
function arrayLiteral(values: readonly unknown[]): string {
  const items = values.map((v) => {
    if (v === null || v === undefined) return "NULL";
    if (Array.isArray(v)) return arrayLiteral(v);
    const text =
      v instanceof Date
        ? v.toISOString()
        : Buffer.isBuffer(v)
          ? `\\x${v.toString("hex")}`
          : typeof v === "object"
            ? JSON.stringify(v)
            : String(v);
    return `"${text.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
  });
  return `{${items.join(",")}}`;
}

/** Quotes an identifier. */
function q(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

/** A user table name, optionally schema-qualified (`app.users`); unqualified names follow search_path. */
function tableRef(name: string): string {
  const dot = name.indexOf(".");
  return dot < 0 ? q(name) : `${q(name.slice(0, dot))}.${q(name.slice(dot + 1))}`;
}

/** A signed 64-bit advisory lock key from a stable hash of `text`. */
function lockKey(text: string): bigint {
  return createHash("sha256").update(text).digest().readBigInt64BE(0);
}

/** How pg_locks shows a bigint advisory key: high and low 32 bits, unsigned. */
function lockIds(key: bigint): [number, number] {
  const unsigned = BigInt.asUintN(64, key);
  return [Number(unsigned >> 32n), Number(unsigned & 0xffffffffn)];
}

function iso(value: Date | string): string {
  return value instanceof Date ? value.toISOString() : new Date(value).toISOString();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface LockHolderRow {
  pid: number;
  application_name: string | null;
  usename: string | null;
  client_addr: string | null;
  backend_start: Date | null;
  now: Date;
}

interface LedgerRow {
  version: string;
  name: string;
  checksum: string | null;
  kind: LedgerEntry["kind"];
  applied_at: Date;
  duration_ms: string | null;
  app_version: string | null;
  counts: Record<string, number> | null;
}
const fromLedgerRow = (r: LedgerRow): LedgerEntry => ({
  version: r.version,
  name: r.name,
  checksum: r.checksum,
  kind: r.kind,
  appliedAt: iso(r.applied_at),
  durationMs: r.duration_ms === null ? null : Number(r.duration_ms),
  appVersion: r.app_version,
  counts: r.counts,
});

interface MarkerRow {
  version: string;
  name: string;
  started_at: Date;
  owner: string;
  host: string;
  pid: number;
  checkpoint: unknown;
}
const fromMarkerRow = (r: MarkerRow): InProgressMarker => ({
  version: r.version,
  name: r.name,
  startedAt: iso(r.started_at),
  owner: r.owner,
  host: r.host,
  pid: r.pid,
  checkpoint: r.checkpoint ?? null,
});

interface LeaseRow {
  owner: string;
  host: string;
  pid: number;
  os_user: string;
  acquired_at: Date;
  expires_at: Date;
  session_pid: number | null;
  expired: boolean;
}
const fromLeaseRow = (r: LeaseRow): LeaseInfo => ({
  owner: r.owner,
  host: r.host,
  pid: r.pid,
  user: r.os_user,
  acquiredAt: iso(r.acquired_at),
  expiresAt: iso(r.expires_at),
  expired: r.expired,
});

interface HistoryRow {
  at: Date;
  action: HistoryEntry["action"];
  version: string | null;
  step: string | null;
  outcome: HistoryEntry["outcome"];
  duration_ms: string | null;
  host: string;
  os_user: string;
  pid: number;
  app_version: string | null;
  lockstep_version: string;
  details: Record<string, unknown> | null;
}
const fromHistoryRow = (r: HistoryRow): HistoryEntry => ({
  at: iso(r.at),
  action: r.action,
  version: r.version,
  step: r.step,
  outcome: r.outcome,
  durationMs: r.duration_ms === null ? null : Number(r.duration_ms),
  host: r.host,
  user: r.os_user,
  pid: r.pid,
  appVersion: r.app_version,
  lockstepVersion: r.lockstep_version,
  details: r.details,
});
