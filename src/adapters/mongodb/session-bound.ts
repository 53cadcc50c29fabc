import type * as Mongo from "mongodb";

/**
 * Where each operation takes its options, by method name: the session is merged into that
 * argument. Listed from the driver's (v6) `Collection` and `Db` signatures.
 */
const COLLECTION_OPTIONS_ARG: Readonly<Record<string, number>> = {
  insertOne: 1,
  insertMany: 1,
  bulkWrite: 1,
  updateOne: 2,
  updateMany: 2,
  replaceOne: 2,
  deleteOne: 1,
  deleteMany: 1,
  find: 1,
  findOne: 1,
  findOneAndUpdate: 2,
  findOneAndReplace: 2,
  findOneAndDelete: 1,
  aggregate: 1,
  countDocuments: 1,
  estimatedDocumentCount: 0,
  distinct: 2,
  count: 1,
  createIndex: 1,
  createIndexes: 1,
  dropIndex: 1,
  dropIndexes: 0,
  listIndexes: 0,
  indexes: 0,
  indexExists: 1,
  indexInformation: 0,
  drop: 0,
  rename: 1,
  options: 0,
  isCapped: 0,
  initializeOrderedBulkOp: 0,
  initializeUnorderedBulkOp: 0,
  watch: 1,
};

const DB_OPTIONS_ARG: Readonly<Record<string, number>> = {
  command: 1,
  aggregate: 1,
  listCollections: 1,
  createCollection: 1,
  dropCollection: 1,
  renameCollection: 2,
  dropDatabase: 0,
  createIndex: 2,
  indexInformation: 1,
  stats: 0,
  watch: 1,
};

/**
 * A `Db` whose every operation carries `session`, so a step author cannot forget
 * `{ session }` and write outside the step's transaction (the trap of migrate-mongo #393 and
 * flamingock #545): `db.collection(name)` (and `createCollection`, `collections`) return
 * collections whose operations get `{ session }` merged into their options. An explicit
 * `session` in the options is kept.
 */
export function bindSession(db: Mongo.Db, session: Mongo.ClientSession): Mongo.Db {
  return new Proxy(db, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== "function" || typeof property !== "string") return value;
      const method = value as (...args: unknown[]) => unknown;
      if (property === "collection") {
        return (...args: unknown[]) =>
          bindCollection(method.apply(target, args) as Mongo.Collection<any>, session);
      }
      if (property === "collections") {
        return async (...args: unknown[]) => {
          const collections = (await method.apply(
            target,
            withSession(args, 0, session),
          )) as Mongo.Collection<any>[];
          return collections.map((c) => bindCollection(c, session));
        };
      }
      const index = DB_OPTIONS_ARG[property];
      if (index === undefined) return method.bind(target);
      if (property === "createCollection") {
        return async (...args: unknown[]) =>
          bindCollection(
            (await method.apply(target, withSession(args, index, session))) as Mongo.Collection<any>,
            session,
          );
      }
      return (...args: unknown[]) => method.apply(target, withSession(args, index, session));
    },
  });
}

/** A collection whose every operation carries `session`. */
export function bindCollection<T extends Mongo.Document>(
  collection: Mongo.Collection<T>,
  session: Mongo.ClientSession,
): Mongo.Collection<T> {
  return new Proxy(collection, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== "function" || typeof property !== "string") return value;
      const method = value as (...args: unknown[]) => unknown;
      const index = COLLECTION_OPTIONS_ARG[property];
      if (index === undefined) return method.bind(target);
      return (...args: unknown[]) => method.apply(target, withSession(args, index, session));
    },
  });
}

/** `args` with `session` merged into the options argument at `index` (created when absent). */
function withSession(args: unknown[], index: number, session: Mongo.ClientSession): unknown[] {
  const out = args.slice();
  // Missing positional arguments become undefined: the driver's defaults (`filter = {}`) apply.
  while (out.length < index) out.push(undefined);
  const options = out[index];
  if (options !== undefined && (options === null || typeof options !== "object")) return out;
  const given = (options ?? {}) as { session?: unknown };
  out[index] = given.session === undefined ? { ...given, session } : given;
  return out;
}
