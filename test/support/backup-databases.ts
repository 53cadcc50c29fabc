/**
 * Whole databases for the backup tests, one per call, named with the run's prefix and
 * dropped by `drop()`: an SQLite file, a PostgreSQL database, a MariaDB schema, a MongoDB
 * database. Backups dump a whole database, so the fixtures' per-test schemas do not fit.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MongoClient } from "mongodb";
import { TEST_RUN_PREFIX } from "./fixtures.js";
import { MONGODB_TEST_URL, mongoUrlFor } from "./mongodb-fixture.js";
import { MYSQL_TEST_URL, mysqlUrlFor, withMysql } from "./mysql-fixture.js";
import { POSTGRES_TEST_URL, withPostgres } from "./postgres-fixture.js";

/** One fresh, empty database. */
export interface WholeDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

/** Makes a fresh, empty database of `kind`. */
export async function wholeDatabase(kind: string): Promise<WholeDatabase> {
  const name = `${TEST_RUN_PREFIX}bk_${randomBytes(4).toString("hex")}`;
  switch (kind) {
    case "sqlite": {
      const dir = mkdtempSync(join(tmpdir(), TEST_RUN_PREFIX));
      return {
        url: `sqlite:${join(dir, "app.db")}`,
        drop: async () => rmSync(dir, { recursive: true, force: true }),
      };
    }
    case "postgres": {
      await withPostgres((c) => c.query(`create database "${name}"`));
      const url = new URL(POSTGRES_TEST_URL);
      url.pathname = `/${name}`;
      return {
        url: url.href,
        drop: () =>
          withPostgres((c) => c.query(`drop database if exists "${name}" with (force)`)).then(
            () => undefined,
          ),
      };
    }
    case "mysql": {
      await withMysql((c) => c.query(`create database \`${name}\``));
      return {
        url: mysqlUrlFor(MYSQL_TEST_URL, name),
        drop: () => withMysql((c) => c.query(`drop database if exists \`${name}\``)).then(() => undefined),
      };
    }
    case "mongodb":
      return {
        url: mongoUrlFor(MONGODB_TEST_URL, name),
        async drop() {
          const client = await new MongoClient(MONGODB_TEST_URL).connect();
          try {
            await client.db(name).dropDatabase();
          } finally {
            await client.close();
          }
        },
      };
    default:
      throw new Error(`no whole database for ${kind}`);
  }
}

/** Every database (PostgreSQL, MongoDB) or schema (MariaDB) on the test server of `kind`. */
export async function listDatabases(kind: string): Promise<string[]> {
  if (kind === "postgres")
    return withPostgres(async (c) =>
      (await c.query<{ n: string }>("select datname as n from pg_database")).rows.map((r) => r.n),
    );
  if (kind === "mysql")
    return withMysql(async (c) =>
      ((await c.query("show databases"))[0] as Record<string, string>[]).map((r) => Object.values(r)[0]!),
    );
  const client = await new MongoClient(MONGODB_TEST_URL).connect();
  try {
    return (await client.db().admin().listDatabases()).databases.map((d) => d.name);
  } finally {
    await client.close();
  }
}
