/**
 * `ctx.batchRanges` on MongoDB: the next range's keys read on the adapter's own connection,
 * and the statement run over `{ filter, key: { $gte: first, $lte: last } }`:
 * `{ update }` with `updateMany` (an update document anywhere; an update pipeline on MongoDB
 * 4.2+, not on FerretDB 1.24), `{ pipeline }` as an aggregation after the range's `$match`,
 * ending in `$merge` (MongoDB 4.2+; FerretDB 1.24 has no `$merge` and no `$lookup`).
 */
import type * as Mongo from "mongodb";
import type { BatchSource, KeyRange, RangeStatement } from "../../core/adapter.js";
import { sourceTable } from "../../core/batch.js";

/** The next range of up to `limit` keys after `after` (null: from the start): only the keys travel. */
export async function readRange(
  db: Mongo.Db,
  source: BatchSource,
  after: unknown,
  limit: number,
): Promise<KeyRange | null> {
  const key = source.key ?? "_id";
  const filter = and(source, after === null || after === undefined ? {} : { [key]: { $gt: after } });
  const docs = await db
    .collection(sourceTable(source))
    .find(filter, { projection: { [key]: 1 }, batchSize: limit })
    .sort({ [key]: 1 })
    .limit(limit)
    .toArray();
  if (docs.length === 0) return null;
  return { first: docs[0]![key], last: docs[docs.length - 1]![key], rows: docs.length };
}

/**
 * Runs the statement over the range through `db` (session-bound inside a transaction). An
 * update counts the documents it matched; a `$merge` pipeline reports no count, so it counts
 * the range's documents.
 */
export async function runRange(
  db: Mongo.Db,
  source: BatchSource,
  statement: RangeStatement,
  range: KeyRange,
): Promise<number> {
  const key = source.key ?? "_id";
  const inRange = and(source, { [key]: { $gte: range.first, $lte: range.last } });
  const collection = db.collection(sourceTable(source));
  if (typeof statement === "object" && "update" in statement) {
    const update = statement.update as Mongo.UpdateFilter<Mongo.Document> | Mongo.Document[];
    return (await collection.updateMany(inRange, update)).matchedCount;
  }
  const pipeline = (statement as { pipeline: Mongo.Document[] }).pipeline;
  await collection.aggregate([{ $match: inRange }, ...pipeline]).toArray();
  return range.rows;
}

/** The source's filter and `extra`, both. */
function and(source: BatchSource, extra: Mongo.Filter<Mongo.Document>): Mongo.Filter<Mongo.Document> {
  return { $and: [(source.filter ?? {}) as Mongo.Filter<Mongo.Document>, extra] };
}
