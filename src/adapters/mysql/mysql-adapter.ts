import { createHash } from "node:crypto";
import type mysql from "mysql2/promise";
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
import { redactUrl, scrub, scrubError, secretsOf } from "../url.js";

/** The handle steps receive on MySQL/MariaDB: a `mysql2/promise` connection (inside a step, in its transaction). */
export type MysqlConnection = mysql.Connection;

/** The names of lockstep's tables in the connection's database. */
export interface MysqlTableNames {
  readonly state: string;
  readonly ledger: string;
  readonly history: string;
  readonly lease: string;
  readonly markers: string;
}

/** Default table names: the same as SQLite's. */
export const DEFAULT_MYSQL_TABLES: MysqlTableNames = {
  state: "lockstep_state",
  ledger: "lockstep_ledger",
  history: "lockstep_history",
  lease: "lockstep_lease",
  markers: "lockstep_markers",
};

/** Options of {@link MysqlAdapter}. */
export interface MysqlAdapterOptions {
  /** A `mysql://` URL, as `mysql2` takes it (`mariadb://` is accepted by {@link MysqlAdapter.fromUrl}). */
  readonly uri: string;
  /** The URL as the user wrote it, for messages (redacted). Default: `uri`. */
  readonly displayUrl?: string;
  readonly tables?: Partial<MysqlTableNames>;
  /** Connections for step transactions. Default 4. */
  readonly poolSize?: number;
  /** How long a connection attempt may take (ms). Default 10000. */
  readonly connectTimeoutMs?: number;
}

const CAPABILITIES: AdapterCapabilities = {
  supportsTransactionalSteps: true,
  // MySQL and MariaDB commit implicitly before and after each DDL statement.
  supportsTransactionalDdl: false,
  leaseMode: "session-lock",
};

/** MySQL's limit on a GET_LOCK name. */
const MAX_LOCK_NAME = 64;

type Mysql = typeof mysql;
type Row = mysql.RowDataPacket;

/**
 * MySQL 8 and MariaDB 10.11 through `mysql2`. A step's data changes commit in one
 * transaction with its ledger entry and stamp; its DDL does not (each statement commits
 * implicitly), so the core marks the step in progress first and a crash leaves it
 * INTERRUPTED. The lease is `GET_LOCK` on a dedicated connection, its result checked.
 */
export class MysqlAdapter implements Adapter<MysqlConnection> {
  readonly kind = "mysql";
  readonly capabilities = CAPABILITIES;
  readonly displayName: string;
  readonly tables: MysqlTableNames;
  readonly #uri: string;
  readonly #secrets: readonly string[];
  readonly #poolSize: number;
  readonly #connectTimeoutMs: number;
  #driver: Mysql | undefined;
  #main: mysql.Connection | undefined;
  #pool: mysql.Pool | undefined;
  #leaseLock = "";
  #storeLock = "";
  /** An idle lease connection kept between two attempts, so a waiter does not reconnect each poll. */
  #spare: mysql.Connection | undefined;
  readonly #leases = new Set<MysqlLease>();

  /** `mysql://user:password@host:3306/db` or `mariadb://…` (the same protocol for `mysql2`). */
  static fromUrl(url: string, options: Omit<MysqlAdapterOptions, "uri" | "displayUrl"> = {}): MysqlAdapter {
    return new MysqlAdapter({ ...options, uri: url.replace(/^mariadb:/i, "mysql:"), displayUrl: url });
  }

  constructor(options: MysqlAdapterOptions) {
    this.#uri = options.uri;
    this.#secrets = secretsOf(options.uri);
    this.displayName = redactUrl(options.displayUrl ?? options.uri);
    this.tables = { ...DEFAULT_MYSQL_TABLES, ...options.tables };
    this.#poolSize = options.poolSize ?? 4;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  }

  get #conn(): mysql.Connection {
    if (!this.#main) throw new LockstepError("E_UNSUPPORTED", "the MySQL adapter is not open");
    return this.#main;
  }

  get #connections(): mysql.Pool {
    if (!this.#pool) throw new LockstepError("E_UNSUPPORTED", "the MySQL adapter is not open");
    return this.#pool;
  }

  #t(table: keyof MysqlTableNames): string {
    return q(this.tables[table]);
  }

  async open(_options: OpenOptions): Promise<void> {
    if (this.#main) return;
    const driver = await loadDriver<Mysql>("mysql2/promise", "MySQL");
    this.#driver = driver;
    const main = await this.#connect();
    const [rows] = await main.query<Row[]>("select database() as db");
    const database = rows[0]?.db as string | null | undefined;
    if (!database) {
      await main.end().catch(() => undefined);
      throw new DatabaseError("E_DATABASE_URL", `the URL ${this.displayName} names no database`, {
        hint: "add the database to the URL: mysql://user@host:3306/<database>",
      });
    }
    // GET_LOCK names are server-wide, so they carry the database's name.
    this.#leaseLock = lockName(`lockstep:lease:${database}.${this.tables.lease}`);
    this.#storeLock = lockName(`lockstep:store:${database}`);
    this.#main = main;
    this.#pool = driver.createPool({ ...this.#config(), connectionLimit: this.#poolSize });
  }

  #config(): mysql.PoolOptions {
    return { uri: this.#uri, connectTimeout: this.#connectTimeoutMs, enableKeepAlive: true };
  }

  /** A new connection; connection failures become DatabaseErrors without credentials. */
  async #connect(): Promise<mysql.Connection> {
    const driver = this.#driver;
    if (!driver) throw new LockstepError("E_UNSUPPORTED", "the MySQL adapter is not open");
    try {
      const conn = await driver.createConnection(this.#config());
      // Errors of a live connection surface on its next query; without a listener they would crash.
      conn.on("error", () => undefined);
      return conn;
    } catch (error) {
      throw this.#connectError(error);
    }
  }

  #connectError(error: unknown): DatabaseError {
    const e = error as { code?: string; message?: string };
    const code = e.code ?? "";
    const detail = scrub(e.message || code || String(error), this.#secrets);
    scrubError(error, this.#secrets);
    if (code === "ER_BAD_DB_ERROR") {
      return new DatabaseError("E_DATABASE_NOT_FOUND", `the database in ${this.displayName} does not exist`, {
        cause: error,
        hint: `create it first (CREATE DATABASE) or fix the database name in the URL (${detail})`,
      });
    }
    const auth = code === "ER_ACCESS_DENIED_ERROR" || code === "ER_DBACCESS_DENIED_ERROR";
    return new DatabaseError("E_DATABASE_UNREACHABLE", `cannot connect to MySQL at ${this.displayName}`, {
      cause: error,
      hint: auth
        ? `check the user name and password in the URL and the user's grants (${detail})`
        : `check that the server is running and that the host and port in the URL are right and reachable from here (${detail})`,
    });
  }

  /**
   * Closes every connection. A lock still held goes with its connection; its lease-info
   * row stays behind, stale, and is ignored once the lock is free.
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

  handle(): MysqlConnection {
    return this.#conn;
  }

  async describe(): Promise<DatabaseDescription> {
    const [rows] = await this.#conn.query<Row[]>("select version() as v");
    const raw = String(rows[0]?.v ?? "unknown");
    const server = /mariadb/i.test(raw) ? `MariaDB ${raw.split("-")[0]}` : `MySQL ${raw.split("-")[0]}`;
    return {
      target: this.displayName,
      server,
      capabilities: CAPABILITIES,
      guarantees: [
        "each step's data changes commit atomically with its ledger entry and stamp",
        "schema changes (DDL) are not atomic: each statement commits implicitly, so every step is marked in progress before it runs and a crash mid-step leaves it INTERRUPTED, naming the step",
        "one upgrader at a time: GET_LOCK on a dedicated connection, result checked, released by the server if that connection dies",
      ],
    };
  }

  /** Which of lockstep's tables exist in the database. */
  async #presentTables(c: mysql.Connection): Promise<Set<string>> {
    const [rows] = await c.query<Row[]>(
      "select table_name as name from information_schema.tables where table_schema = database() and table_name in (?)",
      [Object.values(this.tables)],
    );
    return new Set(rows.map((r) => String(r.name)));
  }

  async ensureStore(): Promise<void> {
    if ((await this.#presentTables(this.#conn)).size === Object.keys(this.tables).length) return;
    const c = await this.#checkout();
    try {
      // CREATE TABLE IF NOT EXISTS is safe to race, but racing first runs still wait here
      // rather than each issuing the DDL (node-pg-migrate #821).
      const [got] = await c.query<Row[]>("select get_lock(?, 30) as ok", [this.#storeLock]);
      if (got[0]?.ok !== 1) {
        throw new DatabaseError(
          "E_DATABASE_UNREADABLE",
          `could not create lockstep's tables in ${this.displayName}`,
          {
            hint: "another process held the creation lock for 30 s; run again",
          },
        );
      }
      try {
        const opts = "engine=InnoDB default charset=utf8mb4";
        await c.query(
          `create table if not exists ${this.#t("state")} (
             id varchar(32) primary key, version varchar(255) not null, updated_at varchar(32) not null) ${opts}`,
        );
        await c.query(
          `create table if not exists ${this.#t("ledger")} (
             version varchar(191) not null, name varchar(191) not null, checksum varchar(128) null,
             kind varchar(16) not null, applied_at varchar(32) not null, duration_ms bigint null,
             app_version varchar(255) null, counts json null, primary key (version, name)) ${opts}`,
        );
        await c.query(
          `create table if not exists ${this.#t("history")} (
             id bigint not null auto_increment primary key, at varchar(32) not null, action varchar(32) not null,
             version varchar(255) null, step varchar(255) null, outcome varchar(16) not null,
             duration_ms bigint null, host varchar(255) not null, os_user varchar(255) not null, pid int not null,
             app_version varchar(255) null, lockstep_version varchar(64) not null, details json null) ${opts}`,
        );
        await c.query(
          `create table if not exists ${this.#t("lease")} (
             id int not null primary key check (id = 1), owner varchar(255) not null, host varchar(255) not null,
             pid int not null, os_user varchar(255) not null, acquired_at varchar(32) not null,
             expires_at varchar(32) not null, session_id bigint null) ${opts}`,
        );
        await c.query(
          `create table if not exists ${this.#t("markers")} (
             version varchar(191) not null, name varchar(191) not null, started_at varchar(32) not null,
             owner varchar(255) not null, host varchar(255) not null, pid int not null, checkpoint json null,
             primary key (version, name)) ${opts}`,
        );
      } finally {
        await c.query("select release_lock(?)", [this.#storeLock]);
      }
    } finally {
      c.release();
    }
  }

  async #checkout(): Promise<mysql.PoolConnection> {
    try {
      return await this.#connections.getConnection();
    } catch (error) {
      throw this.#connectError(error);
    }
  }

  async readState(): Promise<DatabaseState> {
    const c = this.#conn;
    // One snapshot, so the parts agree with each other.
    await c.query("start transaction read only");
    try {
      const present = await this.#presentTables(c);
      const hasLedger = present.has(this.tables.ledger);
      const stamp = present.has(this.tables.state)
        ? ((await c.query<Row[]>(`select version from ${this.#t("state")} where id = 'stamp'`))[0][0]
            ?.version ?? null)
        : null;
      const ledger = hasLedger
        ? (
            await c.query<Row[]>(`select * from ${this.#t("ledger")} order by applied_at, version, name`)
          )[0].map(fromLedgerRow)
        : [];
      const interrupted = present.has(this.tables.markers)
        ? (await c.query<Row[]>(`select * from ${this.#t("markers")} order by started_at`))[0].map(
            fromMarkerRow,
          )
        : [];
      const lease = await this.#readLease(c, present.has(this.tables.lease));
      await c.query("commit");
      return { stamp: stamp === null ? null : String(stamp), hasLedger, ledger, interrupted, lease };
    } catch (error) {
      await c.query("rollback").catch(() => undefined);
      throw error;
    }
  }

  /** Who holds the lock: the lease-info row its holder wrote, while IS_USED_LOCK says that connection has it. */
  async #readLease(c: mysql.Connection, tableExists: boolean): Promise<LeaseInfo | null> {
    const holder = await this.#lockHolder(c);
    if (holder === null) return null;
    const row = tableExists
      ? (await c.query<Row[]>(`select * from ${this.#t("lease")} where id = 1`))[0][0]
      : undefined;
    if (row && Number(row.session_id) === holder) return fromLeaseRow(row);
    // Taken a moment ago: its holder has not written the lease-info row yet.
    const [procs] = await c
      .query<Row[]>("select user, host from information_schema.processlist where id = ?", [holder])
      .catch((): [Row[]] => [[]]);
    const now = new Date().toISOString();
    return {
      owner: `mysql connection ${holder}`,
      host: String(procs[0]?.host ?? "unknown").replace(/:\d+$/, ""),
      pid: 0,
      user: String(procs[0]?.user ?? "unknown"),
      acquiredAt: now,
      expiresAt: now,
      expired: false,
    };
  }

  /** The id of the connection holding the lease lock, or null when it is free. */
  async #lockHolder(c: mysql.Connection): Promise<number | null> {
    const [rows] = await c.query<Row[]>("select is_used_lock(?) as holder", [this.#leaseLock]);
    const holder = rows[0]?.holder;
    return holder === null || holder === undefined ? null : Number(holder);
  }

  async readHistory(options: { limit?: number } = {}): Promise<HistoryEntry[]> {
    const c = this.#conn;
    if (!(await this.#presentTables(c)).has(this.tables.history)) return [];
    const limit = options.limit === undefined ? "" : ` limit ${Math.max(0, Math.floor(options.limit))}`;
    const [rows] = await c.query<Row[]>(
      `select * from (select * from ${this.#t("history")} order by id desc${limit}) h order by id`,
    );
    return rows.map(fromHistoryRow);
  }

  async tryAcquireLease(request: LeaseRequest): Promise<LeaseAttempt> {
    await this.ensureStore();
    return this.#acquireLock(request);
  }

  async #acquireLock(request: LeaseRequest): Promise<LeaseAttempt> {
    const spare = this.#spare;
    this.#spare = undefined;
    const conn = spare ?? (await this.#connect());
    try {
      const [rows] = await conn.query<Row[]>("select get_lock(?, 0) as ok, connection_id() as id", [
        this.#leaseLock,
      ]);
      // 1 is the only success: 0 is a timeout (held elsewhere), NULL an error. Kysely treats
      // any answer as success (peers.md 3.1); we do not.
      if (rows[0]?.ok !== 1) {
        this.#spare = conn;
        return { heldBy: await this.#readLease(this.#conn, true).catch(() => null) };
      }
      const sessionId = Number(rows[0].id);
      const now = Date.now();
      await conn.query(
        `insert into ${this.#t("lease")} (id, owner, host, pid, os_user, acquired_at, expires_at, session_id)
         values (1, ?, ?, ?, ?, ?, ?, ?)
         on duplicate key update owner = values(owner), host = values(host), pid = values(pid),
           os_user = values(os_user), acquired_at = values(acquired_at), expires_at = values(expires_at),
           session_id = values(session_id)`,
        [
          request.owner,
          request.host,
          request.pid,
          request.user,
          new Date(now).toISOString(),
          new Date(now + request.ttlMs).toISOString(),
          sessionId,
        ],
      );
      const lease = new MysqlLease(this, conn, sessionId, request);
      this.#leases.add(lease);
      return { lease };
    } catch (error) {
      conn.destroy();
      // A spare connection may have died while idle: one fresh connection decides.
      if (spare) return this.#acquireLock(request);
      throw error;
    }
  }

  /** Keeps the lease-info row's expiry current (informational: the lock itself does not expire). */
  async renewLeaseInfo(conn: mysql.Connection, owner: string, ttlMs: number): Promise<void> {
    await conn.query(`update ${this.#t("lease")} set expires_at = ? where id = 1 and owner = ?`, [
      new Date(Date.now() + ttlMs).toISOString(),
      owner,
    ]);
  }

  /** Gives the lock back and removes the lease-info row. */
  async releaseLock(conn: mysql.Connection, owner: string): Promise<void> {
    await conn.query(`delete from ${this.#t("lease")} where id = 1 and owner = ?`, [owner]);
    await conn.query("select release_lock(?)", [this.#leaseLock]);
  }

  /** Stops tracking a lease that was released or abandoned. */
  forget(lease: MysqlLease): void {
    this.#leases.delete(lease);
  }

  async breakLease(options: { owner?: string }): Promise<LeaseInfo | null> {
    const c = this.#conn;
    if (!(await this.#presentTables(c)).has(this.tables.lease)) return null;
    const holder = await this.#lockHolder(c);
    const current = holder === null ? null : await this.#readLease(c, true);
    if (holder === null || current === null) {
      // The lock is free: a row left by a killed holder is stale and goes.
      await c.query(`delete from ${this.#t("lease")} where id = 1 and (? is null or owner = ?)`, [
        options.owner ?? null,
        options.owner ?? null,
      ]);
      return null;
    }
    if (options.owner !== undefined && current.owner !== options.owner) return null;
    // The server releases a GET_LOCK only with its session.
    await c.query(`kill connection ${Math.floor(holder)}`);
    for (let i = 0; i < 50 && (await this.#lockHolder(c)) === holder; i++) await sleep(100);
    await c.query(`delete from ${this.#t("lease")} where id = 1 and owner = ?`, [current.owner]);
    return current;
  }

  async write<T>(
    lease: LeaseHandle | null,
    fn: (writer: StateWriter, db: MysqlConnection) => Promise<T>,
    options: WriteOptions = {},
  ): Promise<T> {
    const transactional = options.transactional ?? true;
    const conn = await this.#checkout();
    let broken = false;
    try {
      if (!transactional) {
        if (lease) await this.#assertLease(conn, lease);
        return await fn(this.#writer(conn), conn);
      }
      await conn.query("start transaction");
      try {
        if (lease) await this.#assertLease(conn, lease);
        const result = await fn(this.#writer(conn), conn);
        await conn.query(options.rollback ? "rollback" : "commit");
        return result;
      } catch (error) {
        await conn.query("rollback").catch(() => {
          broken = true;
        });
        throw error;
      }
    } finally {
      if (broken) conn.destroy();
      else conn.release();
    }
  }

  /** Fails with E_LEASE_LOST unless the lock is still held by `lease`'s connection. */
  async #assertLease(c: mysql.Connection, lease: LeaseHandle): Promise<void> {
    let ours = !lease.lost;
    if (ours && lease instanceof MysqlLease) ours = (await this.#lockHolder(c)) === lease.sessionId;
    if (ours) return;
    if (lease instanceof MysqlLease) lease.markLost();
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

  #writer(c: mysql.Connection): StateWriter {
    return {
      setStamp: async (version) => {
        await c.query(
          `insert into ${this.#t("state")} (id, version, updated_at) values ('stamp', ?, ?)
           on duplicate key update version = values(version), updated_at = values(updated_at)`,
          [version, new Date().toISOString()],
        );
      },
      putLedgerEntry: async (e) => {
        await c.query(
          `replace into ${this.#t("ledger")} (version, name, checksum, kind, applied_at, duration_ms, app_version, counts)
           values (?, ?, ?, ?, ?, ?, ?, ?)`,
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
          `replace into ${this.#t("markers")} (version, name, started_at, owner, host, pid, checkpoint)
           values (?, ?, ?, ?, ?, ?, ?)`,
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
        await c.query(`delete from ${this.#t("markers")} where version = ? and name = ?`, [version, name]);
      },
      appendHistory: async (h) => {
        await c.query(
          `insert into ${this.#t("history")} (${HISTORY_COLUMNS}) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
    const key = source.key ?? "id";
    const columns = source.fields ? [key, ...source.fields.filter((f) => f !== key)].map(q).join(", ") : "*";
    const params: unknown[] = [];
    const conditions: string[] = [];
    if (after !== null && after !== undefined) {
      params.push(after);
      conditions.push(`${q(key)} > ?`);
    }
    if (source.where) conditions.push(`(${source.where})`);
    params.push(Math.max(0, Math.floor(limit)));
    const [rows] = await this.#connections.query<Row[]>(
      `select ${columns} from ${tableRef(sourceTable(source))}${conditions.length ? ` where ${conditions.join(" and ")}` : ""} order by ${q(key)} limit ?`,
      params,
    );
    return { rows, lastKey: rows.length > 0 ? rows[rows.length - 1]![key] : null };
  }

  /**
   * One `update ... join (select ... union all select ...)` per set of columns changed (one
   * per page when every change sets the same columns). MariaDB has no `VALUES ROW(...)`
   * table constructor, so the derived table is a UNION ALL, which both servers take.
   */
  async writePage(
    db: MysqlConnection,
    source: BatchSource,
    changes: readonly BatchChange[],
  ): Promise<number> {
    const key = source.key ?? "id";
    let written = 0;
    for (const [columns, group] of groupByColumns(changes)) {
      const first = `select ? as k, ${columns.map((_, i) => `? as c${i}`).join(", ")}`;
      const rest = `select ${["?", ...columns.map(() => "?")].join(", ")}`;
      const selects = group.map((_, i) => (i === 0 ? first : rest)).join(" union all ");
      const params = group.flatMap((c) => [
        mysqlValue(c.key),
        ...columns.map((col) => mysqlValue(c.set[col])),
      ]);
      const [result] = await db.query<mysql.ResultSetHeader>(
        `update ${tableRef(sourceTable(source))} t join (${selects}) v on t.${q(key)} = v.k
         set ${columns.map((col, i) => `t.${q(col)} = v.c${i}`).join(", ")}`,
        params,
      );
      written += result.affectedRows;
    }
    return written;
  }

  async count(query: CountQuery): Promise<number> {
    const [rows] = await this.#conn.query<Row[]>(countSql(query, "MySQL", tableRef));
    return Number(rows[0]?.n ?? 0);
  }
}

/** The GET_LOCK held by a dedicated connection until it is released or that connection dies. */
class MysqlLease extends HeartbeatLease {
  constructor(
    private readonly adapter: MysqlAdapter,
    private readonly conn: mysql.Connection,
    /** The connection id holding the lock, as IS_USED_LOCK reports it. */
    readonly sessionId: number,
    request: LeaseRequest,
  ) {
    super(request.owner);
    const lose = () => this.markLost();
    conn.on("error", lose);
    conn.on("end", lose);
    // Keeps the lease-info row's expiry current, and finds a dead connection even when the
    // socket reports nothing.
    this.startHeartbeat(request.ttlMs, async () => {
      await adapter.renewLeaseInfo(conn, this.owner, request.ttlMs);
      return "ok" as const;
    });
  }

  async release(): Promise<void> {
    if (!this.stop()) return;
    this.adapter.forget(this);
    try {
      await this.adapter.releaseLock(this.conn, this.owner);
    } catch {
      // Closing the connection below frees the lock anyway.
    }
    await this.conn.end().catch(() => this.conn.destroy());
  }

  /** Stops the heartbeat and closes the connection, which frees the lock. */
  async abandon(): Promise<void> {
    this.stop();
    this.adapter.forget(this);
    await this.conn.end().catch(() => this.conn.destroy());
  }
}

/**
 * A value for a `?` placeholder: plain objects and arrays as JSON text (mysql2 would turn an
 * object into `a = 1, b = 2` and an array into a list), booleans as 1/0.
 */
function mysqlValue(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "object" && !(value instanceof Date) && !Buffer.isBuffer(value)) {
    return JSON.stringify(value);
  }
  return value;
}

/** Quotes an identifier. */
function q(identifier: string): string {
  return `\`${identifier.replaceAll("`", "``")}\``;
}

/** A user table name, optionally qualified with its database (`app.users`). */
function tableRef(name: string): string {
  const dot = name.indexOf(".");
  return dot < 0 ? q(name) : `${q(name.slice(0, dot))}.${q(name.slice(dot + 1))}`;
}

/** A GET_LOCK name within MySQL's 64 characters: long names keep a readable head and a hash. */
function lockName(text: string): string {
  if (text.length <= MAX_LOCK_NAME) return text;
  const hash = createHash("sha256").update(text).digest("hex").slice(0, 24);
  return `${text.slice(0, MAX_LOCK_NAME - hash.length - 1)}~${hash}`;
}

/** JSON columns: MySQL 8 returns them parsed, MariaDB (JSON = LONGTEXT) as text. */
function json<T>(value: unknown): T | null {
  if (value === null || value === undefined) return null;
  return (typeof value === "string" ? JSON.parse(value) : value) as T;
}

function num(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const fromLedgerRow = (r: Row): LedgerEntry => ({
  version: String(r.version),
  name: String(r.name),
  checksum: r.checksum ?? null,
  kind: r.kind as LedgerEntry["kind"],
  appliedAt: String(r.applied_at),
  durationMs: num(r.duration_ms),
  appVersion: r.app_version ?? null,
  counts: json<Record<string, number>>(r.counts),
});

const fromMarkerRow = (r: Row): InProgressMarker => ({
  version: String(r.version),
  name: String(r.name),
  startedAt: String(r.started_at),
  owner: String(r.owner),
  host: String(r.host),
  pid: Number(r.pid),
  checkpoint: json<unknown>(r.checkpoint),
});

/** The lease-info row of the connection that holds the lock: live while it does. */
const fromLeaseRow = (r: Row): LeaseInfo => ({
  owner: String(r.owner),
  host: String(r.host),
  pid: Number(r.pid),
  user: String(r.os_user),
  acquiredAt: String(r.acquired_at),
  expiresAt: String(r.expires_at),
  expired: false,
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
