import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type BetterSqlite3 from "better-sqlite3";
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
import { checkOptions } from "../../core/check-options.js";
import { DatabaseError, LockstepError } from "../../core/errors.js";
import type { ReadStateOptions } from "../../core/stamp.js";
import { loadDriver } from "../load-driver.js";
import { countSql, DEFAULT_SQL_TABLES, type SqlTableNames } from "../sql-shared.js";
import { inspectBatchSource, readPage, writePage } from "./batch-pages.js";
import { listInstances, registerInstance, removeInstance } from "./instance-registry.js";
import { SqliteLeaseRow } from "./lease.js";
import { readRange, runRange } from "./range-pages.js";
import { readState } from "./state-read.js";
import { createStore, type Db, q, readHistory, stateWriter } from "./state-store.js";

/** The names of lockstep's tables in an SQLite database. */
export type SqliteTableNames = SqlTableNames;

/** Default table names. */
export const DEFAULT_SQLITE_TABLES: SqliteTableNames = DEFAULT_SQL_TABLES;

/** How long a statement waits for another process's write lock (ms) when no `busyTimeoutMs` is given. */
const DEFAULT_SQLITE_BUSY_TIMEOUT_MS = 5000;

/** Options of {@link SqliteAdapter}. */
export interface SqliteAdapterOptions {
  /** Path of the database file (relative paths resolve against `baseDir`). */
  readonly filename: string;
  readonly baseDir?: string;
  readonly tables?: Partial<SqliteTableNames>;
  /** How long a statement waits for another process's write lock (ms). Default 5000. */
  readonly busyTimeoutMs?: number;
}

const CAPABILITIES: AdapterCapabilities = {
  supportsTransactionalSteps: true,
  supportsTransactionalDdl: true,
  leaseMode: "lease-row",
  queryLanguage: "sql",
  rangeParameters: "?n",
};

/**
 * SQLite through better-sqlite3: the embedded default. Every step runs in one
 * `BEGIN IMMEDIATE` transaction with its ledger entry and stamp, so a crash rolls it back
 * whole. The lease is a row taken by one atomic upsert inside a write transaction, which
 * SQLite serialises across processes.
 */
export class SqliteAdapter implements Adapter<Db> {
  readonly kind = "sqlite";
  readonly capabilities = CAPABILITIES;
  readonly displayName: string;
  readonly filename: string;
  readonly tables: SqliteTableNames;
  readonly #busyTimeoutMs: number;
  readonly #leases: SqliteLeaseRow;
  #db: Db | undefined;

  constructor(options: SqliteAdapterOptions) {
    checkOptions(options, "new SqliteAdapter(options)", {
      filename: "string",
      "baseDir?": "string",
      "tables?": "object",
      "busyTimeoutMs?": "number",
    });
    this.filename = resolve(options.baseDir ?? ".", options.filename);
    this.displayName = `sqlite:${options.filename}`;
    this.tables = { ...DEFAULT_SQLITE_TABLES, ...options.tables };
    this.#busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_SQLITE_BUSY_TIMEOUT_MS;
    this.#leases = new SqliteLeaseRow(this.tables.lease);
  }

  get #conn(): Db {
    if (!this.#db) throw new LockstepError("E_UNSUPPORTED", "the SQLite adapter is not open");
    return this.#db;
  }

  async open(options: OpenOptions): Promise<void> {
    if (this.#db) return;
    if (!options.create && !existsSync(this.filename)) {
      throw new DatabaseError("E_DATABASE_NOT_FOUND", `database file not found: ${this.filename}`, {
        hint: "check the path in --database or the config; a new database: `lockstep init` (schema made elsewhere), or `stepsBuildSchema: true` in the config / `lockstep upgrade --from-version 0.0.0` (the steps build the schema)",
      });
    }
    const Database = await loadDriver<typeof BetterSqlite3>("better-sqlite3", "SQLite");
    try {
      const db = new Database(this.filename, {
        timeout: this.#busyTimeoutMs,
        fileMustExist: !options.create,
      });
      // Reads the header: a file that is not an SQLite database fails here, not mid-upgrade.
      db.pragma("schema_version");
      this.#db = db;
    } catch (error) {
      throw new DatabaseError("E_DATABASE_UNREADABLE", `cannot read ${this.filename} as an SQLite database`, {
        cause: error,
        hint: `check that the path points at the right file and that it is readable and writable (${(error as Error).message})`,
      });
    }
  }

  /** Closes the file. A lease still held is abandoned: its heartbeat stops, its row stays until it expires. */
  async close(): Promise<void> {
    this.#leases.close();
    this.#db?.close();
    this.#db = undefined;
  }

  handle(): Db {
    return this.#conn;
  }

  async describe(): Promise<DatabaseDescription> {
    const { v } = this.#conn.prepare("select sqlite_version() as v").get() as { v: string };
    return {
      target: this.displayName,
      server: `SQLite ${v}`,
      capabilities: CAPABILITIES,
      guarantees: [
        "each step commits atomically with its ledger entry and stamp (schema changes included)",
        "a crash mid-step rolls the step back whole",
        "one upgrader at a time: a lease row taken atomically inside a write transaction",
      ],
    };
  }

  async ensureStore(): Promise<void> {
    this.#writable(() => createStore(this.#conn, this.tables));
  }

  /** One SELECT when lockstep's store exists (two on a new database: see `state-read.ts`). */
  async readState(options: ReadStateOptions = {}): Promise<DatabaseState> {
    return readState(this.#conn, this.tables, options);
  }

  /**
   * One upsert (the registry is created first when missing). A read-only file throws
   * E_DATABASE_READONLY; another process holding SQLite's write lock past `busyTimeoutMs`
   * (an upgrader running a step) throws E_LOCK_HELD: the guard warns and retries at its
   * next keep-alive.
   */
  async registerInstance(instance: InstanceRecord, ttlMs: number): Promise<void> {
    this.#registryWrite(() => registerInstance(this.#conn, this.tables.instances, instance, ttlMs));
  }

  async removeInstance(id: string): Promise<void> {
    this.#registryWrite(() => removeInstance(this.#conn, this.tables.instances, id));
  }

  /** A write to the registry: a read-only file or a write lock held too long become coded errors. */
  #registryWrite(fn: () => void): void {
    try {
      this.#writable(fn);
    } catch (error) {
      if (!/^SQLITE_BUSY/.test(String((error as { code?: unknown }).code))) throw error;
      throw new DatabaseError(
        "E_LOCK_HELD",
        `cannot write ${this.filename}: another process held SQLite's write lock for ${this.#busyTimeoutMs} ms (an upgrader running a step?)`,
        {
          cause: error,
          hint: "try again once the other process's write ends (a guard retries at its next keep-alive), or raise busyTimeoutMs",
        },
      );
    }
  }

  async listInstances(): Promise<InstanceInfo[]> {
    return listInstances(this.#conn, this.tables.instances);
  }

  async readHistory(options: { limit?: number } = {}): Promise<HistoryEntry[]> {
    return readHistory(this.#conn, this.tables, options.limit);
  }

  async tryAcquireLease(request: LeaseRequest): Promise<LeaseAttempt> {
    await this.ensureStore();
    return this.#writable(() => this.#leases.acquire(this.#conn, request, this.#busyTimeoutMs));
  }

  async breakLease(options: { owner?: string }): Promise<LeaseInfo | null> {
    return this.#writable(() => this.#leases.break(this.#conn, options.owner));
  }

  async write<T>(
    lease: LeaseHandle | null,
    fn: (writer: Required<StateWriter>, db: Db) => Promise<T>,
    options: WriteOptions = {},
  ): Promise<T> {
    const db = this.#conn;
    const transactional = options.transactional ?? true;
    if (!transactional) {
      if (lease) this.#leases.assertHeld(db, lease, this.displayName);
      return fn(stateWriter(db, this.tables), db);
    }
    this.#writable(() => db.exec("begin immediate"));
    try {
      if (lease) this.#leases.assertHeld(db, lease, this.displayName);
      const result = await fn(stateWriter(db, this.tables), db);
      db.exec(options.rollback ? "rollback" : "commit");
      return result;
    } catch (error) {
      if (db.inTransaction) db.exec("rollback");
      throw error;
    }
  }

  /**
   * Runs a write of lockstep's own; SQLite's "readonly database" (the file or its folder not
   * writable by this user) becomes E_DATABASE_READONLY instead of a driver stack trace.
   */
  #writable<T>(fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      if (!/^SQLITE_(READONLY|CANTOPEN|PERM)/.test(String((error as { code?: unknown }).code))) throw error;
      throw new DatabaseError(
        "E_DATABASE_READONLY",
        `cannot write ${this.filename}: ${(error as Error).message}`,
        {
          cause: error,
          hint: "give the user running lockstep write access to the file and its folder (SQLite writes a journal beside it), or run lockstep as the file's owner",
        },
      );
    }
  }

  async inspectBatchSource(source: BatchSource): Promise<BatchSourceInfo> {
    return inspectBatchSource(this.#conn, source);
  }

  async readPage(source: BatchSource, after: unknown, limit: number): Promise<BatchPage> {
    return readPage(this.#conn, source, after, limit);
  }

  async writePage(db: Db, source: BatchSource, changes: readonly BatchChange[]): Promise<number> {
    return writePage(db, source, changes);
  }

  /** `ctx.batchRanges`' next key range, and its statement through `db` (range-pages.ts). */
  async readRange(source: BatchSource, after: unknown, limit: number): Promise<KeyRange | null> {
    return readRange(this.#conn, source, after, limit);
  }

  async runRange(db: Db, _source: BatchSource, statement: RangeStatement, range: KeyRange): Promise<number> {
    return runRange(db, statement as string, range);
  }

  async count(query: CountQuery): Promise<number> {
    return (this.#conn.prepare(countSql(query, "SQLite", q)).get() as { n: number }).n;
  }
}
