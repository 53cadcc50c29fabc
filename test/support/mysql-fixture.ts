import { randomBytes } from "node:crypto";
import mysql from "mysql2/promise";
import { adapterFromUrl } from "../../src/adapters/from-url.js";
import { redactUrl } from "../../src/adapters/url.js";
import { type AdapterFixture, TEST_RUN_PREFIX } from "./fixtures.js";

/** The server the MySQL/MariaDB suite uses (root with no password on the test machine). */
export const MYSQL_TEST_URL = process.env.LOCKSTEP_TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";

/** `base` with its database replaced by `database`. */
export function mysqlUrlFor(base: string, database: string): string {
  const match = /^([a-z]+:\/\/[^/?]*)(?:\/[^?]*)?(\?.*)?$/i.exec(base);
  if (!match) throw new Error(`not a MySQL URL: ${redactUrl(base)}`);
  return `${match[1]}/${database}${match[2] ?? ""}`;
}

/** Runs `fn` on a short-lived connection to the test server. */
export async function withMysql<T>(fn: (conn: mysql.Connection) => Promise<T>): Promise<T> {
  const conn = await mysql.createConnection({
    uri: MYSQL_TEST_URL.replace(/^mariadb:/i, "mysql:"),
    connectTimeout: 3000,
  });
  conn.on("error", () => undefined);
  try {
    return await fn(conn);
  } finally {
    await conn.end().catch(() => conn.destroy());
  }
}

const q = (identifier: string) => `\`${identifier.replaceAll("`", "``")}\``;

/** MySQL/MariaDB: a fresh database `lockstep_t_<run>_<random>` per test, holding lockstep's tables and `marks`. */
const mysqlFixture: AdapterFixture = {
  name: "mysql",
  // DDL commits implicitly: a killed step is INTERRUPTED rather than rolled back.
  atomicSteps: false,
  async mark(db, mark) {
    // Only the step's connection (inside the step's transaction) decides where: the current
    // database of the one it was opened on.
    await (db as mysql.Connection).query("insert into marks (mark) values (?)", [mark]);
  },
  async leftovers() {
    return withMysql(async (c) => {
      const [rows] = await c.query<mysql.RowDataPacket[]>(
        "select schema_name as name from information_schema.schemata where left(schema_name, char_length(?)) = ?",
        [TEST_RUN_PREFIX, TEST_RUN_PREFIX],
      );
      return rows.map((r) => String(r.name));
    });
  },
  async unavailable() {
    try {
      await withMysql((c) => c.query("select 1"));
      return null;
    } catch (error) {
      return `no MySQL/MariaDB server at ${redactUrl(MYSQL_TEST_URL)} (${(error as Error).message || (error as { code?: string }).code}); set LOCKSTEP_TEST_MYSQL_URL`;
    }
  },
  async create() {
    const database = `${TEST_RUN_PREFIX}${randomBytes(6).toString("hex")}`;
    // The user table exists before any step: DDL inside a step would commit its transaction.
    await withMysql(async (c) => {
      await c.query(`create database ${q(database)}`);
      await c.query(
        `create table ${q(database)}.marks (id bigint not null auto_increment primary key, mark varchar(255) not null) engine=InnoDB`,
      );
    });
    const url = mysqlUrlFor(MYSQL_TEST_URL, database);
    return {
      url,
      adapter: () => adapterFromUrl(url),
      mark: (db, mark) => mysqlFixture.mark(db, mark),
      async marks() {
        return withMysql(async (c) => {
          const [rows] = await c.query<mysql.RowDataPacket[]>(
            `select mark from ${q(database)}.marks order by id`,
          );
          return rows.map((r) => String(r.mark));
        });
      },
      async cleanup() {
        await withMysql(async (c) => {
          await c.query(`drop database if exists ${q(database)}`);
        });
      },
    };
  },
};

export default mysqlFixture;
