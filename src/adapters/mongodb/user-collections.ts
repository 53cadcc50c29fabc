import type * as Mongo from "mongodb";
import type { MongoCollectionNames } from "./documents.js";

/**
 * Collections and views of `db` that are neither the server's (`system.*`) nor lockstep's
 * (its collections and the seed's metadata collection): 0 proves a new, empty database.
 */
export async function countUserCollections(db: Mongo.Db, collections: MongoCollectionNames): Promise<number> {
  const ours = new Set<string>(Object.values(collections));
  const all = await db.listCollections({}, { nameOnly: true }).toArray();
  return all.filter(({ name }) => !name.startsWith("system.") && !ours.has(name)).length;
}
