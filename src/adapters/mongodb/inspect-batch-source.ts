import type * as Mongo from "mongodb";
import type { BatchSource, BatchSourceInfo } from "../../core/adapter.js";

/**
 * Whether `source`'s collection exists and its key is unique: `_id` always is; another field
 * needs a unique index on that one field without a partial filter. A view cannot tell.
 * (`find` on a missing collection returns nothing, so without this a batch over a misspelt
 * collection "succeeds" having read nothing.)
 */
export async function inspectBatchSource(db: Mongo.Db, source: BatchSource): Promise<BatchSourceInfo> {
  const name = source.collection ?? source.table ?? "";
  const key = source.key ?? "_id";
  const [found] = await db.listCollections({ name }, { nameOnly: false }).toArray();
  if (!found) return { exists: false, key: "unknown" };
  if (key === "_id") return { exists: true, key: "unique" };
  if (found.type === "view") return { exists: true, key: "unknown" };
  const indexes = await db.collection(name).listIndexes().toArray();
  const unique = indexes.some(
    (index) =>
      index.unique === true &&
      index.partialFilterExpression === undefined &&
      Object.keys(index.key ?? {}).length === 1 &&
      Object.keys(index.key ?? {})[0] === key,
  );
  return { exists: true, key: unique ? "unique" : "not-unique" };
}
