/**
 * What the adapter measures on the server when it opens: topology, server and version,
 * whether transactions work, and what the lease and batch pages must allow for.
 */
import type * as Mongo from "mongodb";
import { FERRETDB_MAX_UPDATES_PER_COMMAND } from "./batch-pages.js";

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

/** What `hello` and `buildInfo` said when the adapter opened, and the server's clock from then on. */
export interface OpenedServer {
  readonly hello: { setName?: string; msg?: string; localTime?: unknown };
  readonly build: { version?: string; ferretdbVersion?: string };
  readonly ferretdb: boolean;
  /** The server's clock, read without a round trip (see {@link ServerClock}). */
  readonly clock: ServerClock;
}

/**
 * The server's clock without a round trip: `hello.localTime` read once when the adapter opens
 * (taken at the midpoint of the `hello` round trip, so off by at most half of it), advanced by
 * this process's monotonic clock (`performance.now()`), so a step of this machine's wall clock
 * (NTP, a VM resumed) changes nothing. Used where one command must carry the server's time:
 * an instance's keep-alive and expiry (instance-registry.ts), and the lease's expiry in
 * `readState()`. MongoDB refuses `$$NOW` in an upsert's filter and FerretDB 1.24 refuses
 * update pipelines altogether, so the server cannot stamp the time itself in one command.
 * Taking and renewing the lease still read `hello.localTime` at each write ({@link serverNow}).
 */
export class ServerClock {
  /** "server": measured from `hello.localTime`; "client": the server sent none (this machine's clock). */
  readonly source: "server" | "client";
  /** The server's time (ms since the epoch) at {@link #at}. */
  readonly #serverMs: number;
  /** `performance.now()` when the server's time was {@link #serverMs}. */
  readonly #at: number;

  /** `serverTime` was the server's time at `performance.now() === at`; null: the server sent none. */
  constructor(serverTime: Date | null, at: number) {
    this.source = serverTime ? "server" : "client";
    this.#serverMs = serverTime ? serverTime.getTime() : 0;
    this.#at = at;
  }

  /** The server's time now. */
  now(): Date {
    if (this.source === "client") return new Date();
    return new Date(this.#serverMs + (performance.now() - this.#at));
  }
}

/** `hello` and `buildInfo`, read once when the adapter opens (two commands, sent together). */
export async function measureServer(db: Mongo.Db): Promise<OpenedServer> {
  const admin = db.admin();
  const before = performance.now();
  const [hello, build] = await Promise.all([
    admin.command({ hello: 1 }).then((answer) => ({ answer, after: performance.now() })),
    admin.command({ buildInfo: 1 }).catch(() => ({})),
  ]);
  const localTime = (hello.answer as { localTime?: unknown }).localTime;
  const clock = new ServerClock(localTime instanceof Date ? localTime : null, (before + hello.after) / 2);
  const info = build as OpenedServer["build"];
  return {
    hello: hello.answer as OpenedServer["hello"],
    build: info,
    ferretdb: info.ferretdbVersion !== undefined,
    clock,
  };
}

/**
 * Measures the server behind `client` from what {@link measureServer} read at open; the
 * transaction probe touches `probeCollection` of `db` (a delete of a document that never exists).
 */
export async function probeServer(
  client: Mongo.MongoClient,
  db: Mongo.Db,
  probeCollection: string,
  opened: OpenedServer,
): Promise<MongoServerInfo> {
  const { hello, build, ferretdb } = opened;
  const topology: MongoTopology =
    hello.msg === "isdbgrid" ? "sharded" : hello.setName !== undefined ? "replica set" : "standalone";
  const server = ferretdb
    ? `FerretDB ${build.ferretdbVersion} (MongoDB ${build.version ?? "?"} compatible)`
    : `MongoDB ${build.version ?? "(version unknown)"}`;
  const refused = await probeTransactions(client, db.collection(probeCollection));
  return {
    topology,
    server,
    ferretdb,
    supportsTransactions: refused === null,
    transactionsRefused: refused,
    atomicConditionalWrites: !ferretdb,
    clock: opened.clock.source,
    maxUpdatesPerCommand: ferretdb ? FERRETDB_MAX_UPDATES_PER_COMMAND : null,
  };
}

/**
 * Opens a transaction, writes in it and aborts it: null when that works, else the
 * server's refusal. A read alone is not enough: FerretDB 1.24 runs a `find` carrying
 * transaction fields and refuses only writes ("unknown field autocommit"). The write is a
 * delete of a document that never exists, so nothing is created or changed.
 */
async function probeTransactions(
  client: Mongo.MongoClient,
  collection: Mongo.Collection<any>,
): Promise<string | null> {
  const session = client.startSession();
  try {
    session.startTransaction();
    await collection.deleteOne({ _id: "__lockstep_transaction_probe__" }, { session });
    await session.abortTransaction();
    return null;
  } catch (error) {
    if (session.inTransaction()) await session.abortTransaction().catch(() => undefined);
    return (error as Error).message;
  } finally {
    await session.endSession().catch(() => undefined);
  }
}

/** The server's clock (`hello.localTime`), or this machine's when the server sends none. */
export async function serverNow(db: Mongo.Db): Promise<Date> {
  const hello = (await db.admin().command({ hello: 1 })) as { localTime?: unknown };
  return hello.localTime instanceof Date ? hello.localTime : new Date();
}

/** What `describe()` promises about steps on this server. */
export function guaranteesOf(info: MongoServerInfo): string[] {
  return info.supportsTransactions
    ? [
        `${info.topology}: each step commits atomically with its ledger entry and stamp`,
        "a step's db is bound to the transaction's session: every collection operation carries it",
        "index and collection creation belong in a step's prepare phase, outside the transaction",
      ]
    : [
        `${info.topology}: no transactions (${info.transactionsRefused ?? "refused"}); steps run write by write`,
        "an in-progress marker makes a crashed step show as INTERRUPTED; idempotent steps are retried",
      ];
}

/** What `describe()` says of the lease: its algorithm (`method`) and whose clock judges expiry. */
export function leaseGuarantee(info: MongoServerInfo, method: string): string {
  return `one upgrader at a time: ${method}, expiry judged by the ${info.clock === "server" ? "server's" : "this machine's"} clock`;
}
