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
 * | lease | `lockstep_lease`: one document, `_id: "<app>_upgrade_lease"` |
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
  HistoryAction,
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
import { DatabaseError, LeaseError, LockstepError } from "../../core/errors.js";
import { normaliseVersion } from "../../core/versions.js";
import { loadDriver } from "../load-driver.js";
import { redactUrl } from "../url.js";
import { inspectBatchSource } from "./inspect-batch-source.js";
import { bindSession } from "./session-bound.js";

/** The names of lockstep's collections beside the seed's metadata collection. */
export interface MongoCollectionNames {
  /** The seed's collection holding the `<app>_schema_version` singleton. */
  readonly metadata: string;
  readonly ledger: string;
  readonly history: string;
  readonly markers: string;
  readonly lease: string;
}

/** Default collection names (`metadata` is the seed's). */
export const DEFAULT_MONGO_COLLECTIONS: MongoCollectionNames = {
  metadata: "database_metadata",
  ledger: "lockstep_ledger",
  history: "lockstep_history",
  markers: "lockstep_markers",
  lease: "lockstep_lease",
};

/** Default application name: the stamp is `lockstep_schema_version`. */
export const DEFAULT_MONGO_APP = "lockstep";

/** Default server selection timeout (ms): an unreachable server fails in this long. */
export const DEFAULT_SERVER_SELECTION_TIMEOUT_MS = 5000;

/** Options of {@link MongoAdapter}. */
export interface MongoAdapterOptions {
  /**
   * A `mongodb://` or `mongodb+srv://` URL; its path names the database. Its query may set
   * `app` and `stampId` (the options below win over them).
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

/** The deployment shape, from `hello`. */
export type MongoTopology = "standalone" | "replica set" | "sharded";

/** What the adapter measured on the server when it opened. */
export interface MongoServerInfo {
  readonly topology: MongoTopology;
  /** "MongoDB 7.0.4" or "FerretDB v1.24.2 (MongoDB 7.0.42 compatible)". */
  readonly server: string;
  readonly ferretdb: boolean;
  /** A transaction was opened, written in and aborted without error. */
  readonly supportsTransactions: boolean;
  /** Why transactions are unavailable (the server's answer), when they are. */
  readonly transactionsRefused: string | null;
  /**
   * A conditional update (`findOneAndUpdate` with a filter) is atomic. False on FerretDB
   * 1.24, which filters and then writes back by `_id`: the lease then uses generation documents.
   */
  readonly atomicConditionalWrites: boolean;
  /** Where lease expiry is judged: the server's `hello.localTime`, or (never seen) this machine. */
  readonly clock: "server" | "client";
  /**
   * The most update statements one `update` command may carry; null: no limit of ours (the
   * driver splits at the server's `maxWriteBatchSize`). {@link FERRETDB_MAX_UPDATES_PER_COMMAND} on FerretDB.
   */
  readonly maxUpdatesPerCommand: number | null;
}

/**
 * FerretDB 1.24 (SQLite backend) keeps each statement's cursor of an `update` command open
 * until the whole command ends (`defer closer.Close()` inside the statement loop of
 * internal/handler/msg_update.go), and a database has 100 SQLite connections
 * (internal/backends/sqlite/metadata/pool/opendb.go, `SetMaxOpenConns(100)`): an update of
 * 100 statements or more waits forever for a connection and hangs the whole server (measured:
 * 99 statements finish, 100 never do). Small commands are also faster there (measured on 400
 * documents: 5.6 s in commands of 10, 8.9 s in commands of 50), so a page goes in commands of 10.
 */
export const FERRETDB_MAX_UPDATES_PER_COMMAND = 10;

const CAPABILITIES: AdapterCapabilities = {
  supportsTransactionalSteps: true,
  supportsTransactionalDdl: true,
  leaseMode: "lease-document",
  queryLanguage: "mongodb",
};

/** MongoDB's duplicate key error. */
const DUPLICATE_KEY = 11000;
/** createCollection on an existing collection. */
const NAMESPACE_EXISTS = 48;

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
  #client: Mongo.MongoClient | undefined;
  #db: Db | undefined;
  #info: Promise<MongoServerInfo> | undefined;

  constructor(options: MongoAdapterOptions) {
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

  #collection(name: keyof MongoCollectionNames): Mongo.Collection<any> {
    return this.#conn.collection(this.collections[name]);
  }

  // MongoDB creates databases on first write: there is no missing database to refuse, so
  // `create` changes nothing here (a misspelt name reads as an empty, unstamped database).
  async open(_options: OpenOptions): Promise<void> {
    if (this.#client) return;
    const driver = await loadDriver<Driver>("mongodb", "MongoDB");
    const client = new driver.MongoClient(this.#url, {
      serverSelectionTimeoutMS: this.#serverSelectionTimeoutMS,
      ...this.#clientOptions,
    });
    try {
      await client.connect();
    } catch (error) {
      await client.close().catch(() => undefined);
      throw this.#connectError(error);
    }
    this.#client = client;
    this.#db = client.db(this.databaseName);
  }

  #connectError(error: unknown): DatabaseError {
    const name = (error as Error).name ?? "";
    const code = (error as { code?: unknown }).code;
    // 18: AuthenticationFailed. The driver's messages name hosts, never passwords.
    if (code === 18 || /auth/i.test(name)) {
      return new DatabaseError(
        "E_DATABASE_UNREADABLE",
        `cannot log in to ${this.displayName}: ${(error as Error).message}`,
        { cause: error, hint: "check the user, password and authSource in the URL" },
      );
    }
    return new DatabaseError(
      "E_DATABASE_UNREACHABLE",
      `cannot reach the MongoDB server at ${this.displayName} within ${this.#serverSelectionTimeoutMS} ms: ${(error as Error).message}`,
      {
        cause: error,
        hint: "check that the server is running and the host, port and replicaSet in the URL are right",
      },
    );
  }

  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    this.#db = undefined;
    this.#info = undefined;
    await client?.close();
  }

  handle(): Db {
    return this.#conn;
  }

  /** Topology, server and transaction support, measured once per connection. */
  serverInfo(): Promise<MongoServerInfo> {
    this.#info ??= this.#probe();
    return this.#info;
  }

  async #probe(): Promise<MongoServerInfo> {
    const admin = this.#conn.admin();
    const hello = (await admin.command({ hello: 1 })) as {
      setName?: string;
      msg?: string;
      localTime?: Date;
    };
    const topology: MongoTopology =
      hello.msg === "isdbgrid" ? "sharded" : hello.setName !== undefined ? "replica set" : "standalone";
    const build = (await admin.command({ buildInfo: 1 }).catch(() => ({}))) as {
      version?: string;
      ferretdbVersion?: string;
    };
    const ferretdb = build.ferretdbVersion !== undefined;
    const server = ferretdb
      ? `FerretDB ${build.ferretdbVersion} (MongoDB ${build.version ?? "?"} compatible)`
      : `MongoDB ${build.version ?? "(version unknown)"}`;
    const refused = await this.#probeTransactions();
    return {
      topology,
      server,
      ferretdb,
      supportsTransactions: refused === null,
      transactionsRefused: refused,
      atomicConditionalWrites: !ferretdb,
      clock: hello.localTime instanceof Date ? "server" : "client",
      maxUpdatesPerCommand: ferretdb ? FERRETDB_MAX_UPDATES_PER_COMMAND : null,
    };
  }

  /**
   * Opens a transaction, writes in it and aborts it: null when that works, else the
   * server's refusal. A read alone is not enough: FerretDB 1.24 runs a `find` carrying
   * transaction fields and refuses only writes ("unknown field autocommit"). The write is a
   * delete of a document that never exists, so nothing is created or changed.
   */
  async #probeTransactions(): Promise<string | null> {
    const session = this.#mongoClient.startSession();
    try {
      session.startTransaction();
      await this.#collection("metadata").deleteOne({ _id: "__lockstep_transaction_probe__" }, { session });
      await session.abortTransaction();
      return null;
    } catch (error) {
      if (session.inTransaction()) await session.abortTransaction().catch(() => undefined);
      return (error as Error).message;
    } finally {
      await session.endSession().catch(() => undefined);
    }
  }

  async describe(): Promise<DatabaseDescription> {
    const info = await this.serverInfo();
    const transactional = info.supportsTransactions;
    const guarantees = transactional
      ? [
          `${info.topology}: each step commits atomically with its ledger entry and stamp`,
          "a step's db is bound to the transaction's session: every collection operation carries it",
          "index and collection creation belong in a step's prepare phase, outside the transaction",
        ]
      : [
          `${info.topology}: no transactions (${info.transactionsRefused ?? "refused"}); steps run write by write`,
          "an in-progress marker makes a crashed step show as INTERRUPTED; idempotent steps are retried",
        ];
    guarantees.push(
      `one upgrader at a time: ${info.atomicConditionalWrites ? "a lease document taken by one atomic findOneAndUpdate" : "a chain of lease documents, taken over by inserting the next generation (unique _id)"}, expiry judged by the ${info.clock === "server" ? "server's" : "this machine's"} clock`,
    );
    return {
      target: this.displayName,
      server: `${info.server}, ${info.topology}`,
      guarantees,
      capabilities: {
        supportsTransactionalSteps: transactional,
        supportsTransactionalDdl: transactional,
        leaseMode: "lease-document",
        queryLanguage: "mongodb",
      },
    };
  }

  async #collectionExists(name: string): Promise<boolean> {
    const found = await this.#conn.listCollections({ name }, { nameOnly: true }).toArray();
    return found.length > 0;
  }

  async ensureStore(): Promise<void> {
    // Created outside any transaction: implicit creation inside one fails on MongoDB < 4.4
    // and on sharded clusters.
    for (const name of Object.values(this.collections)) {
      if (await this.#collectionExists(name)) continue;
      try {
        await this.#conn.createCollection(name);
      } catch (error) {
        if ((error as { code?: unknown }).code !== NAMESPACE_EXISTS) throw error;
      }
    }
  }

  async readState(): Promise<DatabaseState> {
    const [stampDoc, hasLedger, markers, lease] = await Promise.all([
      this.#collection("metadata").findOne<StampDoc>({ _id: this.stampId }),
      this.#collectionExists(this.collections.ledger),
      this.#collection("markers").find<MarkerDoc>({}).sort({ startedAt: 1 }).toArray(),
      this.#readLease(),
    ]);
    const ledger = hasLedger
      ? (await this.#collection("ledger").find<LedgerDoc>({}).sort({ appliedAt: 1, _id: 1 }).toArray()).map(
          fromLedgerDoc,
        )
      : [];
    return {
      stamp: this.#stampOf(stampDoc),
      hasLedger,
      ledger,
      interrupted: markers.map(fromMarkerDoc),
      lease,
    };
  }

  #stampOf(doc: StampDoc | null): string | null {
    const raw = doc?.version;
    // The seed's get_db_version: a missing document or an empty version is unstamped.
    if (raw === undefined || raw === null || raw === "") return null;
    const source = `${this.collections.metadata} { _id: "${this.stampId}" }`;
    try {
      return normaliseVersion(String(raw), source);
    } catch (error) {
      // The seed writes str(packaging.Version): PEP 440 ("1.0", "1.0.0rc1", "1.0.0.dev2").
      const converted = pep440ToSemver(String(raw));
      if (converted === null) throw error;
      return normaliseVersion(converted, source);
    }
  }

  async #serverNow(): Promise<Date> {
    const hello = (await this.#conn.admin().command({ hello: 1 })) as { localTime?: unknown };
    return hello.localTime instanceof Date ? hello.localTime : new Date();
  }

  /** FerretDB's lease is a chain of generation documents (see {@link MongoServerInfo.atomicConditionalWrites}). */
  async #generations(): Promise<boolean> {
    return !(await this.serverInfo()).atomicConditionalWrites;
  }

  /** The newest generation document of the lease (FerretDB mode). */
  #latestGeneration(): Promise<GenerationDoc | null> {
    return this.#collection("lease")
      .find<GenerationDoc>({ lease: this.leaseId })
      .sort({ gen: -1 })
      .limit(1)
      .next();
  }

  async #readLease(): Promise<LeaseInfo | null> {
    const [doc, now] = await Promise.all([
      (await this.#generations())
        ? this.#latestGeneration()
        : this.#collection("lease").findOne<LeaseDoc>({ _id: this.leaseId }),
      this.#serverNow(),
    ]);
    return doc && doc.owner !== null ? fromLeaseDoc(doc as LeaseDoc, now) : null;
  }

  async readHistory(options: { limit?: number } = {}): Promise<HistoryEntry[]> {
    const cursor = this.#collection("history").find<HistoryDoc>({}).sort({ at: -1, _id: -1 });
    if (options.limit !== undefined && options.limit >= 0) cursor.limit(options.limit);
    const docs = await cursor.toArray();
    return docs.reverse().map(fromHistoryDoc);
  }

  async tryAcquireLease(request: LeaseRequest): Promise<LeaseAttempt> {
    await this.ensureStore();
    if (await this.#generations()) return this.#acquireGeneration(request);
    // Server time read first: MongoDB refuses `$expr` (hence `$$NOW`) in an upsert's filter,
    // and FerretDB 1.24 refuses update pipelines altogether. Reading the time before the
    // update makes expiry slightly stricter (never a takeover before the server says so).
    const now = await this.#serverNow();
    try {
      const taken = await this.#collection("lease").findOneAndUpdate(
        { _id: this.leaseId, $or: [{ expiresAt: { $lt: now } }, { owner: request.owner }] },
        {
          $set: {
            owner: request.owner,
            host: request.host,
            pid: request.pid,
            user: request.user,
            acquiredAt: now,
            expiresAt: new Date(now.getTime() + request.ttlMs),
          },
        },
        { upsert: true, returnDocument: "after" },
      );
      if (taken && taken.owner === request.owner) return { lease: new MongoLease(this, request, null) };
    } catch (error) {
      // The document exists and is neither expired nor ours: the upsert's insert collides.
      if (!isDuplicateKey(error)) throw error;
    }
    return { heldBy: await this.#readLease().catch(() => null) };
  }

  /**
   * FerretDB 1.24 evaluates an update's filter, then writes the document back by `_id`: two
   * `findOneAndUpdate`s on one expired lease both "win" (measured: 8 racers, up to 8 winners).
   * Only an insert's unique `_id` is atomic there, so the lease is a chain of generation
   * documents `{ _id: "<leaseId>#<n>", gen: n }`: the newest one is the lease, and taking it
   * over (or releasing or breaking it) is inserting generation n+1, which exactly one racer
   * can do. The read of generation n only chooses n+1; the insert decides.
   */
  async #acquireGeneration(request: LeaseRequest): Promise<LeaseAttempt> {
    const [latest, now] = await Promise.all([this.#latestGeneration(), this.#serverNow()]);
    if (latest && latest.owner !== null && latest.owner !== request.owner && latest.expiresAt >= now) {
      return { heldBy: fromLeaseDoc(latest as LeaseDoc, now) };
    }
    if (latest && latest.owner === request.owner) {
      // Already ours: renewed in place (only the holder writes its own generation).
      await this.#collection("lease").updateOne(
        { _id: latest._id },
        { $set: { expiresAt: new Date(now.getTime() + request.ttlMs) } },
      );
      return { lease: new MongoLease(this, request, latest.gen) };
    }
    const gen = (latest?.gen ?? 0) + 1;
    const inserted = await this.#insertGeneration(gen, {
      owner: request.owner,
      host: request.host,
      pid: request.pid,
      user: request.user,
      acquiredAt: now,
      expiresAt: new Date(now.getTime() + request.ttlMs),
    });
    // A racer that read a generation long gone can insert a number already deleted below the
    // newest one: that link is not the lease.
    if (!inserted || (await this.#latestGeneration())?.gen !== gen) {
      return { heldBy: await this.#readLease().catch(() => null) };
    }
    return { lease: new MongoLease(this, request, gen) };
  }

  /** Inserts lease generation `gen`; false when another process inserted it first. */
  async #insertGeneration(
    gen: number,
    fields: Omit<GenerationDoc, "_id" | "lease" | "gen">,
  ): Promise<boolean> {
    try {
      await this.#collection("lease").insertOne({
        _id: `${this.leaseId}#${gen}`,
        lease: this.leaseId,
        gen,
        ...fields,
      });
    } catch (error) {
      if (isDuplicateKey(error)) return false;
      throw error;
    }
    // Older generations are superseded for good: only the newest one is ever read.
    await this.#collection("lease")
      .deleteMany({ lease: this.leaseId, gen: { $lt: gen } })
      .catch(() => undefined);
    return true;
  }

  /** A generation that ends the chain's current holder: released or broken. */
  #tombstone(now: Date): Omit<GenerationDoc, "_id" | "lease" | "gen"> {
    return { owner: null, host: "", pid: 0, user: "", acquiredAt: now, expiresAt: now };
  }

  /** Renews our lease by the server's clock; false when another owner has it now. */
  async renewLease(owner: string, ttlMs: number, generation: number | null): Promise<boolean> {
    const now = await this.#serverNow();
    const expiresAt = new Date(now.getTime() + ttlMs);
    if (generation !== null) {
      // Only the holder writes its own generation document; takeovers insert new ones.
      const latest = await this.#latestGeneration();
      if (latest?.gen !== generation || latest.owner !== owner) return false;
      await this.#collection("lease").updateOne({ _id: latest._id }, { $set: { expiresAt } });
      return true;
    }
    const result = await this.#collection("lease").updateOne(
      { _id: this.leaseId, owner },
      { $set: { expiresAt } },
    );
    return result.matchedCount === 1;
  }

  /** Gives the lease back if `owner` holds it. */
  async releaseLease(owner: string, generation: number | null): Promise<void> {
    if (generation !== null) {
      const latest = await this.#latestGeneration();
      if (latest?.gen === generation && latest.owner === owner) {
        await this.#insertGeneration(generation + 1, this.#tombstone(await this.#serverNow()));
      }
      return;
    }
    await this.#collection("lease").deleteOne({ _id: this.leaseId, owner });
  }

  async breakLease(options: { owner?: string }): Promise<LeaseInfo | null> {
    if (await this.#generations()) {
      const [latest, now] = await Promise.all([this.#latestGeneration(), this.#serverNow()]);
      if (!latest || latest.owner === null) return null;
      if (options.owner !== undefined && latest.owner !== options.owner) return null;
      const broken = await this.#insertGeneration(latest.gen + 1, this.#tombstone(now));
      return broken ? fromLeaseDoc(latest as LeaseDoc, now) : null;
    }
    const filter: Mongo.Filter<any> = { _id: this.leaseId };
    if (options.owner !== undefined) filter.owner = options.owner;
    const [removed, now] = await Promise.all([
      this.#collection("lease").findOneAndDelete(filter),
      this.#serverNow(),
    ]);
    return removed ? fromLeaseDoc(removed as LeaseDoc, now) : null;
  }

  async write<T>(
    lease: LeaseHandle | null,
    fn: (writer: StateWriter, db: Db) => Promise<T>,
    options: WriteOptions = {},
  ): Promise<T> {
    const info = await this.serverInfo();
    const transactional = (options.transactional ?? true) && info.supportsTransactions;
    if (!transactional) {
      if (lease) await this.#assertLease(lease, undefined);
      const writer = new MongoStateWriter(this, undefined);
      const result = await fn(writer, this.#conn);
      await writer.flush();
      return result;
    }
    const session = this.#mongoClient.startSession();
    try {
      session.startTransaction({ readConcern: { level: "snapshot" }, writeConcern: { w: "majority" } });
      if (lease) await this.#assertLease(lease, session);
      const writer = new MongoStateWriter(this, session);
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

  /**
   * Fails with E_LEASE_LOST unless the lease document is still ours. Inside a transaction
   * the check writes the lease document, so a takeover racing our commit conflicts with it
   * instead of slipping in between the check and the commit.
   */
  async #assertLease(lease: LeaseHandle, session: Session): Promise<void> {
    if (!lease.lost && (await this.#stillOurs(lease, session))) return;
    if (lease instanceof MongoLease) lease.markLost();
    const holder = await this.#readLease().catch(() => null);
    throw new LeaseError(
      "E_LEASE_LOST",
      `the lease on ${this.displayName} was lost${holder && holder.owner !== lease.owner ? `: taken over by ${holder.owner} (pid ${holder.pid} on ${holder.host})` : ""}; stopping before the next write`,
      holder
        ? { owner: holder.owner, host: holder.host, pid: holder.pid, expiresAt: holder.expiresAt }
        : undefined,
      { hint: "run `lockstep status` to see where the database stands, then `lockstep upgrade` again" },
    );
  }

  async #stillOurs(lease: LeaseHandle, session: Session): Promise<boolean> {
    if (await this.#generations()) {
      const latest = await this.#latestGeneration();
      const generation = lease instanceof MongoLease ? lease.generation : latest?.gen;
      return latest !== null && latest.gen === generation && latest.owner === lease.owner;
    }
    const result = await this.#collection("lease").updateOne(
      { _id: this.leaseId, owner: lease.owner },
      { $currentDate: { checkedAt: true } },
      session ? { session } : {},
    );
    return result.matchedCount === 1;
  }

  /** @internal The writer's access to lockstep's collections. */
  collectionFor(name: keyof MongoCollectionNames): Mongo.Collection<any> {
    return this.#collection(name);
  }

  async inspectBatchSource(source: BatchSource): Promise<BatchSourceInfo> {
    return inspectBatchSource(this.#conn, source);
  }

  /**
   * One keyset page: `{ filter, key > after }` sorted by key. Read on the adapter's own
   * connection and never with a step's session: the batch helper reads the next page while
   * the current one is written in its transaction.
   */
  async readPage(source: BatchSource, after: unknown, limit: number): Promise<BatchPage> {
    const key = source.key ?? "_id";
    const filter: Mongo.Filter<Mongo.Document> = {
      $and: [
        (source.filter ?? {}) as Mongo.Filter<Mongo.Document>,
        after === null ? {} : { [key]: { $gt: after } },
      ],
    };
    const projection = source.fields
      ? Object.fromEntries([key, ...source.fields].map((field) => [field, 1]))
      : undefined;
    // batchSize = limit: the page comes in one reply, and no server cursor stays open while
    // the previous page is written.
    const rows = await this.#conn
      .collection(sourceCollection(source))
      .find(filter, { batchSize: limit, ...(projection && { projection }) })
      .sort({ [key]: 1 })
      .limit(limit)
      .toArray();
    return { rows, lastKey: rows.length > 0 ? rows[rows.length - 1]![key] : null };
  }

  /**
   * One page of changes as one unordered `bulkWrite` of `$set`s, through `db`: inside a
   * transaction that handle is session-bound, so the page commits with its checkpoint. On
   * FerretDB (no transactions) the page goes in several small bulkWrites, see
   * {@link FERRETDB_MAX_UPDATES_PER_COMMAND}. Returns how many documents matched.
   */
  async writePage(db: Db, source: BatchSource, changes: readonly BatchChange[]): Promise<number> {
    const key = source.key ?? "_id";
    const operations: Mongo.AnyBulkWriteOperation<Mongo.Document>[] = changes
      // An empty $set is an error on MongoDB: a change that sets nothing writes nothing.
      .filter((change) => Object.keys(change.set).length > 0)
      .map((change) => ({
        updateOne: { filter: { [key]: change.key }, update: { $set: { ...change.set } } },
      }));
    if (operations.length === 0) return 0;
    const collection = db.collection(sourceCollection(source));
    const chunk = (await this.serverInfo()).maxUpdatesPerCommand ?? operations.length;
    let matched = 0;
    for (let start = 0; start < operations.length; start += chunk) {
      const result = await collection.bulkWrite(operations.slice(start, start + chunk), { ordered: false });
      matched += result.matchedCount;
    }
    return matched;
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

/**
 * lockstep's writes. The stamp is written when the history entry that explains it arrives
 * (or at the end of the write), so the seed's history gets the seed's action names
 * ("initialise", "upgrade", "auto_stamp") and the application version.
 */
class MongoStateWriter implements StateWriter {
  #pendingStamp: string | null = null;

  constructor(
    private readonly adapter: MongoAdapter,
    private readonly session: Session,
  ) {}

  get #options(): { session?: Mongo.ClientSession } {
    return this.session ? { session: this.session } : {};
  }

  async setStamp(version: string): Promise<void> {
    if (this.#pendingStamp !== null) await this.flush();
    this.#pendingStamp = version;
  }

  /** Writes a stamp set since the last history entry. */
  async flush(action: HistoryAction | null = null, appVersion: string | null = null): Promise<void> {
    const version = this.#pendingStamp;
    if (version === null) return;
    this.#pendingStamp = null;
    const a = this.adapter;
    // The seed's update_db_version: one $set of the version and one $push of its history entry.
    const entry: SeedHistoryEntry = {
      version,
      action: seedAction(action),
      timestamp: new Date(),
      [`${a.app}_version`]: appVersion,
    };
    await (a.collectionFor("metadata") as Mongo.Collection<StampDoc>).updateOne(
      { _id: a.stampId },
      { $set: { version }, $push: { history: entry } },
      { upsert: true, ...this.#options },
    );
  }

  async putLedgerEntry(e: LedgerEntry): Promise<void> {
    const doc: LedgerDoc = {
      _id: `${e.version}/${e.name}`,
      version: e.version,
      name: e.name,
      checksum: e.checksum,
      kind: e.kind,
      appliedAt: new Date(e.appliedAt),
      durationMs: e.durationMs,
      appVersion: e.appVersion,
      counts: e.counts,
    };
    await this.adapter
      .collectionFor("ledger")
      .replaceOne({ _id: doc._id }, doc, { upsert: true, ...this.#options });
  }

  async setMarker(m: InProgressMarker): Promise<void> {
    const doc: MarkerDoc = {
      _id: `${m.version}/${m.name}`,
      version: m.version,
      name: m.name,
      startedAt: new Date(m.startedAt),
      owner: m.owner,
      host: m.host,
      pid: m.pid,
      checkpoint: m.checkpoint ?? null,
    };
    await this.adapter
      .collectionFor("markers")
      .replaceOne({ _id: doc._id }, doc, { upsert: true, ...this.#options });
  }

  async clearMarker(version: string, name: string): Promise<void> {
    await this.adapter.collectionFor("markers").deleteOne({ _id: `${version}/${name}` }, this.#options);
  }

  async appendHistory(h: HistoryEntry): Promise<void> {
    await this.flush(h.action, h.appVersion);
    const doc: Omit<HistoryDoc, "_id"> = {
      at: new Date(h.at),
      action: h.action,
      version: h.version,
      step: h.step,
      outcome: h.outcome,
      durationMs: h.durationMs,
      host: h.host,
      user: h.user,
      pid: h.pid,
      appVersion: h.appVersion,
      lockstepVersion: h.lockstepVersion,
      details: h.details,
    };
    await this.adapter.collectionFor("history").insertOne(doc, this.#options);
  }
}

/** The seed's history actions: "initialise", "upgrade", "auto_stamp" (and lockstep's "resolve"). */
function seedAction(action: HistoryAction | null): string {
  if (action === "init") return "initialise";
  if (action === "auto_stamp") return "auto_stamp";
  if (action === "resolve") return "resolve";
  return "upgrade";
}

/** Our lease document, renewed by a heartbeat at a third of its lifetime. */
class MongoLease implements LeaseHandle {
  readonly owner: string;
  /** Our generation document on FerretDB; null on MongoDB (one lease document). */
  readonly generation: number | null;
  #lost = false;
  #beating = false;
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly adapter: MongoAdapter,
    request: LeaseRequest,
    generation: number | null,
  ) {
    this.owner = request.owner;
    this.generation = generation;
    this.#timer = setInterval(
      () => {
        // A beat still waiting (e.g. behind our own transaction's lock on the lease) is not doubled.
        if (this.#beating || this.#lost) return;
        this.#beating = true;
        adapter
          .renewLease(this.owner, request.ttlMs, this.generation)
          .then(
            (renewed) => {
              if (!renewed) this.markLost();
            },
            // A renewal that fails cannot vouch for the lease: stop before the next write.
            () => this.markLost(),
          )
          .finally(() => {
            this.#beating = false;
          });
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
      await this.adapter.releaseLease(this.owner, this.generation);
    } catch {
      // Expiry frees it anyway.
    }
  }
}

/** The database named by a MongoDB URL's path, or null. */
export function databaseFromUrl(url: string): string | null {
  const match = /^mongodb(?:\+srv)?:\/\/[^/?]*\/([^?]*)/i.exec(url);
  const name = match?.[1] ? decodeURIComponent(match[1]) : "";
  return name === "" ? null : name;
}

/** The collection a batch source names. */
function sourceCollection(source: BatchSource): string {
  const name = source.collection ?? source.table;
  if (!name) throw new LockstepError("E_INVALID_STEP", "a batch source needs a collection (or table) name");
  return name;
}

/** lockstep's query parameters of a MongoDB URL, which the driver would refuse. */
const LOCKSTEP_URL_PARAMS = ["app", "stampId"] as const;

/**
 * Splits lockstep's `app` and `stampId` query parameters off a MongoDB URL: the URL for
 * the driver (unchanged when it has neither) and their values.
 */
export function lockstepUrlParams(url: string): { driverUrl: string; app?: string; stampId?: string } {
  const at = url.indexOf("?");
  if (at < 0) return { driverUrl: url };
  const query = new URLSearchParams(url.slice(at + 1));
  if (!LOCKSTEP_URL_PARAMS.some((name) => query.has(name))) return { driverUrl: url };
  const app = query.get("app");
  const stampId = query.get("stampId");
  for (const name of LOCKSTEP_URL_PARAMS) query.delete(name);
  const rest = query.toString();
  return {
    driverUrl: `${url.slice(0, at)}${rest ? `?${rest}` : ""}`,
    ...(app && { app }),
    ...(stampId && { stampId }),
  };
}

function appFromStampId(stampId: string | undefined): string | undefined {
  return stampId?.endsWith("_schema_version") ? stampId.slice(0, -"_schema_version".length) : undefined;
}

/** PEP 440 release strings the seed may have written, as semver; null when not one. */
function pep440ToSemver(value: string): string | null {
  const m = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:[-_.]?(a|b|rc)(\d+))?(?:[-_.]?dev(\d+))?$/i.exec(
    value.trim(),
  );
  if (!m) return null;
  const [, major, minor = "0", patch = "0", pre, preN, dev] = m;
  const pres = [
    pre !== undefined ? `${pre.toLowerCase()}.${preN}` : "",
    dev !== undefined ? `dev.${dev}` : "",
  ]
    .filter(Boolean)
    .join(".");
  return `${major}.${minor}.${patch}${pres ? `-${pres}` : ""}`;
}

/** The seed's stamp document: `{ _id: "<app>_schema_version", version, history }`. */
interface StampDoc {
  _id: string;
  version?: unknown;
  history?: SeedHistoryEntry[];
}

/** `{ version, action, timestamp, <app>_version }`, as the seed writes it. */
interface SeedHistoryEntry {
  version: string;
  action: string;
  timestamp: Date;
  [appVersionField: string]: unknown;
}

interface LedgerDoc {
  _id: string;
  version: string;
  name: string;
  checksum: string | null;
  kind: LedgerEntry["kind"];
  appliedAt: Date;
  durationMs: number | null;
  appVersion: string | null;
  counts: Readonly<Record<string, number>> | null;
}
const fromLedgerDoc = (d: LedgerDoc): LedgerEntry => ({
  version: d.version,
  name: d.name,
  checksum: d.checksum ?? null,
  kind: d.kind,
  appliedAt: isoOf(d.appliedAt),
  durationMs: d.durationMs ?? null,
  appVersion: d.appVersion ?? null,
  counts: d.counts ?? null,
});

interface MarkerDoc {
  _id: string;
  version: string;
  name: string;
  startedAt: Date;
  owner: string;
  host: string;
  pid: number;
  checkpoint: unknown;
}
const fromMarkerDoc = (d: MarkerDoc): InProgressMarker => ({
  version: d.version,
  name: d.name,
  startedAt: isoOf(d.startedAt),
  owner: d.owner,
  host: d.host,
  pid: d.pid,
  checkpoint: d.checkpoint ?? null,
});

interface LeaseDoc {
  _id: string;
  owner: string;
  host: string;
  pid: number;
  user: string;
  acquiredAt: Date;
  expiresAt: Date;
}
const fromLeaseDoc = (d: LeaseDoc, now: Date): LeaseInfo => ({
  owner: d.owner,
  host: d.host,
  pid: d.pid,
  user: d.user,
  acquiredAt: isoOf(d.acquiredAt),
  expiresAt: isoOf(d.expiresAt),
  expired: new Date(d.expiresAt).getTime() < now.getTime(),
});

/** One link of FerretDB's lease chain; `owner` null once released or broken. */
interface GenerationDoc {
  _id: string;
  lease: string;
  gen: number;
  owner: string | null;
  host: string;
  pid: number;
  user: string;
  acquiredAt: Date;
  expiresAt: Date;
}

interface HistoryDoc {
  _id: unknown;
  at: Date;
  action: HistoryAction;
  version: string | null;
  step: string | null;
  outcome: HistoryEntry["outcome"];
  durationMs: number | null;
  host: string;
  user: string;
  pid: number;
  appVersion: string | null;
  lockstepVersion: string;
  details: Readonly<Record<string, unknown>> | null;
}
const fromHistoryDoc = (d: HistoryDoc): HistoryEntry => ({
  at: isoOf(d.at),
  action: d.action,
  version: d.version ?? null,
  step: d.step ?? null,
  outcome: d.outcome,
  durationMs: d.durationMs ?? null,
  host: d.host,
  user: d.user,
  pid: d.pid,
  appVersion: d.appVersion ?? null,
  lockstepVersion: d.lockstepVersion,
  details: d.details ?? null,
});

function isDuplicateKey(error: unknown): boolean {
  return (error as { code?: unknown }).code === DUPLICATE_KEY;
}

function isoOf(value: Date | string): string {
  return value instanceof Date ? value.toISOString() : new Date(value).toISOString();
}
