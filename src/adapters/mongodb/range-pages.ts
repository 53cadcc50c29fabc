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
import { LockstepError } from "../../core/errors.js";

/**
 * The server's answers to a form it lacks: 238 NotImplemented (FerretDB 1.24's `$merge`,
 * `$lookup`), 14 TypeMismatch (FerretDB 1.24 given an update pipeline: "'u' is the wrong type
 * 'array'"), 9 FailedToParse (a MongoDB older than 4.2).
 */
const UNSUPPORTED_FORM = new Set([238, 14, 9]);

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
  const first = docs[0]![key];
  if (after === null || after === undefined) await refuseUnwalkableKeys(db, source, key, first);
  return { first, last: docs[docs.length - 1]![key], rows: docs.length };
}

/**
 * A range is `{ $gte: first, $lte: last }`, and MongoDB compares values of one BSON type only:
 * a document whose key is missing, null or of another type than the first one's would sit in
 * no range. Such a collection is refused before anything is written.
 */
async function refuseUnwalkableKeys(
  db: Mongo.Db,
  source: BatchSource,
  key: string,
  first: unknown,
): Promise<void> {
  const type = bsonTypeOf(first);
  if (type === undefined) return;
  const stray = await db
    .collection(sourceTable(source))
    .findOne(and(source, { [key]: { $not: { $type: type } } }), { projection: { [key]: 1 } });
  if (stray === null) return;
  const value =
    stray[key] === undefined
      ? "none"
      : stray[key] === null
        ? "null"
        : (bsonTypeOf(stray[key]) ?? typeof stray[key]);
  throw new LockstepError(
    "E_INVALID_BATCH",
    `${sourceTable(source)} has a document whose ${key} is ${value === "none" ? "missing" : value === "null" ? "null" : `a ${value}`} while others are a ${type}: ctx.batchRanges compares keys of one type only and would never reach it`,
    { hint: `give a key every document has, of one type (_id), or walk it with ctx.batch` },
  );
}

/** The `$type` alias of a key value (numbers of every width are "number"), undefined when not known. */
function bsonTypeOf(value: unknown): string | undefined {
  if (typeof value === "number" || typeof value === "bigint") return "number";
  if (typeof value === "string") return "string";
  if (typeof value === "boolean") return "bool";
  if (value instanceof Date) return "date";
  const bson = (value as { _bsontype?: string } | null)?._bsontype;
  if (bson === "ObjectId" || bson === "ObjectID") return "objectId";
  if (bson === "Long" || bson === "Int32" || bson === "Double" || bson === "Decimal128") return "number";
  return undefined;
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
  try {
    if (typeof statement === "object" && "update" in statement) {
      const update = statement.update as Mongo.UpdateFilter<Mongo.Document> | Mongo.Document[];
      return (await collection.updateMany(inRange, update)).matchedCount;
    }
    const pipeline = (statement as { pipeline: Mongo.Document[] }).pipeline;
    await collection.aggregate([{ $match: inRange }, ...pipeline]).toArray();
    return range.rows;
  } catch (error) {
    throw unsupported(error, statement);
  }
}

/** A server's refusal of the statement's form as E_UNSUPPORTED naming what runs instead; other errors as they are. */
function unsupported(error: unknown, statement: RangeStatement): unknown {
  const code = (error as { code?: unknown }).code;
  const plain = typeof statement === "object" && "update" in statement && !Array.isArray(statement.update);
  if (plain || typeof code !== "number" || !UNSUPPORTED_FORM.has(code)) return error;
  return new LockstepError(
    "E_UNSUPPORTED",
    `this server cannot run the range statement: ${(error as Error).message}`,
    {
      cause: error,
      hint: "update pipelines and { pipeline } with $merge need MongoDB 4.2+ (FerretDB 1.24 has neither, nor $lookup): use { update: { $set: … } }, or ctx.batch with a JS transform",
    },
  );
}

/** The source's filter and `extra`, both. */
function and(source: BatchSource, extra: Mongo.Filter<Mongo.Document>): Mongo.Filter<Mongo.Document> {
  return { $and: [(source.filter ?? {}) as Mongo.Filter<Mongo.Document>, extra] };
}
