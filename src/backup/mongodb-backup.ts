/**
 * MongoDB: `mongodump --archive --gzip` when it is on PATH; otherwise a dump through the
 * driver (mongo-ejson-dump.ts) that lockstep restores. The URL (with its password) goes to
 * mongodump in a 0600 config file, never on its command line.
 */
import type Mongo from "mongodb";
import { loadDriver } from "../adapters/load-driver.js";
import { databaseFromUrl, lockstepUrlParams } from "../adapters/mongodb/url.js";
import { redactUrl, secretsOf } from "../adapters/url.js";
import { withSecretFile } from "../tools/secret-file.js";
import { runBackupTool, type ToolSpec } from "./backup-tool.js";
import { type BackupEngine, type BackupFormat, randomSuffix, VOLATILE_TABLES } from "./engine.js";
import { readEjsonDump, writeEjsonDump } from "./mongo-ejson-dump.js";
import { checksumOfRows, sortedByName, type TableChecksum } from "./table-checksums.js";

const MONGODUMP: ToolSpec = { names: ["mongodump"], debianPackage: "mongodb-database-tools" };
const MONGORESTORE: ToolSpec = { names: ["mongorestore"], debianPackage: "mongodb-database-tools" };

/** Backs up one MongoDB database. */
export class MongoBackup implements BackupEngine {
  readonly kind = "mongodb";
  readonly name: string;
  readonly #driverUrl: string;
  /** mongodump's archive or lockstep's own dump, both gzipped. */
  readonly extension = ".mongo.gz";

  constructor(readonly url: string) {
    this.#driverUrl = lockstepUrlParams(url).driverUrl;
    this.name = databaseFromUrl(this.#driverUrl) ?? "test";
  }

  async #db<T>(fn: (db: Mongo.Db, client: Mongo.MongoClient) => Promise<T>): Promise<T> {
    const { MongoClient } = await loadDriver<typeof Mongo>("mongodb", "MongoDB");
    const client = new MongoClient(this.#driverUrl, { serverSelectionTimeoutMS: 5000 });
    await client.connect();
    try {
      return await fn(client.db(this.name), client);
    } finally {
      await client.close().catch(() => undefined);
    }
  }

  serverVersion(): Promise<string> {
    return this.#db(async (db) => {
      const info = (await db.admin().command({ buildInfo: 1 })) as {
        version?: string;
        ferretdbVersion?: string;
      };
      return info.ferretdbVersion
        ? `FerretDB ${info.ferretdbVersion} (MongoDB ${info.version})`
        : `MongoDB ${info.version}`;
    }).catch(() => "MongoDB");
  }

  async #collections(db: Mongo.Db): Promise<string[]> {
    const list = await db.listCollections({}, { nameOnly: true }).toArray();
    return list
      .map((c) => c.name)
      .filter((n) => !n.startsWith("system."))
      .sort();
  }

  checksums(): Promise<TableChecksum[]> {
    return this.#db(async (db) => {
      const { BSON } = await loadDriver<typeof Mongo>("mongodb", "MongoDB");
      const out: TableChecksum[] = [];
      for (const name of await this.#collections(db)) {
        if (VOLATILE_TABLES.includes(name)) continue;
        const docs = await db.collection(name).find({}).toArray();
        out.push({ name, ...checksumOfRows(docs.map((d) => BSON.EJSON.stringify(d, { relaxed: false }))) });
      }
      return sortedByName(out);
    });
  }

  isEmpty(): Promise<boolean> {
    return this.#db(async (db) => (await this.#collections(db)).length === 0);
  }

  async dump(file: string): Promise<{ format: BackupFormat; tool: string }> {
    try {
      await withSecretFile(`uri: ${JSON.stringify(this.#driverUrl)}\n`, (config) =>
        runBackupTool(MONGODUMP, {
          args: [`--config=${config}`, `--db=${this.name}`, `--archive=${file}`, "--gzip"],
          secrets: secretsOf(this.url),
          purpose: "backup",
        }),
      );
      return { format: "mongo-archive", tool: "mongodump --archive --gzip" };
    } catch (error) {
      if ((error as { code?: string }).code !== "E_BACKUP_TOOL_MISSING") throw error;
    }
    await this.#db(async (db) => writeEjsonDump(db, file, await this.#collections(db)));
    return { format: "mongo-ejson-gz", tool: "lockstep driver dump (extended JSON + indexes, gzip)" };
  }

  async restore(file: string, format: BackupFormat): Promise<void> {
    if (format === "mongo-ejson-gz") return this.#db((db) => readEjsonDump(db, file));
    const source = this.sourceDatabase ?? this.name;
    await withSecretFile(`uri: ${JSON.stringify(this.#driverUrl)}\n`, (config) =>
      runBackupTool(MONGORESTORE, {
        args: [
          `--config=${config}`,
          `--archive=${file}`,
          "--gzip",
          `--nsFrom=${source}.*`,
          `--nsTo=${this.name}.*`,
        ],
        secrets: secretsOf(this.url),
        purpose: "restore",
      }),
    );
  }

  /** The database a mongodump archive was taken from (restore sets it from the manifest). */
  sourceDatabase: string | null = null;

  wipe(): Promise<void> {
    return this.#db(async (db) => {
      await db.dropDatabase();
    });
  }

  async scratch(): Promise<{ engine: BackupEngine; drop(): Promise<void> }> {
    const name = `${this.name}_lockstep_verify_${randomSuffix()}`.slice(0, 63);
    const url = this.#driverUrl.replace(
      /^(mongodb(?:\+srv)?:\/\/[^/?]*)(\/[^?]*)?/i,
      `$1/${encodeURIComponent(name)}`,
    );
    const engine = new MongoBackup(url);
    return { engine, drop: () => engine.wipe() };
  }

  nativeRestoreCommand(file: string, format: BackupFormat): string {
    if (format === "mongo-ejson-gz")
      return `lockstep restore <this manifest> --database '${redactUrl(this.url)}'`;
    return `mongorestore --uri='${redactUrl(this.#driverUrl)}' --archive='${file}' --gzip`;
  }
}
