/**
 * MongoDB (and FerretDB): `copydb` is gone (4.2) and mongodump may be missing, so the scratch
 * database is filled through the driver: every collection's documents in `_id` order, in
 * pages, then its indexes. The source is only read.
 */
import type * as mongodb from "mongodb";
import { loadDriver } from "../adapters/load-driver.js";
import { databaseFromUrl, lockstepUrlParams } from "../adapters/mongodb/url.js";
import {
  checkScratchName,
  defaultScratchName,
  type ProgressListener,
  type ScratchTarget,
  scratchExists,
  throwIfCopyStopped,
} from "./scratch.js";

type Driver = typeof mongodb;

/** MongoDB's longest database name (bytes; names here are ASCII). */
const MAX_NAME = 63;

/** Documents per insert. */
const PAGE = 1000;

/**
 * `url` with its database replaced by `database`, query (lockstep's `app`/`stampId` too) kept.
 * Credentials authenticate against the URL's database unless authSource says otherwise.
 */
function withDatabase(url: string, database: string): string {
  const match = /^(mongodb(?:\+srv)?:\/\/)([^/?]*)(?:\/([^?]*))?(?:\?(.*))?$/i.exec(url);
  if (!match) return url;
  const [, scheme, authority = "", path = "", query = ""] = match;
  const params = query === "" ? [] : query.split("&");
  if (authority.includes("@") && !params.some((p) => p.startsWith("authSource="))) {
    params.push(`authSource=${path || "admin"}`);
  }
  return `${scheme}${authority}/${encodeURIComponent(database)}${params.length > 0 ? `?${params.join("&")}` : ""}`;
}

async function withClient<T>(url: string, fn: (client: mongodb.MongoClient) => Promise<T>): Promise<T> {
  const driver = await loadDriver<Driver>("mongodb", "MongoDB");
  const client = await new driver.MongoClient(lockstepUrlParams(url).driverUrl).connect();
  try {
    return await fn(client);
  } finally {
    await client.close().catch(() => undefined);
  }
}

/** The scratch database for the MongoDB database `url` names. */
export async function mongodbScratch(url: string, scratch: string | undefined): Promise<ScratchTarget> {
  const source = databaseFromUrl(url) ?? "test";
  const name = scratch ?? defaultScratchName(source, MAX_NAME);
  checkScratchName(name, source, MAX_NAME, "database");
  await withClient(url, async (client) => {
    const found = await client.db(name).listCollections({}, { nameOnly: true }).toArray();
    if (found.length > 0) throw scratchExists(name, `it holds ${found.length} collection(s)`);
  });
  let created = false;
  return {
    kind: "mongodb",
    url: withDatabase(url, name),
    name,
    async copy(signal, progress) {
      await withClient(url, async (client) => {
        created = true;
        await copyDatabase(client.db(source), client.db(name), signal, progress);
      });
      return "documents and indexes through the driver";
    },
    async drop() {
      if (!created) return;
      await withClient(url, (client) => client.db(name).dropDatabase());
      created = false;
    },
  };
}

async function copyDatabase(
  from: mongodb.Db,
  to: mongodb.Db,
  signal: AbortSignal,
  progress: ProgressListener,
): Promise<void> {
  const all = await from.listCollections().toArray();
  const collections = all.filter((c) => c.type !== "view");
  let total = 0;
  for (const c of collections) total += await from.collection(c.name).estimatedDocumentCount();
  const counter = { done: 0, total };
  for (const c of collections) {
    // The collection's options (validator, capped size, collation…) come along.
    await to.createCollection(c.name, (c as { options?: mongodb.CreateCollectionOptions }).options ?? {});
    await copyDocuments(from.collection(c.name), to.collection(c.name), signal, progress, counter);
    await copyIndexes(from.collection(c.name), to.collection(c.name));
  }
  // Views last: their options (viewOn, pipeline) name collections copied above.
  for (const view of all.filter((c) => c.type === "view")) {
    await to.createCollection(
      view.name,
      (view as { options?: mongodb.CreateCollectionOptions }).options ?? {},
    );
  }
  throwIfCopyStopped(signal);
}

/** Copies the documents of one collection in `_id` order, one insert per page. */
async function copyDocuments(
  from: mongodb.Collection,
  to: mongodb.Collection,
  signal: AbortSignal,
  progress: ProgressListener,
  counter: { done: number; total: number },
): Promise<void> {
  let page: mongodb.Document[] = [];
  const flush = async () => {
    throwIfCopyStopped(signal);
    if (page.length > 0) await to.insertMany(page, { ordered: true });
    counter.done += page.length;
    page = [];
    progress({ phase: "copy", done: counter.done, total: counter.total, unit: "documents" });
  };
  for await (const doc of from.find({}, { sort: { _id: 1 }, batchSize: PAGE })) {
    page.push(doc);
    if (page.length >= PAGE) await flush();
  }
  await flush();
}

async function copyIndexes(from: mongodb.Collection, to: mongodb.Collection): Promise<void> {
  const specs = (await from.listIndexes().toArray())
    .filter((index) => index.name !== "_id_")
    .map(({ v: _v, ns: _ns, ...spec }) => spec as mongodb.IndexDescription);
  if (specs.length > 0) await to.createIndexes(specs);
}
