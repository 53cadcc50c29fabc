/** lockstep's collections on MongoDB, created when missing (`Adapter.ensureStore`). */
import type * as Mongo from "mongodb";
import type { MongoCollectionNames } from "./documents.js";

/** createCollection on an existing collection. */
const NAMESPACE_EXISTS = 48;

/**
 * Creates each of lockstep's collections that is missing, outside any transaction (implicit
 * creation inside one fails on MongoDB < 4.4 and on sharded clusters). Idempotent and
 * race-safe: a collection another process created first is fine. The instance registry is not
 * a store part: its first registration creates it.
 */
export async function ensureStore(db: Mongo.Db, collections: MongoCollectionNames): Promise<void> {
  const { instances: _registry, ...store } = collections;
  for (const name of Object.values(store)) {
    const found = await db.listCollections({ name }, { nameOnly: true }).toArray();
    if (found.length > 0) continue;
    try {
      await db.createCollection(name);
    } catch (error) {
      if ((error as { code?: unknown }).code !== NAMESPACE_EXISTS) throw error;
    }
  }
}
