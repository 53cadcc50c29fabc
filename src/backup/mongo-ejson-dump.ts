/**
 * lockstep's own MongoDB dump, for when `mongodump` is not installed: gzipped JSON lines, a
 * header, then per collection a line with its index definitions followed by one line per
 * document in canonical extended JSON (types such as ObjectId, Date, Decimal128 kept).
 */
import { createReadStream, createWriteStream } from "node:fs";
import { createInterface } from "node:readline";
import { pipeline } from "node:stream/promises";
import { createGunzip, createGzip } from "node:zlib";
import type Mongo from "mongodb";
import { loadDriver } from "../adapters/load-driver.js";
import { LockstepError } from "../core/errors.js";

const FORMAT = "lockstep-mongo-ejson";
const INSERT_BATCH = 500;

/** Writes every collection of `db` named in `collections` to `file`. */
export async function writeEjsonDump(
  db: Mongo.Db,
  file: string,
  collections: readonly string[],
): Promise<void> {
  const { BSON } = await loadDriver<typeof Mongo>("mongodb", "MongoDB");
  async function* lines(): AsyncGenerator<string> {
    yield `${JSON.stringify({ format: FORMAT, version: 1, database: db.databaseName })}\n`;
    for (const name of collections) {
      const indexes = await db.collection(name).indexes();
      yield `${JSON.stringify({ collection: name, indexes: BSON.EJSON.serialize(indexes, { relaxed: false }) })}\n`;
      for await (const doc of db.collection(name).find({})) {
        yield `${BSON.EJSON.stringify(doc, { relaxed: false })}\n`;
      }
    }
  }
  await pipeline(lines(), createGzip(), createWriteStream(file, { mode: 0o600 }));
}

/** Loads a dump written by {@link writeEjsonDump} into `db`: documents first, then indexes. */
export async function readEjsonDump(db: Mongo.Db, file: string): Promise<void> {
  const { BSON } = await loadDriver<typeof Mongo>("mongodb", "MongoDB");
  const input = createInterface({ input: createReadStream(file).pipe(createGunzip()), crlfDelay: Infinity });
  let current: { name: string; indexes: Mongo.IndexDescriptionInfo[] } | null = null;
  let batch: Mongo.Document[] = [];
  const flush = async () => {
    if (current !== null && batch.length > 0)
      await db.collection(current.name).insertMany(batch, { ordered: true });
    batch = [];
  };
  const finish = async () => {
    await flush();
    if (current !== null) await createIndexes(db, current.name, current.indexes);
  };
  let first = true;
  for await (const line of input) {
    if (line === "") continue;
    if (first) {
      first = false;
      if ((JSON.parse(line) as { format?: string }).format !== FORMAT) throw notADump(file);
      continue;
    }
    const parsed = BSON.EJSON.parse(line, { relaxed: false }) as Mongo.Document;
    if (typeof parsed.collection === "string" && Array.isArray(parsed.indexes) && !("_id" in parsed)) {
      await finish();
      current = { name: parsed.collection, indexes: parsed.indexes as Mongo.IndexDescriptionInfo[] };
      await db.createCollection(current.name).catch(ignoreExists);
      continue;
    }
    batch.push(parsed);
    if (batch.length >= INSERT_BATCH) await flush();
  }
  if (first) throw notADump(file);
  await finish();
}

async function createIndexes(
  db: Mongo.Db,
  collection: string,
  indexes: readonly Mongo.IndexDescriptionInfo[],
): Promise<void> {
  const specs = indexes
    .filter((i) => i.name !== "_id_")
    .map(({ v: _v, ns: _ns, ...spec }) => spec as Mongo.IndexDescription);
  if (specs.length > 0) await db.collection(collection).createIndexes(specs);
}

function ignoreExists(error: unknown): void {
  if ((error as { codeName?: string }).codeName !== "NamespaceExists") throw error;
}

function notADump(file: string): LockstepError {
  return new LockstepError("E_MANIFEST_INVALID", `${file} is not a lockstep MongoDB dump`, {
    hint: "give the manifest written beside the backup, unchanged",
  });
}
