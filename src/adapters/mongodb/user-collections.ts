import type { MongoCollectionNames } from "./documents.js";

/**
 * How many of the collections and views `names` lists are neither the server's (`system.*`)
 * nor lockstep's (its collections and the seed's metadata collection): 0 proves a new, empty
 * database.
 */
export function countUserCollections(names: ReadonlySet<string>, collections: MongoCollectionNames): number {
  const ours = new Set<string>(Object.values(collections));
  return [...names].filter((name) => !name.startsWith("system.") && !ours.has(name)).length;
}
