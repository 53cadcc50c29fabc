/**
 * The contract between lockstep's core and one database. The core knows no driver: it
 * reads capabilities as data and calls these few operations. Each adapter lives in
 * `src/adapters/<db>/` and is loaded only when used.
 */
import type { ReadStateOptions } from "./stamp.js";

/** What an adapter can guarantee; the planner and the plan output read these. */
export interface AdapterCapabilities {
  /** A step's writes, its ledger entry and the stamp can commit in one transaction. */
  readonly supportsTransactionalSteps: boolean;
  /** Schema changes (DDL) take part in that transaction (PostgreSQL, SQLite; not MySQL). */
  readonly supportsTransactionalDdl: boolean;
  /** How the lease is held: the database's session lock, a lease row, or a lease document. */
  readonly leaseMode: "session-lock" | "lease-row" | "lease-document";
  /**
   * How a batch source selects rows: `"sql"` takes `where` (an SQL condition), `"mongodb"`
   * takes `filter` (a query document). The batch helper refuses the other one.
   */
  readonly queryLanguage: "sql" | "mongodb";
  /**
   * How `ctx.batchRanges` binds a range's first and last key in an SQL statement: `"$n"`
   * (PostgreSQL: `$1`, `$2`), `"?n"` (SQLite: `?1`, `?2`), `"?"` (MySQL: two `?`, first then
   * last). Null where range statements are not SQL (MongoDB).
   */
  readonly rangeParameters: "$n" | "?n" | "?" | null;
}

/** A short account of the database and what follows for an upgrade, for `status`/`plan`. */
export interface DatabaseDescription {
  /** The database URL or path with any credentials redacted. */
  readonly target: string;
  /** Where the stamp is read from, when the adapter says (`database_metadata/datalab_schema_version`). */
  readonly stamp?: string;
  /** e.g. "SQLite 3.45.1", "PostgreSQL 15.4", "MongoDB 7.0 (replica set)". */
  readonly server: string;
  /** One line per guarantee, e.g. "each step commits atomically with its ledger entry". */
  readonly guarantees: readonly string[];
  /** Capabilities measured on the live database (may be narrower than the adapter's). */
  readonly capabilities: AdapterCapabilities;
}

/** One row of the ledger: a step applied, baselined or resolved in this database. */
export interface LedgerEntry {
  readonly version: string;
  readonly name: string;
  /** sha256 of the step as it ran; null for baselined steps. */
  readonly checksum: string | null;
  /** applied: ran here; baselined: counted as done by init/--from-version; resolved: marked by an operator. */
  readonly kind: "applied" | "baselined" | "resolved";
  readonly appliedAt: string;
  readonly durationMs: number | null;
  readonly appVersion: string | null;
  readonly counts: Readonly<Record<string, number>> | null;
}

/** A step that started and has not finished: left behind by a crash when steps are not atomic. */
export interface InProgressMarker {
  readonly version: string;
  readonly name: string;
  readonly startedAt: string;
  readonly owner: string;
  readonly host: string;
  readonly pid: number;
  /** The batch helper's last checkpoint, when the step is batched (resumable). */
  readonly checkpoint: unknown;
}

/** The current holder of the lease. */
export interface LeaseInfo {
  readonly owner: string;
  readonly host: string;
  readonly pid: number;
  readonly user: string;
  readonly acquiredAt: string;
  readonly expiresAt: string;
  /** Judged by the database's clock where the database has one. */
  readonly expired: boolean;
}

/** One of lockstep's own tables (SQL) or collections (MongoDB). */
export type StorePart = "state" | "ledger" | "history" | "lease" | "markers";

/** Every part of lockstep's store. */
export const STORE_PARTS: readonly StorePart[] = ["state", "ledger", "history", "lease", "markers"];

/** Everything lockstep knows about a database, read in one go. */
export interface DatabaseState {
  /** The recorded version, canonical semver; null when unstamped. */
  readonly stamp: string | null;
  /** lockstep's ledger store exists (false on a database stamped only by the seed's Python code). */
  readonly hasLedger: boolean;
  /**
   * lockstep's own tables/collections that do not exist ("state" is the stamp's table, or the
   * seed's metadata collection on MongoDB). Undefined when an adapter does not say.
   */
  readonly missingStore?: readonly StorePart[];
  /**
   * How many tables, views or collections the database holds that are not lockstep's own:
   * 0 proves a new, empty database (see `stepsBuildSchema`). Undefined when an adapter does
   * not say, and then the database is never taken for new.
   */
  readonly userObjects?: number;
  /**
   * The compatibility floor: the oldest release whose code can still run on this data (see
   * DESIGN.md). Null when unstamped. A database stamped before floors existed has none
   * recorded: the adapter then returns the stamp (never guess) and `floorRecorded` is false.
   */
  readonly floor: string | null;
  /** A floor is stored in the database (false: `floor` is the stamp standing in for it). */
  readonly floorRecorded: boolean;
  readonly ledger: readonly LedgerEntry[];
  readonly interrupted: readonly InProgressMarker[];
  /** The lease as it is now, expired or not; null when nobody holds it. */
  readonly lease: LeaseInfo | null;
}

/** What happened, for the append-only history. */
export type HistoryAction =
  | "init"
  | "auto_stamp"
  | "baseline"
  | "upgrade_started"
  | "upgrade_finished"
  | "upgrade_interrupted"
  | "step_started"
  | "step_succeeded"
  | "step_failed"
  | "stamp"
  | "resolve"
  | "unlock"
  | "backup"
  | "bypass"
  | "forget_instance";

/** One history entry. Every entry says who, where, when, with which versions and how it ended. */
export interface HistoryEntry {
  readonly at: string;
  readonly action: HistoryAction;
  /** The version this entry concerns (the step's, or the stamp written). */
  readonly version: string | null;
  /** The step's name, for step entries. */
  readonly step: string | null;
  readonly outcome: "ok" | "failed" | "started";
  readonly durationMs: number | null;
  readonly host: string;
  readonly user: string;
  readonly pid: number;
  readonly appVersion: string | null;
  readonly lockstepVersion: string;
  readonly details: Readonly<Record<string, unknown>> | null;
}

/** Writes to lockstep's own store. Inside {@link Adapter.write} they share the step's transaction. */
export interface StateWriter {
  setStamp(version: string): Promise<void>;
  /**
   * Records the compatibility floor. Stored beside the stamp: SQL, a second row of the state
   * table with id `floor`; MongoDB, a `lockstep_floor` field of the stamp's document.
   */
  setFloor(version: string): Promise<void>;
  putLedgerEntry(entry: LedgerEntry): Promise<void>;
  /** Removes one ledger entry (`init --force` to a lower version drops the baselines above it). */
  deleteLedgerEntry(version: string, name: string): Promise<void>;
  setMarker(marker: InProgressMarker): Promise<void>;
  clearMarker(version: string, name: string): Promise<void>;
  appendHistory(entry: HistoryEntry): Promise<void>;
}

/**
 * A running copy of the app, as the start-up guard records it in the instance registry
 * (SQL: table `lockstep_instances`; MongoDB: collection `lockstep_instances`). Nothing secret.
 */
export interface InstanceRecord {
  /** Unique per guard (random), the registry's key. */
  readonly id: string;
  /** The release this copy runs (canonical semver, or a dev build's version). */
  readonly appVersion: string;
  readonly host: string;
  readonly pid: number;
  /** `Actor.owner`-style `host/machine/pid-namespace/pid/…`: lets a process on the same machine judge `pid` alive. */
  readonly owner: string;
  /** ISO time the instance registered. */
  readonly startedAt: string;
}

/** An instance as the registry holds it, judged by the database's clock. */
export interface InstanceInfo extends InstanceRecord {
  /** ISO time of the last registration or keep-alive (database clock). */
  readonly lastSeen: string;
  /** Milliseconds since `lastSeen`, by the database's clock. */
  readonly ageMs: number;
  /** Its time to live ran out without a keep-alive (database clock). */
  readonly expired: boolean;
}

/** Who is asking for the lease. */
export interface LeaseRequest {
  /** Unique per upgrader run. */
  readonly owner: string;
  readonly host: string;
  readonly pid: number;
  readonly user: string;
  /** How long the lease lives without renewal. Renewed by the adapter's heartbeat. */
  readonly ttlMs: number;
}

/** A lease we hold. */
export interface LeaseHandle {
  readonly owner: string;
  /** Set once the adapter learns that the lease was taken over or its connection died. */
  readonly lost: boolean;
  /** Gives the lease back. Never throws. */
  release(): Promise<void>;
}

/** The result of one attempt to take the lease. */
export type LeaseAttempt = { readonly lease: LeaseHandle } | { readonly heldBy: LeaseInfo | null };

/** A count lockstep measures for preconditions and dry runs. */
export type CountQuery =
  | { readonly collection: string; readonly filter?: Readonly<Record<string, unknown>> }
  | { readonly table: string; readonly where?: string };

/**
 * What the batch helper walks: a table (SQL) or collection (MongoDB), in key order.
 * Keyset pagination: each page starts after the last key of the previous one, never OFFSET/skip,
 * so the key must be unique: the helper refuses a key without a unique index or primary key
 * where the database can tell. A field the adapter does not use (`filter` on SQL, `where` on
 * MongoDB, a misspelt name) is refused before anything is written (`E_INVALID_BATCH`).
 */
export interface BatchSource {
  /** The SQL table (or, on MongoDB, the collection). */
  readonly table?: string;
  /** The MongoDB collection (or, on SQL, the table). */
  readonly collection?: string;
  /** A unique, ordered key (primary key or unique index). Default: "id" on SQL databases, "_id" on MongoDB. */
  readonly key?: string;
  /** SQL: only rows matching this condition. */
  readonly where?: string;
  /** MongoDB: only documents matching this filter. */
  readonly filter?: Readonly<Record<string, unknown>>;
  /** Only these columns/fields (the key is always read). Default: all. */
  readonly fields?: readonly string[];
}

/**
 * One change the batch helper writes: set these columns/fields on the row whose key is
 * `key`. On SQL databases a plain object or array value is stored as JSON.
 */
export interface BatchChange {
  readonly key: unknown;
  readonly set: Readonly<Record<string, unknown>>;
}

/** What {@link Adapter.inspectBatchSource} found out about a batch source before any page is read. */
export interface BatchSourceInfo {
  /** The table/collection exists. */
  readonly exists: boolean;
  /**
   * The key: `unique` (primary key, or a unique index on that one column without a condition),
   * `not-unique`, `missing` (no such column), or `unknown` where the database cannot tell (a view).
   */
  readonly key: "unique" | "not-unique" | "missing" | "unknown";
}

/** One page read by {@link Adapter.readPage}. */
export interface BatchPage {
  readonly rows: readonly Record<string, unknown>[];
  /** The key of the last row, where the next page starts (null for an empty page). */
  readonly lastKey: unknown;
}

/**
 * One key range of `ctx.batchRanges`: the first and last key of the next `limit` rows of a
 * source (inclusive), read with one indexed query, and how many rows it holds.
 */
export interface KeyRange {
  readonly first: unknown;
  readonly last: unknown;
  readonly rows: number;
}

/**
 * The statement `ctx.batchRanges` runs once per key range. SQL: the text (or `{ sql }`) with two
 * parameters, the range's first and last key, in the driver's placeholder style (PostgreSQL
 * `$1`/`$2`, SQLite `?1`/`?2`, MySQL/MariaDB `?`, `?`). MongoDB: `{ update }`, an update document
 * (or, on MongoDB 4.2+, an update pipeline) applied with `updateMany` to the documents of the
 * range; or `{ pipeline }`, aggregation stages after the range's `$match`, ending in `$merge`.
 */
export type RangeStatement =
  | string
  | { readonly sql: string }
  | { readonly update: Readonly<Record<string, unknown>> | readonly Readonly<Record<string, unknown>>[] }
  | { readonly pipeline: readonly Readonly<Record<string, unknown>>[] };

/** Options of {@link Adapter.write}. */
export interface WriteOptions {
  /**
   * Run inside one transaction (default: whenever the adapter supports transactional steps).
   * False runs the writes one by one, as for `CREATE INDEX CONCURRENTLY`.
   */
  readonly transactional?: boolean;
  /** Roll the transaction back at the end instead of committing: for dry runs. */
  readonly rollback?: boolean;
  /**
   * Default true. False lets the database acknowledge the commit before flushing it to disk
   * (PostgreSQL's `synchronous_commit = off`): for batch pages, whose checkpoint commits in the
   * same transaction, so a server crash loses a page and its checkpoint together and the
   * rerun redoes that page. Never for the ledger entry and stamp.
   */
  readonly durable?: boolean;
}

/** How an adapter is opened. */
export interface OpenOptions {
  /** May the database (an SQLite file) be created? Only `init` and `upgrade` say yes. */
  readonly create: boolean;
}

/**
 * One database. `TDb` is the handle steps receive (`better-sqlite3`'s Database, a `pg`
 * client, a MongoDB `Db` bound to the step's session, ...).
 */
export interface Adapter<TDb = unknown> {
  /** "sqlite", "postgres", "mysql", "mongodb". */
  readonly kind: string;
  /** The target with credentials redacted: safe to print. */
  readonly displayName: string;
  /** What the adapter can do at best; `describe()` says what this database allows. */
  readonly capabilities: AdapterCapabilities;

  open(options: OpenOptions): Promise<void>;
  close(): Promise<void>;
  describe(): Promise<DatabaseDescription>;

  /**
   * A pure read: never creates lockstep's store, never writes. The stamp is parsed with
   * `parseStamp` (a stamp that is not a version is E_STAMP_INVALID, unless `options` says
   * to read it as unstamped).
   */
  readState(options?: ReadStateOptions): Promise<DatabaseState>;
  /** History, oldest first; `limit` keeps the newest entries. */
  readHistory(options?: { limit?: number }): Promise<HistoryEntry[]>;
  /** Creates lockstep's tables/collections when missing. Idempotent and race-safe. */
  ensureStore(): Promise<void>;

  /** One atomic attempt to take the lease: free, expired, or already ours. Never check-then-insert. */
  tryAcquireLease(request: LeaseRequest): Promise<LeaseAttempt>;
  /** Removes the lease; with `owner`, only if that owner still holds it. Returns what was removed. */
  breakLease(options: { owner?: string }): Promise<LeaseInfo | null>;

  /**
   * Runs `fn` with a writer for lockstep's store and the handle steps use. With a lease,
   * the adapter first checks that the lease is still ours and fails with `E_LEASE_LOST`
   * before any write otherwise.
   */
  write<T>(
    lease: LeaseHandle | null,
    fn: (writer: StateWriter, db: TDb) => Promise<T>,
    options?: WriteOptions,
  ): Promise<T>;

  /**
   * Records `instance` as live for `ttlMs` from now by the database's clock, or refreshes it
   * (an upsert on `id`: the same call is the keep-alive). Creates the registry when missing
   * (not one of {@link STORE_PARTS}: an older store without it is not damaged). One round trip
   * when the registry exists.
   */
  registerInstance(instance: InstanceRecord, ttlMs: number): Promise<void>;
  /** Removes one instance (its guard closed, or it was found dead). Never throws on a missing one. */
  removeInstance(id: string): Promise<void>;
  /** Every recorded instance, expired ones included (the core judges liveness); [] without a registry. */
  listInstances(): Promise<InstanceInfo[]>;

  /** Counts documents or rows, for preconditions and dry runs. */
  count(query: CountQuery): Promise<number>;
  /** The plain handle, outside any transaction (preconditions, dry runs). */
  handle(): TDb;

  /** Whether `source`'s table/collection exists and its key is unique: checked before a batch writes anything. */
  inspectBatchSource(source: BatchSource): Promise<BatchSourceInfo>;
  /**
   * Reads up to `limit` rows of `source` with a key greater than `after` (all from the start
   * when `after` is null), in key order. Uses its own connection where it can, so the next
   * page can be read while the current one is written.
   */
  readPage(source: BatchSource, after: unknown, limit: number): Promise<BatchPage>;
  /** Writes one page of changes with one bulk statement (or bulkWrite), through `db`. */
  writePage(db: TDb, source: BatchSource, changes: readonly BatchChange[]): Promise<number>;
  /**
   * The range of up to `limit` keys of `source` after `after` (from the start when null), in key
   * order: its first and last key and row count; null when no row is left. One indexed query,
   * on its own connection where it can (the next range is read while one is written).
   */
  readRange(source: BatchSource, after: unknown, limit: number): Promise<KeyRange | null>;
  /** Runs a range statement (checked by the core) over `range`, through `db`; returns the rows it wrote. */
  runRange(db: TDb, source: BatchSource, statement: RangeStatement, range: KeyRange): Promise<number>;
}
