import { randomBytes } from "node:crypto";
import pg from "pg";
import { adapterFromUrl } from "../../src/adapters/from-url.js";
import { redactUrl } from "../../src/adapters/url.js";
import { type AdapterFixture, TEST_RUN_PREFIX } from "./fixtures.js";

/** The server the PostgreSQL suite uses (trust auth on the test machine). */
export const POSTGRES_TEST_URL =
  process.env.LOCKSTEP_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** The lease mode the suite runs with: `session` (default) or `table` (LOCKSTEP_TEST_POSTGRES_LEASE=table). */
export const POSTGRES_TEST_LEASE = process.env.LOCKSTEP_TEST_POSTGRES_LEASE === "table" ? "table" : "session";

/**
 * `base` pointing at `schema`: lockstep's tables go there (`schema=`), and the connection's
 * search_path too (`options=-c search_path=…`), so unqualified user tables such as `marks`
 * resolve inside the test's schema as they would in an app that lives in it.
 */
export function postgresUrlFor(base: string, schema: string, lease: "session" | "table" = "session"): string {
  const params = [
    `schema=${schema}`,
    `options=${encodeURIComponent(`-c search_path=${schema}`)}`,
    ...(lease === "table" ? ["lease=table"] : []),
  ];
  return `${base}${base.includes("?") ? "&" : "?"}${params.join("&")}`;
}

/** Runs `fn` on a short-lived connection to the test server. */
export function withPostgres<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  return withPostgresAt(POSTGRES_TEST_URL, fn);
}

/** Runs `fn` on a short-lived connection to `url` (another database, another server). */
export async function withPostgresAt<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  client.on("error", () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

const q = (identifier: string) => `"${identifier.replaceAll('"', '""')}"`;

/** PostgreSQL: a fresh schema `lockstep_t_<run>_<random>` per test, holding lockstep's tables and `marks`. */
const postgresFixture: AdapterFixture = {
  name: "postgres",
  atomicSteps: true,
  async mark(db, mark) {
    // Only the step's client (inside the step's transaction) decides where: its search_path
    // names the schema of the database it was opened on.
    await (db as pg.ClientBase).query("insert into marks (mark) values ($1)", [mark]);
  },
  async leftovers() {
    return withPostgres(async (c) => {
      const { rows } = await c.query<{ name: string }>(
        `select nspname as name from pg_namespace where left(nspname, length($1)) = $1
         union all select datname from pg_database where left(datname, length($1)) = $1`,
        [TEST_RUN_PREFIX],
      );
      return rows.map((r) => r.name);
    });
  },
  async unavailable() {
    try {
      await withPostgres((c) => c.query("select 1"));
      return null;
    } catch (error) {
      return `no PostgreSQL server at ${redactUrl(POSTGRES_TEST_URL)} (${(error as Error).message || (error as { code?: string }).code}); set LOCKSTEP_TEST_POSTGRES_URL`;
    }
  },
  async create() {
    const schema = `${TEST_RUN_PREFIX}${randomBytes(6).toString("hex")}`;
    await withPostgres(async (c) => {
      await c.query(`create schema ${q(schema)}`);
      await c.query(`create table ${q(schema)}.marks (id bigserial primary key, mark text not null)`);
    });
    const url = postgresUrlFor(POSTGRES_TEST_URL, schema, POSTGRES_TEST_LEASE);
    return {
      url,
      adapter: () => adapterFromUrl(url),
      mark: (db, mark) => postgresFixture.mark(db, mark),
      async marks() {
        return withPostgres(async (c) => {
          const { rows } = await c.query<{ mark: string }>(`select mark from ${q(schema)}.marks order by id`);
          return rows.map((r) => r.mark);
        });
      },
      async cleanup() {
        await withPostgres(async (c) => {
          await c.query("set lock_timeout = '10s'");
          await c.query(`drop schema if exists ${q(schema)} cascade`);
        });
      },
    };
  },
};

export default postgresFixture;
