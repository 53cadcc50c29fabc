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

/**
 * Measures the server behind `client`; the transaction probe touches `probeCollection` of
 * `db` (a delete of a document that never exists).
 */
export async function probeServer(
  client: Mongo.MongoClient,
  db: Mongo.Db,
  probeCollection: string,
): Promise<MongoServerInfo> {
  const admin = db.admin();
  const hello = (await admin.command({ hello: 1 })) as { setName?: string; msg?: string; localTime?: Date };
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
  const refused = await probeTransactions(client, db.collection(probeCollection));
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
