import type pg from "pg";
import type {
  Adapter,
  AdapterCapabilities,
  BatchChange,
  BatchPage,
  BatchSource,
  BatchSourceInfo,
  CountQuery,
  DatabaseDescription,
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
import { LockstepError, UsageError } from "../../core/errors.js";
import type { ReadStateOptions } from "../../core/stamp.js";
import { countSql, DEFAULT_SQL_TABLES, type SqlTableNames } from "../sql-shared.js";
import { badUrl, redactUrl, secretsOf, takeLockstepParams } from "../url.js";
import { PostgresBatchPages } from "./batch-pages.js";
import { connectError } from "./connect-error.js";
import { PostgresInstanceRegistry } from "./instance-registry.js";
import { type PgLeaseMode, type PostgresLeaseMode, pgLeaseMode } from "./lease.js";
import { loadPg, type Pg } from "./load-pg.js";
import { tableRef } from "./quote-ident.js";
import { readRange, runRange } from "./range-pages.js";
import { type PostgresState, readPostgresState } from "./state-read.js";
import { PostgresStateStore } from "./state-store.js";
import { isUndefinedTable } from "./undefined-table.js";

export type { PostgresLeaseMode } from "./lease.js";
export type { PostgresState } from "./state-read.js";

/** The handle steps receive on PostgreSQL: a `pg` client (inside a step, the step's transaction). */
export type PgClient = pg.ClientBase;

/** The names of lockstep's tables in their PostgreSQL schema (the same as on every SQL database). */
export type PostgresTableNames = SqlTableNames;

/** Default table names: the same as on every SQL database. */
export const DEFAULT_POSTGRES_TABLES: PostgresTableNames = DEFAULT_SQL_TABLES;

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
  queryLanguage: "sql",
  rangeParameters: "$n",
};

const TABLE_CAPABILITIES: AdapterCapabilities = {
  supportsTransactionalSteps: true,
  supportsTransactionalDdl: true,
  leaseMode: "lease-row",
  queryLanguage: "sql",
  rangeParameters: "$n",
};

const POSTGRES_URL_HINT =
  "use postgres://user@host:5432/db, optionally with ?schema=name and lease=session|table";

/** How one transaction of {@link PostgresAdapter} ends. */
interface TransactionOptions {
  /** false: `synchronous_commit = off` for this transaction. */
  readonly durable?: boolean;
  /** Roll back instead of committing (a dry run). */
  readonly rollback?: boolean;
  /** Runs on the transaction's connection just before it commits. */
  readonly beforeCommit?: (c: pg.PoolClient) => Promise<void>;
}

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
  readonly #store: PostgresStateStore;
  readonly #lease: PgLeaseMode;
  readonly #registry: PostgresInstanceRegistry;
  readonly #pages = new PostgresBatchPages();
  #driver: Pg | undefined;
  #main: pg.Client | undefined;
  #pool: pg.Pool | undefined;

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
    checkOptions(options, "new PostgresAdapter(options)", {
      connectionString: "string",
      "schema?": "string",
      "tables?": "object",
      "lease?": "string",
      "poolSize?": "number",
      "connectTimeoutMs?": "number",
    });
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
    this.#store = new PostgresStateStore(this.schema, this.tables);
    this.#registry = new PostgresInstanceRegistry(this.#store, this.displayName);
    this.#lease = pgLeaseMode(this.leaseMode, {
      store: this.#store,
      displayName: this.displayName,
      connect: () => this.#connect(),
      inTransaction: (fn) => this.#inTransaction(fn),
      pool: () => this.#connections,
      main: () => this.#conn,
    });
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

  async open(_options: OpenOptions): Promise<void> {
    if (this.#main) return;
    const driver = await loadPg();
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
      throw connectError(error, this.displayName, this.#secrets);
    }
  }

  /**
   * Closes every connection. A lease still held is abandoned, not released: its heartbeat
   * stops, a session lock goes with its connection, a lease row stays until it expires.
   */
  async close(): Promise<void> {
    await this.#lease.close();
    const main = this.#main;
    const pool = this.#pool;
    this.#main = undefined;
    this.#pool = undefined;
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

  async ensureStore(): Promise<void> {
    if (this.#store.isComplete(await this.#store.present(this.#conn))) return;
    await this.#inTransaction((c) => this.#store.create(c));
  }

  /** Runs `fn` in a transaction on one pooled connection, ended as `options` say. */
  async #inTransaction<T>(
    fn: (c: pg.PoolClient) => Promise<T>,
    options: TransactionOptions = {},
  ): Promise<T> {
    const client = await this.#checkout();
    let broken = false;
    try {
      // A batch page's or range's transaction (durable: false) is small by construction: JIT,
      // compiled anew per statement, costs more than it saves there (see range-pages.ts). Only
      // where the server has the setting (PostgreSQL 11+; `set local jit` fails elsewhere).
      await client.query(
        options.durable === false
          ? "begin; set local synchronous_commit = off; select set_config('jit', 'off', true) where current_setting('jit', true) is not null"
          : "begin",
      );
      const result = await fn(client);
      if (options.rollback) {
        await client.query("rollback");
      } else {
        await options.beforeCommit?.(client);
        await client.query("commit");
      }
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
      throw connectError(error, this.displayName, this.#secrets);
    }
  }

  /**
   * One statement when lockstep's store exists (its own snapshot: no transaction around it);
   * three round trips on a database without the store. See state-read.ts.
   */
  async readState(options: ReadStateOptions = {}): Promise<PostgresState> {
    return readPostgresState(this.#conn, this.#store, this.#lease, options);
  }

  async readHistory(options: { limit?: number } = {}): Promise<HistoryEntry[]> {
    return this.#store.readHistory(this.#conn, options.limit);
  }

  async tryAcquireLease(request: LeaseRequest): Promise<LeaseAttempt> {
    await this.ensureStore();
    return this.#lease.acquire(request);
  }

  async breakLease(options: { owner?: string }): Promise<LeaseInfo | null> {
    const c = this.#conn;
    if (!(await this.#store.present(c)).has(this.tables.lease)) return null;
    return this.#lease.break(c, options.owner);
  }

  async write<T>(
    lease: LeaseHandle | null,
    fn: (writer: Required<StateWriter>, db: PgClient) => Promise<T>,
    options: WriteOptions = {},
  ): Promise<T> {
    const run = async (c: pg.PoolClient) => {
      if (lease) await this.#lease.assertOwned(c, lease);
      return fn(this.#store.writer(c), c);
    };
    if (options.transactional === false) {
      const client = await this.#checkout();
      try {
        return await run(client);
      } finally {
        client.release();
      }
    }
    return this.#inTransaction(run, {
      ...(options.durable !== undefined && { durable: options.durable }),
      ...(options.rollback !== undefined && { rollback: options.rollback }),
      ...(lease && { beforeCommit: (c: pg.PoolClient) => this.#lease.beforeCommit(c, lease) }),
    });
  }

  /**
   * One upsert on the shared connection (a session lease lives on a connection of its own, so
   * this never touches it). A missing registry is created in a transaction of its own, then
   * the upsert runs again.
   */
  async registerInstance(instance: InstanceRecord, ttlMs: number): Promise<void> {
    checkInstance(instance, ttlMs);
    const registry = this.#registry;
    try {
      await registry.write(() => registry.register(this.#conn, instance, ttlMs));
      return;
    } catch (error) {
      if (!isUndefinedTable(error)) throw error;
    }
    await registry.write(() => this.#inTransaction((c) => registry.create(c)));
    await registry.write(() => registry.register(this.#conn, instance, ttlMs));
  }

  async removeInstance(id: string): Promise<void> {
    await this.#registry.remove(this.#conn, id);
  }

  async listInstances(): Promise<InstanceInfo[]> {
    return this.#registry.list(this.#conn);
  }

  async inspectBatchSource(source: BatchSource): Promise<BatchSourceInfo> {
    return this.#pages.inspectBatchSource(this.#connections, source);
  }

  /**
   * A keyset page on a pooled connection of its own, so it can run while the page before
   * it is written in another connection's transaction.
   */
  async readPage(source: BatchSource, after: unknown, limit: number): Promise<BatchPage> {
    return this.#pages.readPage(this.#connections, source, after, limit);
  }

  /** One `update ... from unnest(...)` per set of columns changed, in the step's transaction `db`. */
  async writePage(db: PgClient, source: BatchSource, changes: readonly BatchChange[]): Promise<number> {
    return this.#pages.writePage(db, source, changes);
  }

  /** `ctx.batchRanges`' next key range, on a pooled connection; its statement through `db` (range-pages.ts). */
  readRange(source: BatchSource, after: unknown, limit: number): Promise<KeyRange | null> {
    return readRange(this.#connections, source, after, limit);
  }

  runRange(db: PgClient, _source: BatchSource, statement: RangeStatement, range: KeyRange): Promise<number> {
    return runRange(db, statement as string, range);
  }

  async count(query: CountQuery): Promise<number> {
    const { rows } = await this.#conn.query<{ n: string }>(countSql(query, "PostgreSQL", tableRef));
    return Number(rows[0]?.n ?? 0);
  }
}

/** Refuses an instance record or time to live that the registry could not store. */
function checkInstance(instance: InstanceRecord, ttlMs: number): void {
  checkOptions(instance, "registerInstance(instance)", {
    id: "string",
    appVersion: "string",
    host: "string",
    pid: "number",
    owner: "string",
    startedAt: "string",
  });
  if (Number.isNaN(Date.parse(instance.startedAt)))
    throw new UsageError(
      "E_INVALID_OPTION",
      `registerInstance(instance): startedAt ${JSON.stringify(instance.startedAt)} is not an ISO time`,
      {
        hint: "pass new Date().toISOString()",
      },
    );
  if (!Number.isFinite(ttlMs) || ttlMs <= 0)
    throw new UsageError(
      "E_INVALID_OPTION",
      `registerInstance: the time to live must be a positive number of ms, got ${ttlMs}`,
      {
        hint: "pass a ttlMs such as DEFAULT_INSTANCE_TTL_MS (120000)",
      },
    );
}
