import { randomBytes } from "node:crypto";
import type { Db } from "mongodb";
import { MongoClient } from "mongodb";
import { adapterFromUrl } from "../../src/adapters/from-url.js";
import { MongoAdapter } from "../../src/adapters/mongodb/mongodb-adapter.js";
import { type AdapterFixture, TEST_RUN_PREFIX } from "./fixtures.js";

/** The server the MongoDB suite uses: MONGODB_URI (any real MongoDB), else FerretDB on 27017. */
export const MONGODB_TEST_URL =
  process.env.MONGODB_URI ?? process.env.LOCKSTEP_TEST_MONGODB_URL ?? "mongodb://127.0.0.1:27017";

/**
 * `base` with its database replaced by `database`. Credentials authenticate against the
 * URL's database unless authSource says otherwise, so the original one is kept as authSource.
 */
export function mongoUrlFor(base: string, database: string): string {
  const match = /^(mongodb(?:\+srv)?:\/\/)([^/?]*)(?:\/([^?]*))?(?:\?(.*))?$/i.exec(base);
  if (!match) throw new Error(`not a MongoDB URL: ${base}`);
  const [, scheme, authority = "", path = "", query = ""] = match;
  const params = new URLSearchParams(query);
  if (authority.includes("@") && !params.has("authSource")) params.set("authSource", path || "admin");
  const rest = params.toString();
  return `${scheme}${authority}/${encodeURIComponent(database)}${rest ? `?${rest}` : ""}`;
}

let probed: { transactions: boolean; server: string } | undefined;

/** Connects once, and learns what the server is and whether it runs transactions. */
async function probe(): Promise<{ transactions: boolean; server: string }> {
  if (probed) return probed;
  const adapter = MongoAdapter.fromUrl(mongoUrlFor(MONGODB_TEST_URL, `${TEST_RUN_PREFIX}probe`), {
    serverSelectionTimeoutMS: 2000,
  });
  await adapter.open({ create: false });
  try {
    const info = await adapter.serverInfo();
    probed = { transactions: info.supportsTransactions, server: `${info.server}, ${info.topology}` };
    return probed;
  } finally {
    await adapter.close();
  }
}

/** MongoDB protocol (FerretDB by default): a fresh database `lockstep_t_<run>_<random>` per test. */
const mongodbFixture: AdapterFixture & { server(): string | undefined } = {
  name: "mongodb",
  /** True on a replica set or sharded cluster; false on FerretDB and standalone servers. Known after `unavailable()`. */
  get atomicSteps(): boolean {
    return probed?.transactions ?? false;
  },
  server() {
    return probed?.server;
  },
  async mark(db, mark) {
    // The step's db: inside a transaction it is session-bound, so this insert is part of it.
    await (db as Db).collection("marks").insertOne({ mark, at: Date.now() });
  },
  async leftovers() {
    const client = await new MongoClient(MONGODB_TEST_URL, { serverSelectionTimeoutMS: 5000 }).connect();
    try {
      const { databases } = await client.db().admin().listDatabases({ nameOnly: true });
      return databases.map((d) => d.name).filter((name) => name.startsWith(TEST_RUN_PREFIX));
    } finally {
      await client.close();
    }
  },
  async unavailable() {
    try {
      await probe();
      return null;
    } catch (error) {
      return `no MongoDB-compatible server at ${MongoAdapter.fromUrl(mongoUrlFor(MONGODB_TEST_URL, "x")).displayName} (${(error as Error).message.split("\n")[0]}); start one with scripts/ferretdb.sh start or set MONGODB_URI`;
    }
  },
  async create() {
    await probe();
    const database = `${TEST_RUN_PREFIX}${randomBytes(6).toString("hex")}`;
    const url = mongoUrlFor(MONGODB_TEST_URL, database);
    let client: MongoClient | undefined;
    const connect = async (): Promise<Db> => {
      client ??= await new MongoClient(url, { serverSelectionTimeoutMS: 5000 }).connect();
      return client.db(database);
    };
    return {
      url,
      adapter: () => adapterFromUrl(url),
      mark: (db, mark) => mongodbFixture.mark(db, mark),
      async marks() {
        const docs = await (await connect())
          .collection<{ mark: string }>("marks")
          .find({})
          .sort({ at: 1, _id: 1 })
          .toArray();
        return docs.map((d) => d.mark);
      },
      async cleanup() {
        try {
          await (await connect()).dropDatabase();
        } finally {
          await client?.close();
          client = undefined;
        }
      },
    };
  },
};

export default mongodbFixture;
