/**
 * MongoDB (and MongoDB-compatible servers such as FerretDB) through the official `mongodb`
 * driver.
 *
 * Storage, compatible with datalab PR #1833 (research/datalab-and-jobflow-remote.md 1.5):
 *
 * | what | where |
 * | --- | --- |
 * | stamp | `database_metadata` (configurable), the seed's singleton `{ _id: "<app>_schema_version", version, history: [{ version, action, timestamp, <app>_version }] }`; lockstep `$set`s `version` and `$push`es a seed-shaped entry, so the seed's own history is kept and extended |
 * | ledger | `lockstep_ledger`: one document per step, `_id: "<version>/<name>"` |
 * | in-progress markers | `lockstep_markers`: one document per started step, `_id: "<version>/<name>"` |
 * | full history | `lockstep_history`: one document per entry, ordered by `at`, then `_id` |
 * | lease | `lockstep_lease`: one document, `_id: "<app>_upgrade_lease"` (on FerretDB a chain of generation documents `<app>_upgrade_lease#<n>`) |
 * | compatibility floor | field `lockstep_floor` of the stamp document (absent before floors: the stamp stands in) |
 * | instance registry | `lockstep_instances`: one document per running copy of the app, `_id` = its id (instance-registry.ts) |
 *
 * A database stamped only by the seed's Python code has the singleton and no
 * `lockstep_ledger` collection: it reads as stamped, with `hasLedger` false.
 *
 * The URL may carry lockstep's own query parameters `app` and `stampId` (e.g.
 * `mongodb://host/datalab?app=datalab`), so `--database URL` alone can point lockstep at an
 * application's stamp document; they are removed before the URL reaches the driver, which
 * refuses options it does not know.
 *
 * Transactions are detected by opening one (as jobflow-remote does), not from `hello`:
 * FerretDB answers `hello` like a server and refuses transactions when used. Where they
 * work, each step runs in one transaction with its ledger entry and stamp, and the `db` a
 * step receives is bound to the transaction's session (see {@link bindSession}).
 *
 * This file is the shell; each role has its own file: server-info.ts (the probe),
 * seed-stamp.ts (the stamp and the writer), documents.ts (lockstep's documents),
 * state-read.ts (readState's commands), instance-registry.ts (the running instances),
 * mongo-lease.ts with lease-document.ts and lease-generations.ts (the two lease algorithms),
 * batch-pages.ts (the batch helper's pages), url.ts (what the URL says besides the driver's part).
 */

import type * as Mongo from "mongodb";
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
import { leaseLostError } from "../heartbeat-lease.js";
import { loadDriver } from "../load-driver.js";
import { badUrl, redactUrl, scrub, secretsOf } from "../url.js";
import { readPage, writePage } from "./batch-pages.js";
import { connectError } from "./connect-error.js";
import {
  DEFAULT_MONGO_COLLECTIONS,
  fromHistoryDoc,
  type HistoryDoc,
  type MongoCollectionNames,
} from "./documents.js";
import { ensureStore } from "./ensure-store.js";
import { inspectBatchSource } from "./inspect-batch-source.js";
import * as registry from "./instance-registry.js";
import { SingleDocumentLease } from "./lease-document.js";
import { GenerationChainLease } from "./lease-generations.js";
import { MongoLease, type MongoLeaseStore } from "./mongo-lease.js";
import { readRange, runRange } from "./range-pages.js";
import { MongoStateWriter, stampLocation } from "./seed-stamp.js";
import {
  guaranteesOf,
  leaseGuarantee,
  type MongoServerInfo,
  measureServer,
  type OpenedServer,
  probeServer,
  serverNow,
} from "./server-info.js";
import { bindSession } from "./session-bound.js";
import { readDatabaseState } from "./state-read.js";
import { agreeWithUrl, appFromStampId, databaseFromUrl, lockstepUrlParams } from "./url.js";

// The test suite and older imports read these from here.
export { databaseFromUrl, lockstepUrlParams } from "./url.js";

/** Default application name: the stamp is `lockstep_schema_version`. */
export const DEFAULT_MONGO_APP = "lockstep";

/** Default server selection timeout (ms): an unreachable server fails in this long. */
export const DEFAULT_SERVER_SELECTION_TIMEOUT_MS = 5000;

/** Options of {@link MongoAdapter}. */
export interface MongoAdapterOptions {
  /**
   * A `mongodb://` or `mongodb+srv://` URL; its path names the database. Its query may set
   * `app` and `stampId`; the options below may repeat them, a different value is E_DATABASE_URL.
   */
  readonly url: string;
  /** The database; overrides the URL's path. */
  readonly database?: string;
  /**
   * The application name of the seed's layout: the stamp document is
   * `<app>_schema_version` and its history entries carry `<app>_version`. Default "lockstep";
   * "datalab" reads and extends a database stamped by datalab.
   */
  readonly app?: string;
  /** The stamp document's `_id`; default `<app>_schema_version`. */
  readonly stampId?: string;
  readonly collections?: Partial<MongoCollectionNames>;
  /** How long to look for a server before failing with E_DATABASE_UNREACHABLE (ms). Default 5000. */
  readonly serverSelectionTimeoutMS?: number;
  /** Passed to `new MongoClient(url, options)`. */
  readonly clientOptions?: Mongo.MongoClientOptions;
}

const CAPABILITIES: AdapterCapabilities = {
  supportsTransactionalSteps: true,
  supportsTransactionalDdl: true,
  leaseMode: "lease-document",
  queryLanguage: "mongodb",
  rangeParameters: null,
};

type Driver = typeof Mongo;
type Db = Mongo.Db;
type Session = Mongo.ClientSession | undefined;

/**
 * lockstep on MongoDB. Detects the topology, probes transactions, keeps the seed's stamp
 * document and lockstep's ledger, history, markers and lease beside it.
 */
export class MongoAdapter implements Adapter<Db> {
  readonly kind = "mongodb";
  readonly capabilities = CAPABILITIES;
  readonly displayName: string;
  readonly databaseName: string;
  readonly app: string;
  readonly stampId: string;
  readonly leaseId: string;
  readonly collections: MongoCollectionNames;
  readonly #url: string;
  readonly #serverSelectionTimeoutMS: number;
  readonly #clientOptions: Mongo.MongoClientOptions;
  /** Lease handles still held: abandoned (their heartbeat stopped) on close. */
  readonly #live = new Set<MongoLease>();
  #client: Mongo.MongoClient | undefined;
  #db: Db | undefined;
  #opened: OpenedServer | undefined;
  #info: Promise<MongoServerInfo> | undefined;
  #leases: MongoLeaseStore | undefined;

  constructor(options: MongoAdapterOptions) {
    checkOptions(options, "new MongoAdapter(options)", {
      url: "string",
      "database?": "string",
      "app?": "string",
      "stampId?": "string",
      "collections?": "object",
      "serverSelectionTimeoutMS?": "number",
      "clientOptions?": "object",
    });
    const { driverUrl, app, stampId } = lockstepUrlParams(options.url);
    this.#url = driverUrl;
    this.displayName = redactUrl(options.url);
    const database = options.database ?? databaseFromUrl(driverUrl);
    if (!database) {
      throw new DatabaseError(
        "E_DATABASE_URL",
        `the MongoDB URL ${JSON.stringify(this.displayName)} names no database`,
        { hint: "put the database in the URL's path: mongodb://host:27017/mydb" },
      );
    }
    this.databaseName = database;
    agreeWithUrl("app", options.app, app, this.displayName);
    agreeWithUrl("stampId", options.stampId, stampId, this.displayName);
    const givenStampId = options.stampId ?? stampId;
    this.app = options.app ?? app ?? appFromStampId(givenStampId) ?? DEFAULT_MONGO_APP;
    this.stampId = givenStampId ?? `${this.app}_schema_version`;
    this.leaseId = `${this.app}_upgrade_lease`;
    this.collections = { ...DEFAULT_MONGO_COLLECTIONS, ...options.collections };
    this.#serverSelectionTimeoutMS = options.serverSelectionTimeoutMS ?? DEFAULT_SERVER_SELECTION_TIMEOUT_MS;
    this.#clientOptions = options.clientOptions ?? {};
  }

  /** The adapter for a `mongodb://` or `mongodb+srv://` URL; the database is the URL's path. */
  static fromUrl(url: string, options: Omit<MongoAdapterOptions, "url"> = {}): MongoAdapter {
    return new MongoAdapter({ ...options, url });
  }

  get #conn(): Db {
    if (!this.#db) throw new LockstepError("E_UNSUPPORTED", "the MongoDB adapter is not open");
    return this.#db;
  }

  get #mongoClient(): Mongo.MongoClient {
    if (!this.#client) throw new LockstepError("E_UNSUPPORTED", "the MongoDB adapter is not open");
    return this.#client;
  }

  /** What the server said when the adapter opened, with its clock (see server-info.ts). */
  get #server(): OpenedServer {
    if (!this.#opened) throw new LockstepError("E_UNSUPPORTED", "the MongoDB adapter is not open");
    return this.#opened;
  }

  /** The driver's client, e.g. to watch its commands (`clientOptions: { monitorCommands: true }`). */
  client(): Mongo.MongoClient {
    return this.#mongoClient;
  }

  #collection(name: keyof MongoCollectionNames): Mongo.Collection<any> {
    return this.#conn.collection(this.collections[name]);
  }

  // MongoDB creates databases on first write: there is no missing database to refuse, so
  // `create` changes nothing here (a misspelt name reads as an empty, unstamped database).
  async open(_options: OpenOptions): Promise<void> {
    if (this.#client) return;
    const driver = await loadDriver<Driver>("mongodb", "MongoDB");
    let client: Mongo.MongoClient;
    try {
      client = new driver.MongoClient(this.#url, {
        serverSelectionTimeoutMS: this.#serverSelectionTimeoutMS,
        ...this.#clientOptions,
      });
    } catch (error) {
      // MongoParseError: an option or URL form the driver refuses (`?bogusOpt=1`).
      const why = scrub((error as Error).message ?? String(error), secretsOf(this.#url));
      throw badUrl(
        this.#url,
        why,
        "remove or fix the option the driver names (see the MongoDB connection string options)",
      );
    }
    try {
      await client.connect();
    } catch (error) {
      await client.close().catch(() => undefined);
      throw connectError(error, this.displayName, this.#serverSelectionTimeoutMS);
    }
    const db = client.db(this.databaseName);
    try {
      // The server's clock offset and kind, once: readState and the registry then need no `hello`.
      this.#opened = await measureServer(db);
    } catch (error) {
      await client.close().catch(() => undefined);
      throw connectError(error, this.displayName, this.#serverSelectionTimeoutMS);
    }
    this.#client = client;
    this.#db = db;
  }

  /**
   * Closes the connection. A lease still held is abandoned, not released: its heartbeat
   * stops and the lease expires.
   */
  async close(): Promise<void> {
    for (const lease of [...this.#live]) lease.abandon();
    const client = this.#client;
    this.#client = undefined;
    this.#db = undefined;
    this.#opened = undefined;
    this.#info = undefined;
    this.#leases = undefined;
    await client?.close();
  }

  handle(): Db {
    return this.#conn;
  }

  /** Topology, server and transaction support, measured once per connection. */
  serverInfo(): Promise<MongoServerInfo> {
    this.#info ??= probeServer(this.#mongoClient, this.#conn, this.collections.metadata, this.#server);
    return this.#info;
  }

  /**
   * The lease algorithm this server needs, picked once per connection (see mongo-lease.ts):
   * FerretDB's conditional writes are not atomic (`serverInfo().atomicConditionalWrites`).
   */
  #leaseStore(): MongoLeaseStore {
    if (this.#leases) return this.#leases;
    const db = this.#conn;
    const target = {
      collection: this.#collection("lease"),
      leaseId: this.leaseId,
      now: () => serverNow(db),
      live: this.#live,
    };
    this.#leases = this.#server.ferretdb ? new GenerationChainLease(target) : new SingleDocumentLease(target);
    return this.#leases;
  }

  async describe(): Promise<DatabaseDescription> {
    const info = await this.serverInfo();
    const transactional = info.supportsTransactions;
    const guarantees = [...guaranteesOf(info), leaseGuarantee(info, this.#leaseStore().method)];
    return {
      target: this.displayName,
      stamp: stampLocation(this),
      server: `${info.server}, ${info.topology}`,
      guarantees,
      capabilities: {
        ...CAPABILITIES,
        supportsTransactionalSteps: transactional,
        supportsTransactionalDdl: transactional,
      },
    };
  }

  async ensureStore(): Promise<void> {
    await ensureStore(this.#conn, this.collections);
  }

  /** Five commands sent together, none after them (see state-read.ts for why not one). */
  async readState(options: ReadStateOptions = {}): Promise<DatabaseState> {
    const source = { db: this.#conn, layout: this, lease: this.#leaseStore(), clock: this.#server.clock };
    return readDatabaseState(source, options);
  }

  async readHistory(options: { limit?: number } = {}): Promise<HistoryEntry[]> {
    const cursor = this.#collection("history").find<HistoryDoc>({}).sort({ at: -1, _id: -1 });
    if (options.limit !== undefined && options.limit >= 0) cursor.limit(options.limit);
    const docs = await cursor.toArray();
    return docs.reverse().map(fromHistoryDoc);
  }

  async tryAcquireLease(request: LeaseRequest): Promise<LeaseAttempt> {
    await this.ensureStore();
    return this.#leaseStore().tryAcquire(request);
  }

  async breakLease(options: { owner?: string }): Promise<LeaseInfo | null> {
    return this.#leaseStore().break(options);
  }

  async write<T>(
    lease: LeaseHandle | null,
    fn: (writer: Required<StateWriter>, db: Db) => Promise<T>,
    options: WriteOptions = {},
  ): Promise<T> {
    const info = await this.serverInfo();
    const transactional = (options.transactional ?? true) && info.supportsTransactions;
    if (!transactional) {
      if (lease) await this.#assertLease(lease, undefined);
      const writer = new MongoStateWriter(this.#conn, this, undefined);
      const result = await fn(writer, this.#conn);
      await writer.flush();
      return result;
    }
    const session = this.#mongoClient.startSession();
    try {
      session.startTransaction({ readConcern: { level: "snapshot" }, writeConcern: { w: "majority" } });
      if (lease) await this.#assertLease(lease, session);
      const writer = new MongoStateWriter(this.#conn, this, session);
      const result = await fn(writer, bindSession(this.#conn, session));
      await writer.flush();
      if (options.rollback) await session.abortTransaction();
      else await session.commitTransaction();
      return result;
    } catch (error) {
      if (session.inTransaction()) await session.abortTransaction().catch(() => undefined);
      throw error;
    } finally {
      await session.endSession().catch(() => undefined);
    }
  }

  /** Fails with E_LEASE_LOST unless the lease is still ours (see {@link MongoLeaseStore.isHeld}). */
  async #assertLease(lease: LeaseHandle, session: Session): Promise<void> {
    const leases = this.#leaseStore();
    if (!lease.lost && (await leases.isHeld(lease, session))) return;
    if (lease instanceof MongoLease) lease.markLost();
    const holder = await leases.read().catch(() => null);
    throw leaseLostError(this.displayName, holder && holder.owner !== lease.owner ? holder : null);
  }

  /**
   * Records or refreshes `instance` with one upserting `update`, its times from the server's
   * clock by the offset measured at open (see instance-registry.ts); creates the registry.
   */
  async registerInstance(instance: InstanceRecord, ttlMs: number): Promise<void> {
    await registry.registerInstance(this.#collection("instances"), this.#server.clock, instance, ttlMs);
  }

  /** Removes one instance; never throws on a missing one or a missing registry. */
  async removeInstance(id: string): Promise<void> {
    await registry.removeInstance(this.#collection("instances"), id);
  }

  /** Every recorded instance, expiry judged by the server's clock; [] without a registry. */
  async listInstances(): Promise<InstanceInfo[]> {
    return registry.listInstances(this.#collection("instances"), this.#server.clock);
  }

  /** Whether the batch source's collection exists and its key is unique (see inspect-batch-source.ts). */
  async inspectBatchSource(source: BatchSource): Promise<BatchSourceInfo> {
    return inspectBatchSource(this.#conn, source);
  }

  /**
   * One keyset page, read on the adapter's own connection and never with a step's session:
   * the batch helper reads the next page while the current one is written in its transaction.
   */
  readPage(source: BatchSource, after: unknown, limit: number): Promise<BatchPage> {
    return readPage(this.#conn, source, after, limit);
  }

  /** One page of changes through `db` (session-bound inside a transaction), see batch-pages.ts. */
  async writePage(db: Db, source: BatchSource, changes: readonly BatchChange[]): Promise<number> {
    return writePage(db, source, changes, (await this.serverInfo()).maxUpdatesPerCommand);
  }

  /** `ctx.batchRanges`' next key range (own connection) and its statement through `db` (range-pages.ts). */
  readRange(source: BatchSource, after: unknown, limit: number): Promise<KeyRange | null> {
    return readRange(this.#conn, source, after, limit);
  }

  runRange(db: Db, source: BatchSource, statement: RangeStatement, range: KeyRange): Promise<number> {
    return runRange(db, source, statement, range);
  }

  async count(query: CountQuery): Promise<number> {
    if ("table" in query) {
      if (query.where !== undefined && query.where !== "") {
        throw new LockstepError(
          "E_UNSUPPORTED",
          `SQL conditions are not MongoDB's; count ${query.table} with { collection, filter } instead`,
          { hint: "use noDocumentsIn(collection, filter) or affects: [{ collection, filter }]" },
        );
      }
      return this.#conn.collection(query.table).countDocuments({});
    }
    return this.#conn.collection(query.collection).countDocuments(query.filter ?? {});
  }
}
