import type mysql from "mysql2/promise";
import type {
  Adapter,
  AdapterCapabilities,
  BatchChange,
  BatchPage,
  BatchSource,
  BatchSourceInfo,
  CountQuery,
  DatabaseDescription,
  DatabaseState,
  HistoryEntry,
  InstanceInfo,
  InstanceRecord,
  KeyRange,
  LeaseAttempt,
  LeaseHandle,
  LeaseInfo,
  LeaseRequest,
  OpenOptions,
  RangeStatement,
  StateWriter,
  WriteOptions,
} from "../../core/adapter.js";
import { STORE_PARTS } from "../../core/adapter.js";
import { checkOptions } from "../../core/check-options.js";
import { DatabaseError, LockstepError } from "../../core/errors.js";
import type { ReadStateOptions } from "../../core/stamp.js";
import { loadDriver } from "../load-driver.js";
import { countSql, DEFAULT_SQL_TABLES, type SqlTableNames } from "../sql-shared.js";
import { redactUrl, scrub, scrubError, secretsOf } from "../url.js";
import { inspectBatchSource, readPage, writePage } from "./batch-pages.js";
import { listInstances, registerInstance, removeInstance } from "./instance-registry.js";
import { lockName, MysqlLeaseLock } from "./lease.js";
import { readRange, runRange } from "./range-pages.js";
import { readState } from "./state-read.js";
import { createStore, presentTables, type Row, readHistory, stateWriter, tableRef } from "./state-store.js";

/** The handle steps receive on MySQL/MariaDB: a `mysql2/promise` connection (inside a step, in its transaction). */
export type MysqlConnection = mysql.Connection;

/** The names of lockstep's tables in the connection's database. */
export type MysqlTableNames = SqlTableNames;

/** Default table names: the same as every SQL database's. */
export const DEFAULT_MYSQL_TABLES: MysqlTableNames = DEFAULT_SQL_TABLES;

/** Connections for step transactions when {@link MysqlAdapterOptions.poolSize} is not given. */
const DEFAULT_MYSQL_POOL_SIZE = 4;

/** How long a connection attempt may take (ms) when {@link MysqlAdapterOptions.connectTimeoutMs} is not given. */
const DEFAULT_MYSQL_CONNECT_TIMEOUT_MS = 10_000;

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
  queryLanguage: "sql",
  rangeParameters: "?",
};

type Mysql = typeof mysql;

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
  #lease: MysqlLeaseLock | undefined;
  #storeLock = "";

  /** `mysql://user:password@host:3306/db` or `mariadb://…` (the same protocol for `mysql2`). */
  static fromUrl(url: string, options: Omit<MysqlAdapterOptions, "uri" | "displayUrl"> = {}): MysqlAdapter {
    return new MysqlAdapter({ ...options, uri: url.replace(/^mariadb:/i, "mysql:"), displayUrl: url });
  }

  constructor(options: MysqlAdapterOptions) {
    checkOptions(options, "new MysqlAdapter(options)", {
      uri: "string",
      "displayUrl?": "string",
      "tables?": "object",
      "poolSize?": "number",
      "connectTimeoutMs?": "number",
    });
    this.#uri = options.uri;
    this.#secrets = secretsOf(options.uri);
    this.displayName = redactUrl(options.displayUrl ?? options.uri);
    this.tables = { ...DEFAULT_MYSQL_TABLES, ...options.tables };
    this.#poolSize = options.poolSize ?? DEFAULT_MYSQL_POOL_SIZE;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_MYSQL_CONNECT_TIMEOUT_MS;
  }

  get #conn(): mysql.Connection {
    if (!this.#main) throw notOpen();
    return this.#main;
  }

  get #connections(): mysql.Pool {
    if (!this.#pool) throw notOpen();
    return this.#pool;
  }

  get #leases(): MysqlLeaseLock {
    if (!this.#lease) throw notOpen();
    return this.#lease;
  }

  async open(_options: OpenOptions): Promise<void> {
    if (this.#main) return;
    const driver = await loadDriver<Mysql>("mysql2/promise", "MySQL");
    this.#driver = driver;
    const main = await this.#connect();
    // readState's JSON_ARRAYAGG: MariaDB cuts it at group_concat_max_len (1 MB by default).
    await main.query("set session group_concat_max_len = 4294967295");
    const [rows] = await main.query<Row[]>("select database() as db");
    const database = rows[0]?.db as string | null | undefined;
    if (!database) {
      await main.end().catch(() => undefined);
      throw new DatabaseError("E_DATABASE_URL", `the URL ${this.displayName} names no database`, {
        hint: "add the database to the URL: mysql://user@host:3306/<database>",
      });
    }
    // GET_LOCK names are server-wide, so they carry the database's name.
    const leaseLock = lockName(`lockstep:lease:${database}.${this.tables.lease}`);
    this.#lease = new MysqlLeaseLock(leaseLock, this.tables.lease, () => this.#connect());
    this.#storeLock = lockName(`lockstep:store:${database}`);
    this.#main = main;
    this.#pool = driver.createPool({ ...this.#config(), connectionLimit: this.#poolSize });
    // A step's connections as the main one: SQL that rebuilds JSON with GROUP_CONCAT (datalab's
    // set-based rewrite) is not cut at 1 KB (MySQL) or 1 MB (MariaDB), which fails the step or,
    // outside strict mode, writes NULL.
    // (The event hands over mysql2's callback connection, whatever the promise types say.)
    this.#pool.on("connection", (conn) => {
      const callbackConn = conn as unknown as { query(sql: string, done: (error: unknown) => void): void };
      callbackConn.query("set session group_concat_max_len = 4294967295", () => undefined);
    });
  }

  #config(): mysql.PoolOptions {
    return { uri: this.#uri, connectTimeout: this.#connectTimeoutMs, enableKeepAlive: true };
  }

  /** A new connection; connection failures become DatabaseErrors without credentials. */
  async #connect(): Promise<mysql.Connection> {
    const driver = this.#driver;
    if (!driver) throw notOpen();
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
    if (code === "ER_ACCESS_DENIED_ERROR" || code === "ER_DBACCESS_DENIED_ERROR") {
      return new DatabaseError("E_DATABASE_AUTH", `MySQL at ${this.displayName} refused the login`, {
        cause: error,
        hint: `check the user and password in the URL (and the user's grants) (${detail})`,
      });
    }
    return new DatabaseError("E_DATABASE_UNREACHABLE", `cannot connect to MySQL at ${this.displayName}`, {
      cause: error,
      hint: `check that the server is running and that the host and port in the URL are right and reachable from here (${detail})`,
    });
  }

  /**
   * Closes every connection. A lock still held goes with its connection; its lease-info
   * row stays behind, stale, and is ignored once the lock is free.
   */
  async close(): Promise<void> {
    const lease = this.#lease;
    const main = this.#main;
    const pool = this.#pool;
    this.#lease = undefined;
    this.#main = undefined;
    this.#pool = undefined;
    await lease?.close();
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

  async ensureStore(): Promise<void> {
    const present = await presentTables(this.#conn, this.tables);
    if (STORE_PARTS.every((part) => present.has(this.tables[part]))) return;
    const c = await this.#checkout();
    try {
      await createStore(c, this.tables, this.#storeLock, this.displayName);
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

  /** One round trip when lockstep's store exists (three on a new database: see `state-read.ts`). */
  async readState(options: ReadStateOptions = {}): Promise<DatabaseState> {
    return readState(this.#conn, this.tables, this.#leases.lock, options);
  }

  /**
   * One upsert, one round trip (the registry is created first when missing), by the server's
   * UTC clock. A user or server that may not write (no grant, `--read-only`) throws
   * E_DATABASE_READONLY: the guard warns and serves on.
   */
  async registerInstance(instance: InstanceRecord, ttlMs: number): Promise<void> {
    await registerInstance(this.#conn, this.tables.instances, instance, ttlMs, this.displayName);
  }

  async removeInstance(id: string): Promise<void> {
    await removeInstance(this.#conn, this.tables.instances, id, this.displayName);
  }

  async listInstances(): Promise<InstanceInfo[]> {
    return listInstances(this.#conn, this.tables.instances);
  }

  async readHistory(options: { limit?: number } = {}): Promise<HistoryEntry[]> {
    return readHistory(this.#conn, this.tables, options.limit);
  }

  async tryAcquireLease(request: LeaseRequest): Promise<LeaseAttempt> {
    await this.ensureStore();
    return this.#leases.acquire(request, this.#conn);
  }

  async breakLease(options: { owner?: string }): Promise<LeaseInfo | null> {
    const c = this.#conn;
    if (!(await presentTables(c, this.tables)).has(this.tables.lease)) return null;
    return this.#leases.break(c, options.owner);
  }

  async write<T>(
    lease: LeaseHandle | null,
    fn: (writer: Required<StateWriter>, db: MysqlConnection) => Promise<T>,
    options: WriteOptions = {},
  ): Promise<T> {
    const transactional = options.transactional ?? true;
    const conn = await this.#checkout();
    let broken = false;
    try {
      if (!transactional) {
        if (lease) await this.#leases.assertHeld(conn, lease, this.displayName);
        return await fn(stateWriter(conn, this.tables), conn);
      }
      await conn.query("start transaction");
      try {
        if (lease) await this.#leases.assertHeld(conn, lease, this.displayName);
        const result = await fn(stateWriter(conn, this.tables), conn);
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

  async inspectBatchSource(source: BatchSource): Promise<BatchSourceInfo> {
    return inspectBatchSource(this.#connections, source);
  }

  /**
   * A keyset page on a pooled connection of its own, so it can run while the page before
   * it is written in another connection's transaction.
   */
  async readPage(source: BatchSource, after: unknown, limit: number): Promise<BatchPage> {
    return readPage(this.#connections, source, after, limit);
  }

  async writePage(
    db: MysqlConnection,
    source: BatchSource,
    changes: readonly BatchChange[],
  ): Promise<number> {
    return writePage(db, source, changes);
  }

  /** `ctx.batchRanges`' next key range, on a pooled connection; its statement through `db` (range-pages.ts). */
  readRange(source: BatchSource, after: unknown, limit: number): Promise<KeyRange | null> {
    return readRange(this.#connections, source, after, limit);
  }

  runRange(
    db: MysqlConnection,
    _source: BatchSource,
    statement: RangeStatement,
    range: KeyRange,
  ): Promise<number> {
    return runRange(db, statement as string, range);
  }

  async count(query: CountQuery): Promise<number> {
    const [rows] = await this.#conn.query<Row[]>(countSql(query, "MySQL", tableRef));
    return Number(rows[0]?.n ?? 0);
  }
}

function notOpen(): LockstepError {
  return new LockstepError("E_UNSUPPORTED", "the MySQL adapter is not open");
}
