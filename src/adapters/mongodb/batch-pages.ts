/**
 * The batch helper's pages on MongoDB: keyset reads and unordered `bulkWrite`s of `$set`s.
 */
import type * as Mongo from "mongodb";
import type { BatchChange, BatchPage, BatchSource } from "../../core/adapter.js";
import { LockstepError } from "../../core/errors.js";

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

/**
 * One keyset page: `{ filter, key > after }` sorted by key. The caller reads on its own
 * connection and never with a step's session: the batch helper reads the next page while the
 * current one is written in its transaction.
 */
export async function readPage(
  db: Mongo.Db,
  source: BatchSource,
  after: unknown,
  limit: number,
): Promise<BatchPage> {
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
  const rows = await db
    .collection(sourceCollection(source))
    .find(filter, { batchSize: limit, ...(projection && { projection }) })
    .sort({ [key]: 1 })
    .limit(limit)
    .toArray();
  return { rows, lastKey: rows.length > 0 ? rows[rows.length - 1]![key] : null };
}

/**
 * One page of changes as unordered `bulkWrite`s of `$set`s, through `db`: inside a
 * transaction that handle is session-bound, so the page commits with its checkpoint. With
 * `maxUpdatesPerCommand` (FerretDB, see {@link FERRETDB_MAX_UPDATES_PER_COMMAND}) the page
 * goes in several bulkWrites of at most that many. Returns how many documents matched.
 */
export async function writePage(
  db: Mongo.Db,
  source: BatchSource,
  changes: readonly BatchChange[],
  maxUpdatesPerCommand: number | null,
): Promise<number> {
  const key = source.key ?? "_id";
  const operations: Mongo.AnyBulkWriteOperation<Mongo.Document>[] = changes
    // An empty $set is an error on MongoDB: a change that sets nothing writes nothing.
    .filter((change) => Object.keys(change.set).length > 0)
    .map((change) => ({
      updateOne: { filter: { [key]: change.key }, update: { $set: { ...change.set } } },
    }));
  if (operations.length === 0) return 0;
  const collection = db.collection(sourceCollection(source));
  const chunk = maxUpdatesPerCommand ?? operations.length;
  let matched = 0;
  for (let start = 0; start < operations.length; start += chunk) {
    const result = await collection.bulkWrite(operations.slice(start, start + chunk), { ordered: false });
    matched += result.matchedCount;
  }
  return matched;
}

/** The collection a batch source names. */
function sourceCollection(source: BatchSource): string {
  const name = source.collection ?? source.table;
  if (!name) throw new LockstepError("E_INVALID_STEP", "a batch source needs a collection (or table) name");
  return name;
}
