import type { StepContext } from "lockstep";
import { type Db, type Document, MongoClient } from "mongodb";
import type { ItemV1, RelationshipV1, RelationshipV2 } from "../model.js";
import type { DatalabStore } from "./store.js";

/** datalab's own stamp document, as its Python code (PR #1833) names it. */
export const DATALAB_STAMP_ID = "datalab_schema_version";

/** The release a seeded database is stamped with, as datalab 0.1.0 would have stamped it. */
const SEED_VERSION = "0.1.0";

/** MongoDB's (and FerretDB's) answer to an index option it does not implement. */
const NOT_IMPLEMENTED = 238;

/** lockstep's URL parameters (see `MongoAdapterOptions.url`), which the driver refuses. */
const LOCKSTEP_PARAMS = ["app", "stampId"];

/** `url` split at its query. */
function splitUrl(url: string): { base: string; query: URLSearchParams } {
  const at = url.indexOf("?");
  return at < 0
    ? { base: url, query: new URLSearchParams() }
    : { base: url.slice(0, at), query: new URLSearchParams(url.slice(at + 1)) };
}

/** The URL without lockstep's parameters, for the driver. */
function driverUrl(url: string): string {
  const { base, query } = splitUrl(url);
  for (const name of LOCKSTEP_PARAMS) query.delete(name);
  const rest = query.toString();
  return rest ? `${base}?${rest}` : base;
}

/** datalab's stamp document (PR #1833's `database_metadata` singleton). */
interface DatalabStampDoc {
  _id: string;
  version: string;
  history: { version: string; action: string; timestamp: Date; datalab_version: string }[];
}

/** Runs `fn` on the URL's database with a connection of its own. */
async function withDb<T>(url: string, fn: (db: Db) => Promise<T>): Promise<T> {
  const client = new MongoClient(driverUrl(url), { serverSelectionTimeoutMS: 5000 });
  try {
    await client.connect();
    return await fn(client.db());
  } finally {
    await client.close();
  }
}

/**
 * The datalab example on MongoDB, datalab's own database: collection `items` of
 * `{ _id, item_id, refcode, name, type, relationships }`, and the `database_metadata`
 * stamp document datalab writes itself, so lockstep is pointed at it with `?app=datalab`.
 */
export const mongodbStore: DatalabStore = {
  seedStamp: SEED_VERSION,

  lockstepUrl(url) {
    const { query } = splitUrl(url);
    if (LOCKSTEP_PARAMS.some((name) => query.has(name))) return url;
    return `${url}${url.includes("?") ? "&" : "?"}app=datalab`;
  },

  async reset(url) {
    await withDb(url, (db) => db.dropDatabase());
  },

  async seed(url, items) {
    await withDb(url, async (db) => {
      // insertMany makes the _ids client-side, in order: _id order is insertion order.
      await db.collection("items").insertMany(items.map((item) => ({ ...item })));
      // What datalab's init_db_version writes on a new deployment (PR #1833).
      await db.collection<DatalabStampDoc>("database_metadata").insertOne({
        _id: DATALAB_STAMP_ID,
        version: SEED_VERSION,
        history: [
          {
            version: SEED_VERSION,
            action: "initialise",
            timestamp: new Date(),
            datalab_version: SEED_VERSION,
          },
        ],
      });
    });
  },

  async items(url) {
    return withDb(url, async (db) => {
      const docs = await db.collection("items").find({}).sort({ _id: 1 }).toArray();
      return docs.map(({ _id, ...item }) => item as unknown as ItemV1);
    });
  },

  async refcodesOf(db, itemIds) {
    const docs = await (db as Db)
      .collection("items")
      .find({ item_id: { $in: [...itemIds] } }, { projection: { _id: 0, item_id: 1, refcode: 1 } })
      .toArray();
    return new Map(docs.map((d) => [d.item_id as string, (d.refcode as string | null | undefined) ?? null]));
  },

  itemsSource: (fields) => ({ collection: "items", ...(fields && { fields }) }),
  withoutRefcode: { collection: "items", filter: { refcode: null } },

  decode(row) {
    return {
      itemId: row.item_id as string,
      refcode: (row.refcode as string | null | undefined) ?? null,
      relationships: (row.relationships as (RelationshipV1 | RelationshipV2)[] | undefined) ?? [],
    };
  },

  encode(row, relationships) {
    return { key: row._id, set: { relationships } };
  },

  fieldsOf: (row) => row,
  setFields: (row, fields) => ({ key: row._id, set: fields }),

  async dropItemField(ctx: StepContext<Db>, field) {
    // The step's db is session-bound: inside the step's transaction where the server has them.
    const result = await ctx.db
      .collection("items")
      .updateMany({ [field]: { $exists: true } }, { $unset: { [field]: "" } });
    return result.modifiedCount;
  },

  async indexRefcode(ctx: StepContext<Db>) {
    if (ctx.dryRun) return;
    // Called from the step's prepare phase, outside any transaction (MongoDB refuses to build
    // an index on an existing collection inside one). Building it again is a no-op.
    const items = ctx.db.collection<Document>("items");
    try {
      // Items without a refcode (left by --force) all hold null: only strings are unique.
      await items.createIndex(
        { refcode: 1 },
        { name: "refcode_unique", unique: true, partialFilterExpression: { refcode: { $type: "string" } } },
      );
    } catch (error) {
      // FerretDB 1.24: 'Index option "partialFilterExpression" is not implemented yet'.
      if ((error as { code?: unknown }).code !== NOT_IMPLEMENTED) throw error;
      const nulls = await items.countDocuments({ refcode: null });
      if (nulls > 1) {
        throw new Error(
          `this server has no partial indexes and ${nulls} items have no refcode: a unique index on refcode would reject them; give them refcodes and run lockstep upgrade again`,
        );
      }
      await items.createIndex({ refcode: 1 }, { name: "refcode_unique", unique: true });
    }
  },
};
