import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type BetterSqlite3 from "better-sqlite3";
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
import { sourceTable } from "../../core/batch.js";
import { DatabaseError, LeaseError, LockstepError } from "../../core/errors.js";
import { loadDriver } from "../load-driver.js";
import { countSql, HISTORY_COLUMNS, historyValues } from "../sql-shared.js";

/** The names of lockstep's tables in an SQLite database. */
export interface SqliteTableNames {
  readonly state: string;
  readonly ledger: string;
  readonly history: string;
  readonly lease: string;
  readonly markers: string;
}

/** Default table names. */
export const DEFAULT_SQLITE_TABLES: SqliteTableNames = {
  state: "lockstep_state",
  ledger: "lockstep_ledger",
  history: "lockstep_history",
  lease: "lockstep_lease",
  markers: "lockstep_markers",
};

/** Options of {@link SqliteAdapter}. */
export interface SqliteAdapterOptions {
  /** Path of the database file (relative paths resolve against `baseDir`). */
  readonly filename: string;
  readonly baseDir?: string;
  readonly tables?: Partial<SqliteTableNames>;
  /** How long a statement waits for another process's write lock (ms). Default 5000. */
  readonly busyTimeoutMs?: number;
}

type Db = BetterSqlite3.Database;

/** How long one lease attempt waits for another process's write lock (ms). */
const LEASE_ATTEMPT_BUSY_MS = 50;

const CAPABILITIES: AdapterCapabilities = {
  supportsTransactionalSteps: true,
  supportsTransactionalDdl: true,
  leaseMode: "lease-row",
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
  #db: Db | undefined;

  constructor(options: SqliteAdapterOptions) {
    this.filename = resolve(options.baseDir ?? ".", options.filename);
    this.displayName = `sqlite:${options.filename}`;
    this.tables = { ...DEFAULT_SQLITE_TABLES, ...options.tables };
    this.#busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  }

  get #conn(): Db {
    if (!this.#db) throw new LockstepError("E_UNSUPPORTED", "the SQLite adapter is not open");
    return this.#db;
  }

  async open(options: OpenOptions): Promise<void> {
    if (this.#db) return;
    if (!options.create && !existsSync(this.filename)) {
      throw new DatabaseError("E_DATABASE_NOT_FOUND", `database file not found: ${this.filename}`, {
        hint: "check the path in --database or the config; `lockstep init` creates a new database",
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

  async close(): Promise<void> {
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

  #tableExists(name: string): boolean {
    return (
      this.#conn.prepare("select 1 from sqlite_master where type = 'table' and name = ?").get(name) !==
      undefined
    );
  }

  async ensureStore(): Promise<void> {
    const t = this.tables;
    const db = this.#conn;
    if ([t.state, t.ledger, t.history, t.lease, t.markers].every((name) => this.#tableExists(name))) return;
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

  async readState(): Promise<DatabaseState> {
    const t = this.tables;
    const db = this.#conn;
    // One read transaction, so the parts agree with each other.
    return db
      .transaction((): DatabaseState => {
        const hasLedger = this.#tableExists(t.ledger);
        const stampRow = this.#tableExists(t.state)
          ? (db.prepare(`select version from ${q(t.state)} where id = 'stamp'`).get() as
              | { version: string }
              | undefined)
          : undefined;
        const ledger = hasLedger
          ? (
              db
                .prepare(`select * from ${q(t.ledger)} order by applied_at, version, name`)
                .all() as LedgerRow[]
            ).map(fromLedgerRow)
          : [];
        const interrupted = this.#tableExists(t.markers)
          ? (db.prepare(`select * from ${q(t.markers)} order by started_at`).all() as MarkerRow[]).map(
              fromMarkerRow,
            )
          : [];
        return { stamp: stampRow?.version ?? null, hasLedger, ledger, interrupted, lease: this.#readLease() };
      })
      .deferred();
  }

  #readLease(): LeaseInfo | null {
    if (!this.#tableExists(this.tables.lease)) return null;
    const row = this.#conn.prepare(`select * from ${q(this.tables.lease)} where id = 1`).get() as
      | LeaseRow
      | undefined;
    return row ? fromLeaseRow(row, Date.now()) : null;
  }

  async readHistory(options: { limit?: number } = {}): Promise<HistoryEntry[]> {
    if (!this.#tableExists(this.tables.history)) return [];
    const limit = options.limit ?? -1;
    const rows = this.#conn
      .prepare(`select * from (select * from ${q(this.tables.history)} order by id desc limit ?) order by id`)
      .all(limit) as HistoryRow[];
    return rows.map(fromHistoryRow);
  }

  async tryAcquireLease(request: LeaseRequest): Promise<LeaseAttempt> {
    await this.ensureStore();
    const db = this.#conn;
    const now = Date.now();
    // One attempt is short: while the holder runs a step it holds SQLite's write lock, and
    // waiting out the full busy timeout here would make --no-wait wait. The core polls.
    db.pragma(`busy_timeout = ${LEASE_ATTEMPT_BUSY_MS}`);
    try {
      const taken = db
        .transaction(() => {
          const result = db
            .prepare(
              `insert into ${q(this.tables.lease)} (id, owner, host, pid, os_user, acquired_at, expires_at)
               values (1, @owner, @host, @pid, @user, @acquiredAt, @expiresAt)
               on conflict (id) do update set owner = excluded.owner, host = excluded.host, pid = excluded.pid,
                 os_user = excluded.os_user, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
               where ${q(this.tables.lease)}.expires_at < @now or ${q(this.tables.lease)}.owner = excluded.owner`,
            )
            .run({
              owner: request.owner,
              host: request.host,
              pid: request.pid,
              user: request.user,
              acquiredAt: new Date(now).toISOString(),
              expiresAt: now + request.ttlMs,
              now,
            });
          return result.changes === 1;
        })
        .immediate();
      if (taken) return { lease: new SqliteLease(this, request) };
    } catch (error) {
      // Another process is writing (SQLITE_BUSY past the busy timeout): the lease is busy too.
      if (!isBusy(error)) throw error;
    } finally {
      db.pragma(`busy_timeout = ${this.#busyTimeoutMs}`);
    }
    return { heldBy: safely(() => this.#readLease()) };
  }

  /** Renews our lease; false when another owner has it now. Used by the heartbeat. */
  renewLease(owner: string, ttlMs: number): boolean {
    const now = Date.now();
    const result = this.#conn
      .prepare(`update ${q(this.tables.lease)} set expires_at = ? where id = 1 and owner = ?`)
      .run(now + ttlMs, owner);
    return result.changes === 1;
  }

  /** Removes the lease row if `owner` holds it. */
  releaseLease(owner: string): void {
    this.#conn.prepare(`delete from ${q(this.tables.lease)} where id = 1 and owner = ?`).run(owner);
  }

  async breakLease(options: { owner?: string }): Promise<LeaseInfo | null> {
    if (!this.#tableExists(this.tables.lease)) return null;
    const db = this.#conn;
    return db
      .transaction(() => {
        const current = this.#readLease();
        if (!current || (options.owner !== undefined && current.owner !== options.owner)) return null;
        db.prepare(`delete from ${q(this.tables.lease)} where id = 1 and owner = ?`).run(current.owner);
        return current;
      })
      .immediate();
  }

  async write<T>(
    lease: LeaseHandle | null,
    fn: (writer: StateWriter, db: Db) => Promise<T>,
    options: WriteOptions = {},
  ): Promise<T> {
    const db = this.#conn;
    const transactional = options.transactional ?? true;
    if (!transactional) {
      if (lease) this.#assertLease(lease);
      return fn(this.#writer(), db);
    }
    db.exec("begin immediate");
    try {
      if (lease) this.#assertLease(lease);
      const result = await fn(this.#writer(), db);
      db.exec(options.rollback ? "rollback" : "commit");
      return result;
    } catch (error) {
      if (db.inTransaction) db.exec("rollback");
      throw error;
    }
  }

  /** Fails with E_LEASE_LOST unless `lease` still holds the lease row; renews it otherwise. */
  #assertLease(lease: LeaseHandle): void {
    const row = this.#conn.prepare(`select * from ${q(this.tables.lease)} where id = 1`).get() as
      | LeaseRow
      | undefined;
    if (!row || row.owner !== lease.owner) {
      (lease as SqliteLease).markLost();
      const holder = row ? fromLeaseRow(row, Date.now()) : null;
      throw new LeaseError(
        "E_LEASE_LOST",
        `the lease on ${this.displayName} was taken over${holder ? ` by ${holder.owner} (pid ${holder.pid} on ${holder.host})` : ""}; stopping before the next write`,
        holder
          ? { owner: holder.owner, host: holder.host, pid: holder.pid, expiresAt: holder.expiresAt }
          : undefined,
        { hint: "run `lockstep status` to see where the database stands, then `lockstep upgrade` again" },
      );
    }
  }

  #writer(): StateWriter {
    const db = this.#conn;
    const t = this.tables;
    return {
      setStamp: async (version) => {
        db.prepare(
          `insert into ${q(t.state)} (id, version, updated_at) values ('stamp', ?, ?)
           on conflict (id) do update set version = excluded.version, updated_at = excluded.updated_at`,
        ).run(version, new Date().toISOString());
      },
      putLedgerEntry: async (e) => {
        db.prepare(
          `insert or replace into ${q(t.ledger)} (version, name, checksum, kind, applied_at, duration_ms, app_version, counts)
           values (?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(
          e.version,
          e.name,
          e.checksum,
          e.kind,
          e.appliedAt,
          e.durationMs,
          e.appVersion,
          e.counts ? JSON.stringify(e.counts) : null,
        );
      },
      setMarker: async (m) => {
        db.prepare(
          `insert or replace into ${q(t.markers)} (version, name, started_at, owner, host, pid, checkpoint)
           values (?, ?, ?, ?, ?, ?, ?)`,
        ).run(
          m.version,
          m.name,
          m.startedAt,
          m.owner,
          m.host,
          m.pid,
          m.checkpoint == null ? null : JSON.stringify(m.checkpoint),
        );
      },
      clearMarker: async (version, name) => {
        db.prepare(`delete from ${q(t.markers)} where version = ? and name = ?`).run(version, name);
      },
      appendHistory: async (h) => {
        db.prepare(
          `insert into ${q(t.history)} (${HISTORY_COLUMNS}) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(...historyValues(h));
      },
    };
  }

  async readPage(source: BatchSource, after: unknown, limit: number): Promise<BatchPage> {
    const table = sourceTable(source);
    const key = source.key ?? "id";
    const columns = source.fields ? [key, ...source.fields.filter((f) => f !== key)].map(q).join(", ") : "*";
    const conditions = [
      after === null ? null : `${q(key)} > @after`,
      source.where ? `(${source.where})` : null,
    ].filter(Boolean);
    const rows = this.#conn
      .prepare(
        `select ${columns} from ${q(table)}${conditions.length ? ` where ${conditions.join(" and ")}` : ""} order by ${q(key)} limit @limit`,
      )
      .all({ ...(after !== null && { after }), limit }) as Record<string, unknown>[];
    return { rows, lastKey: rows.length > 0 ? rows[rows.length - 1]![key] : null };
  }

  async writePage(db: Db, source: BatchSource, changes: readonly BatchChange[]): Promise<number> {
    const table = sourceTable(source);
    const key = source.key ?? "id";
    // SQLite runs in-process: one prepared UPDATE per row inside the page's transaction is
    // its bulk write (no round trips to save).
    const statements = new Map<string, BetterSqlite3.Statement>();
    let written = 0;
    for (const change of changes) {
      const columns = Object.keys(change.set);
      if (columns.length === 0) continue;
      const signature = columns.join("\u0000");
      let statement = statements.get(signature);
      if (!statement) {
        statement = db.prepare(
          `update ${q(table)} set ${columns.map((c) => `${q(c)} = ?`).join(", ")} where ${q(key)} = ?`,
        );
        statements.set(signature, statement);
      }
      written += statement.run(...columns.map((c) => sqlValue(change.set[c])), sqlValue(change.key)).changes;
    }
    return written;
  }

  async count(query: CountQuery): Promise<number> {
    return (this.#conn.prepare(countSql(query, "SQLite", q)).get() as { n: number }).n;
  }
}

/** Our lease row, renewed by a heartbeat at a third of its lifetime. */
class SqliteLease implements LeaseHandle {
  readonly owner: string;
  #lost = false;
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly adapter: SqliteAdapter,
    request: LeaseRequest,
  ) {
    this.owner = request.owner;
    this.#timer = setInterval(
      () => {
        try {
          if (!adapter.renewLease(this.owner, request.ttlMs)) this.markLost();
        } catch {
          // Busy: the next beat retries; the lease check before each write decides.
        }
      },
      Math.max(50, Math.floor(request.ttlMs / 3)),
    );
    this.#timer.unref();
  }

  get lost(): boolean {
    return this.#lost;
  }

  markLost(): void {
    this.#lost = true;
  }

  async release(): Promise<void> {
    clearInterval(this.#timer);
    try {
      this.adapter.releaseLease(this.owner);
    } catch {
      // Expiry frees it anyway.
    }
  }
}

/** A value as SQLite stores it: objects and arrays as JSON, booleans as 0/1, dates as ISO text. */
function sqlValue(value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value === "boolean") return value ? 1 : 0;
  if (value instanceof Date) return value.toISOString();
  if (value !== null && typeof value === "object" && !Buffer.isBuffer(value)) return JSON.stringify(value);
  return value;
}

function q(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: string }).code ?? "";
  return code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED");
}

function safely<T>(fn: () => T): T | null {
  try {
    return fn();
  } catch {
    return null;
  }
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

interface LeaseRow {
  owner: string;
  host: string;
  pid: number;
  os_user: string;
  acquired_at: string;
  expires_at: number;
}
const fromLeaseRow = (r: LeaseRow, now: number): LeaseInfo => ({
  owner: r.owner,
  host: r.host,
  pid: r.pid,
  user: r.os_user,
  acquiredAt: r.acquired_at,
  expiresAt: new Date(r.expires_at).toISOString(),
  expired: r.expires_at < now,
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
