/**
 * A source database for the rehearse suites, per database kind: the datalab example seeded as
 * release 0.1.0 stored it, a checksum of every table's (collection's) rows and schema, the
 * scratch databases (files) a rehearsal left behind, and a would-be scratch that holds data.
 */
import { createHash, randomBytes } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { MongoClient } from "mongodb";
import type mysql from "mysql2/promise";
import { generateItems } from "../../examples/datalab/model.js";
import { storeFor } from "../../examples/datalab/stores/store.js";
import { TEST_RUN_PREFIX } from "./fixtures.js";
import { MONGODB_TEST_URL, mongoUrlFor } from "./mongodb-fixture.js";
import { MYSQL_TEST_URL, mysqlUrlFor, withMysql } from "./mysql-fixture.js";
import { POSTGRES_TEST_URL, withPostgres } from "./postgres-fixture.js";

/** A would-be scratch that exists and holds data: rehearse must refuse it and leave it alone. */
export interface OccupiedScratch {
  /** What `--scratch` is given. */
  readonly name: string;
  stillThere(): Promise<boolean>;
  cleanup(): Promise<void>;
}

/** One source database, seeded. */
export interface RehearseSource {
  readonly kind: string;
  /** The URL the CLI gets with --database. */
  readonly url: string;
  /** What `--scratch` would be given to name the source itself. */
  readonly sourceName: string;
  /** The CLI's extra environment (SQLite: TMPDIR, where default scratch files go). */
  readonly env: Record<string, string>;
  /** sha256 over every table's (collection's) rows and definitions, plus the SQLite file's bytes. */
  checksum(): Promise<string>;
  /** Scratch databases, schemas or files of this source still there. */
  leftovers(): Promise<string[]>;
  occupied(): Promise<OccupiedScratch>;
  cleanup(): Promise<void>;
}

const sha = (parts: readonly string[]) => createHash("sha256").update(parts.join("\n")).digest("hex");

/** Rows as sorted JSON lines: the same set of rows gives the same text whatever the read order. */
const rowsText = (rows: readonly unknown[]) =>
  rows
    .map((r) => JSON.stringify(r, (_k, v) => (typeof v === "bigint" ? String(v) : v)))
    .sort()
    .join("\n");

/** Seeds the datalab example at 0.1.0 in `url` (the MongoDB seed stamps itself; SQL needs `init`). */
async function seed(kind: string, url: string, items: number, init: (url: string) => Promise<void>) {
  const store = await storeFor(kind);
  await store.reset(url);
  await store.seed(url, generateItems(items));
  if (store.seedStamp === undefined) await init(url);
}

/** Makes and seeds a source database of `kind` with `items` datalab items. */
export async function makeSource(
  kind: string,
  items: number,
  init: (url: string) => Promise<void>,
): Promise<RehearseSource> {
  const name = `${TEST_RUN_PREFIX}rh_${randomBytes(4).toString("hex")}`;
  const make = { sqlite: sqliteSource, postgres: postgresSource, mysql: mysqlSource, mongodb: mongoSource }[
    kind
  ];
  if (make === undefined) throw new Error(`no rehearse source for ${kind}`);
  const source = await make(name);
  try {
    await seed(kind, source.url, items, init);
  } catch (error) {
    await source.cleanup();
    throw error;
  }
  return source;
}

async function sqliteSource(name: string): Promise<RehearseSource> {
  const dir = mkdtempSync(join(tmpdir(), name));
  const tmp = join(dir, "tmp");
  mkdirSync(tmp);
  const file = join(dir, "app.db");
  return {
    kind: "sqlite",
    url: `sqlite:${file}`,
    sourceName: file,
    env: { TMPDIR: tmp },
    async checksum() {
      const db = new Database(file, { readonly: true });
      try {
        const tables = db.prepare("select name, sql from sqlite_master order by type, name").all() as {
          name: string;
          sql: string | null;
        }[];
        const parts = tables.map((t) => `${t.name}:${t.sql}`);
        for (const t of tables.filter((t) => t.sql?.startsWith("CREATE TABLE")))
          parts.push(rowsText(db.prepare(`select * from "${t.name}"`).all()));
        return sha([...parts, createHash("sha256").update(readFileSync(file)).digest("hex")]);
      } finally {
        db.close();
      }
    },
    async leftovers() {
      return readdirSync(tmp).filter((f) => f.startsWith("lockstep-rehearse-"));
    },
    async occupied() {
      const path = join(dir, "occupied.db");
      writeFileSync(path, "not empty");
      return {
        name: path,
        stillThere: async () => existsSync(path),
        cleanup: async () => rmSync(path, { force: true }),
      };
    },
    async cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const pq = (name: string) => `"${name.replaceAll('"', '""')}"`;

async function postgresSource(name: string): Promise<RehearseSource> {
  await withPostgres((c) => c.query(`create database ${pq(name)}`));
  const url = new URL(POSTGRES_TEST_URL);
  url.pathname = `/${name}`;
  const dropDb = (db: string) =>
    withPostgres((c) => c.query(`drop database if exists ${pq(db)} with (force)`)).then(() => undefined);
  const onSource = async <T>(fn: (c: import("pg").Client) => Promise<T>) => {
    const pg = (await import("pg")).default;
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  };
  return {
    kind: "postgres",
    url: url.toString(),
    sourceName: name,
    env: {},
    checksum: () =>
      onSource(async (c) => {
        const { rows: tables } = await c.query<{ s: string; t: string }>(
          "select table_schema as s, table_name as t from information_schema.tables where table_schema not in ('pg_catalog', 'information_schema') order by 1, 2",
        );
        const { rows: indexes } = await c.query(
          "select schemaname, tablename, indexname, indexdef from pg_indexes where schemaname not in ('pg_catalog') order by 1, 2, 3",
        );
        const parts = [rowsText(indexes)];
        for (const { s, t } of tables) {
          const { rows } = await c.query(`select row_to_json(x)::text as j from ${pq(s)}.${pq(t)} x`);
          parts.push(`${s}.${t}`, rowsText(rows.map((r) => r.j)));
        }
        return sha(parts);
      }),
    async leftovers() {
      return withPostgres(async (c) => {
        const { rows } = await c.query<{ datname: string }>(
          "select datname from pg_database where left(datname, length($1)) = $1",
          [`${name}_rehearse_`],
        );
        return rows.map((r) => r.datname);
      });
    },
    async occupied() {
      const other = `${name}_occupied`;
      await withPostgres((c) => c.query(`create database ${pq(other)}`));
      return {
        name: other,
        stillThere: () =>
          withPostgres(
            async (c) =>
              (await c.query("select 1 from pg_database where datname = $1", [other])).rowCount === 1,
          ),
        cleanup: () => dropDb(other),
      };
    },
    cleanup: () => dropDb(name),
  };
}

const mq = (name: string) => `\`${name.replaceAll("`", "``")}\``;

async function mysqlSource(name: string): Promise<RehearseSource> {
  await withMysql((c) => c.query(`create database ${mq(name)}`));
  const schemas = async (like: string) =>
    withMysql(async (c) => {
      const [rows] = await c.query<mysql.RowDataPacket[]>(
        "select schema_name as n from information_schema.schemata where left(schema_name, char_length(?)) = ?",
        [like, like],
      );
      return rows.map((r) => String(r.n));
    });
  return {
    kind: "mysql",
    url: mysqlUrlFor(MYSQL_TEST_URL, name),
    sourceName: name,
    env: {},
    checksum: () =>
      withMysql(async (c) => {
        const [tables] = await c.query<mysql.RowDataPacket[]>(
          "select table_name as t from information_schema.tables where table_schema = ? order by 1",
          [name],
        );
        const parts: string[] = [];
        for (const { t } of tables) {
          const [[create]] = await c.query<mysql.RowDataPacket[]>(`show create table ${mq(name)}.${mq(t)}`);
          const [rows] = await c.query<mysql.RowDataPacket[]>(`select * from ${mq(name)}.${mq(t)}`);
          parts.push(String(create?.["Create Table"] ?? create?.["Create View"]), rowsText(rows));
        }
        return sha(parts);
      }),
    leftovers: () => schemas(`${name}_rehearse_`),
    async occupied() {
      const other = `${name}_occupied`;
      await withMysql(async (c) => {
        await c.query(`create database ${mq(other)}`);
        await c.query(`create table ${mq(other)}.t (id int primary key)`);
        await c.query(`insert into ${mq(other)}.t values (1)`);
      });
      return {
        name: other,
        stillThere: async () => (await schemas(other)).includes(other),
        cleanup: () =>
          withMysql((c) => c.query(`drop database if exists ${mq(other)}`)).then(() => undefined),
      };
    },
    cleanup: () => withMysql((c) => c.query(`drop database if exists ${mq(name)}`)).then(() => undefined),
  };
}

const withParam = (url: string, param: string) => `${url}${url.includes("?") ? "&" : "?"}${param}`;

async function withMongo<T>(fn: (client: MongoClient) => Promise<T>): Promise<T> {
  const client = await new MongoClient(MONGODB_TEST_URL).connect();
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

async function mongoSource(name: string): Promise<RehearseSource> {
  const databases = async (prefix: string) =>
    withMongo(async (c) =>
      (await c.db().admin().listDatabases()).databases.map((d) => d.name).filter((n) => n.startsWith(prefix)),
    );
  return {
    kind: "mongodb",
    // datalab's own stamp document: the seed stamps 0.1.0 itself.
    url: withParam(mongoUrlFor(MONGODB_TEST_URL, name), "app=datalab"),
    sourceName: name,
    env: {},
    checksum: () =>
      withMongo(async (c) => {
        const db = c.db(name);
        const names = (await db.listCollections({}, { nameOnly: true }).toArray()).map((x) => x.name).sort();
        const parts: string[] = [];
        for (const n of names) {
          const docs = await db.collection(n).find({}).sort({ _id: 1 }).toArray();
          const indexes = await db.collection(n).listIndexes().toArray();
          parts.push(n, rowsText(indexes.map(({ v: _v, ns: _ns, ...i }) => i)), JSON.stringify(docs));
        }
        return sha(parts);
      }),
    leftovers: () => databases(`${name}_rehearse_`),
    async occupied() {
      const other = `${name}_occupied`;
      await withMongo((c) => c.db(other).collection("t").insertOne({ x: 1 }));
      return {
        name: other,
        stillThere: async () => (await databases(other)).includes(other),
        cleanup: () => withMongo((c) => c.db(other).dropDatabase()).then(() => undefined),
      };
    },
    cleanup: () => withMongo((c) => c.db(name).dropDatabase()).then(() => undefined),
  };
}
