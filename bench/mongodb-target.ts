import { type Db, type Document, type Filter, MongoClient } from "mongodb";
import {
  type ItemV1,
  newCounts,
  type RelationshipV1,
  type RelationshipV2,
  rewriteRelationships,
} from "../examples/datalab/model.js";
import { type DatalabStore, storeFor } from "../examples/datalab/stores/store.js";
import { checksumByPages } from "./checksum.js";
import { withDatabase } from "./naive.js";
import type { BenchTarget, Timing } from "./target.js";

/** The bench's own database on the MongoDB-protocol server. */
export const BENCH_DATABASE = "lockstep_bench";

interface ItemDoc extends Document {
  _id: unknown;
  item_id: string;
  refcode: string | null;
  name: string;
  type: string;
  relationships: (RelationshipV1 | RelationshipV2)[];
}

/**
 * The set-based rewrite as one aggregation: `$lookup` every target, rebuild the array in
 * order as model.ts's rewriteRelationships does, `$merge` back into items.
 */
function singlePipeline(): Document[] {
  const rel = (field: string) => `$$rel.${field}`;
  const stub = (flag: string) => ({
    refcode: null,
    legacy_item_id: rel("item_id"),
    [flag]: true,
    relation: rel("relation"),
    type: rel("type"),
  });
  // $cond's array form: [if, then, else].
  const rewritten = {
    $cond: [
      { $ne: [{ $type: rel("refcode") }, "missing"] },
      "$$rel",
      {
        $cond: [
          { $eq: [{ $type: "$$t" }, "missing"] },
          stub("dangling"),
          {
            $cond: [
              { $eq: [{ $ifNull: ["$$t.refcode", null] }, null] },
              stub("target_without_refcode"),
              { refcode: "$$t.refcode", relation: rel("relation"), type: rel("type") },
            ],
          },
        ],
      },
    ],
  };
  const target = {
    $first: { $filter: { input: "$__targets", as: "t", cond: { $eq: ["$$t.item_id", rel("item_id")] } } },
  };
  return [
    { $match: { refcode: { $ne: null } } },
    {
      $lookup: {
        from: "items",
        localField: "relationships.item_id",
        foreignField: "item_id",
        as: "__targets",
      },
    },
    {
      $set: {
        relationships: {
          $map: { input: "$relationships", as: "rel", in: { $let: { vars: { t: target }, in: rewritten } } },
        },
      },
    },
    { $unset: "__targets" },
    { $merge: { into: "items", on: "_id", whenMatched: "replace", whenNotMatched: "discard" } },
  ];
}

/** The MongoDB-protocol server: collection items of `{ item_id, refcode, name, type, relationships }`. */
export class MongodbTarget implements BenchTarget {
  readonly name = "mongodb" as const;
  lockstepUrl: string;
  needsInit = true;
  /** Who wrote the data: the example's store, or the bench's equivalent seeder. */
  seededBy = "";
  readonly #url: string;
  #store: DatalabStore | null = null;
  #items: readonly ItemV1[] = [];
  #client: MongoClient | undefined;

  constructor(serverUrl: string) {
    this.#url = withDatabase(serverUrl, BENCH_DATABASE);
    this.lockstepUrl = this.#url;
  }

  async #db(): Promise<Db> {
    if (!this.#client) {
      this.#client = new MongoClient(this.#url, { serverSelectionTimeoutMS: 5000 });
      await this.#client.connect();
    }
    return this.#client.db();
  }

  async prepare(items: readonly ItemV1[]): Promise<void> {
    this.#items = items;
    this.#store = await storeFor("mongodb").catch(() => null);
    if (this.#store) {
      this.lockstepUrl = this.#store.lockstepUrl?.(this.#url) ?? this.#url;
      this.needsInit = this.#store.seedStamp === undefined;
      this.seededBy = "the example's mongodb store seed()";
    } else {
      this.seededBy = "the bench's seeder (no mongodb store in the example yet)";
    }
  }

  /** The server has no cheap collection copy we can count on (FerretDB: no $out), so each method reseeds. */
  async reset(): Promise<void> {
    if (this.#store) {
      await this.#store.reset(this.#url);
      await this.#store.seed(this.#url, this.#items);
      return;
    }
    const db = await this.#db();
    await db.dropDatabase();
    await db.collection("items").insertMany(this.#items.map((item) => ({ ...item })));
  }

  async naive(limit: number): Promise<Timing> {
    const items = (await this.#db()).collection<ItemDoc>("items");
    const started = performance.now();
    // As migrate-mongo users write it: read the items, then findOne per link and updateOne per item.
    const docs = await items
      .find({ refcode: { $ne: null } })
      .sort({ _id: 1 })
      .limit(limit)
      .toArray();
    const counts = newCounts();
    for (const doc of docs) {
      const refcodeOf = new Map<string, string | null>();
      for (const rel of doc.relationships) {
        if (!("item_id" in rel)) continue;
        const found = await items.findOne({ item_id: rel.item_id }, { projection: { _id: 0, refcode: 1 } });
        if (found) refcodeOf.set(rel.item_id, found.refcode ?? null);
      }
      const relationships = rewriteRelationships(doc.relationships, refcodeOf, counts);
      await items.updateOne({ _id: doc._id }, { $set: { relationships } });
    }
    return { docs: docs.length, ms: performance.now() - started };
  }

  async single(): Promise<Timing | string> {
    const items = (await this.#db()).collection<ItemDoc>("items");
    const docs = await items.countDocuments({ refcode: { $ne: null } });
    const started = performance.now();
    try {
      await items.aggregate(singlePipeline()).toArray();
    } catch (error) {
      const { code, message } = error as { code?: unknown; message?: string };
      return `the server refused the $lookup/$merge pipeline (code ${String(code)}: ${message})`;
    }
    return { docs, ms: performance.now() - started };
  }

  async checksum(limit = Number.POSITIVE_INFINITY): Promise<string> {
    const items = (await this.#db()).collection<ItemDoc>("items");
    const read = (after: unknown, n: number) =>
      items
        .find(after === null ? {} : ({ _id: { $gt: after } } as Filter<ItemDoc>))
        .sort({ _id: 1 })
        .limit(n)
        .toArray();
    return checksumByPages(
      limit,
      read,
      (doc) => doc,
      (doc) => doc._id,
    );
  }

  /** Drops the bench's database and ends the connection: the shared server keeps nothing of a run. */
  async close(): Promise<void> {
    try {
      await (await this.#db()).dropDatabase();
    } finally {
      await this.#client?.close();
      this.#client = undefined;
    }
  }
}
