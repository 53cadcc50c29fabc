/**
 * Tenant databases for the fleet tests: each made empty with a `runs` table (a row per step
 * body that committed), stamped at a release without replaying history, and read back
 * (stamp, ledger, markers, history, runs) through a separate connection. Server databases
 * are named with TEST_RUN_PREFIX, so test/zz-leftovers.test.ts sees any the test left.
 */
import { closeSync, openSync } from "node:fs";
import { MongoClient } from "mongodb";
import type mysql from "mysql2/promise";
import type pg from "pg";
import { adapterFromUrl } from "../../src/adapters/from-url.js";
import type { Adapter } from "../../src/core/adapter.js";
import type { StepDefinition } from "../../src/core/step.js";
import { Upgrader } from "../../src/core/upgrader.js";
import { withDatabase } from "../../src/tools/database-url.js";
import { MONGODB_TEST_URL, mongoUrlFor } from "./mongodb-fixture.js";
import { MYSQL_TEST_URL, mysqlUrlFor, withMysql } from "./mysql-fixture.js";
import { POSTGRES_TEST_URL, withPostgres, withPostgresAt } from "./postgres-fixture.js";

export type FleetKind = "sqlite" | "postgres" | "mysql" | "mongodb";

/** One tenant: its name in the targets file (null: the CLI derives it), kind and URL. */
export interface Tenant {
  readonly name: string;
  /** Written as `name=URL` in the targets file (false: the bare URL, the CLI names it). */
  readonly named: boolean;
  readonly kind: FleetKind;
  readonly url: string;
  /** The server's database name, or the SQLite file's absolute path. */
  readonly database: string;
}

/** What a test reads back from one tenant: everything an upgrade could touch. */
export interface TenantSnapshot {
  readonly stamp: string | null;
  readonly floor: string | null;
  readonly ledger: readonly string[];
  readonly interrupted: readonly string[];
  readonly history: number;
  readonly runs: readonly string[];
}

const pq = (identifier: string) => `"${identifier.replaceAll('"', '""')}"`;
const mq = (identifier: string) => `\`${identifier.replaceAll("`", "``")}\``;

/** `base`'s user with `password` added when it has none (trust auth ignores it; it must never be printed). */
export function withPassword(base: string, password: string): string {
  const u = new URL(base);
  if (u.password === "") u.password = password;
  return u.toString();
}

/** A PostgreSQL tenant URL on the test server (`password` added for the credential checks). */
export function postgresTenantUrl(database: string, password: string): string {
  return withDatabase(withPassword(POSTGRES_TEST_URL, password), database);
}

/** The URL of a tenant of `kind` named `database` (a file path for SQLite). */
export function tenantUrl(kind: FleetKind, database: string, pgPassword: string): string {
  switch (kind) {
    case "sqlite":
      return `sqlite:${database}`;
    case "postgres":
      return postgresTenantUrl(database, pgPassword);
    case "mysql":
      return mysqlUrlFor(MYSQL_TEST_URL, database);
    case "mongodb":
      return mongoUrlFor(MONGODB_TEST_URL, database);
  }
}

/** Runs `fn` on a MongoDB client for `url`'s database. */
async function withMongo<T>(url: string, fn: (db: import("mongodb").Db) => Promise<T>): Promise<T> {
  const client = await new MongoClient(url, { serverSelectionTimeoutMS: 5000 }).connect();
  try {
    return await fn(client.db());
  } finally {
    await client.close();
  }
}

/** Runs `fn` on a short-lived connection to `database` on the PostgreSQL test server. */
function withPostgresDatabase<T>(database: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  return withPostgresAt(withDatabase(POSTGRES_TEST_URL, database), fn);
}

/** Runs SQL on a SQLite file. */
async function withSqlite<T>(file: string, fn: (db: import("better-sqlite3").Database) => T): Promise<T> {
  const { default: Database } = await import("better-sqlite3");
  const db = new Database(file);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/** Runs one statement in the tenant's database (SQL only). */
async function sql(tenant: Tenant, statement: string): Promise<void> {
  switch (tenant.kind) {
    case "sqlite":
      await withSqlite(tenant.database, (db) => db.exec(statement));
      return;
    case "postgres":
      await withPostgresDatabase(tenant.database, (c) => c.query(statement));
      return;
    case "mysql":
      await withMysql((c) => c.query(`use ${mq(tenant.database)}`).then(() => c.query(statement)));
      return;
    case "mongodb":
      throw new Error("sql() on a MongoDB tenant");
  }
}

/** Creates the tenant's empty database with its `runs` table (MongoDB: created on first insert). */
export async function createTenant(tenant: Tenant): Promise<void> {
  switch (tenant.kind) {
    case "sqlite":
      closeSync(openSync(tenant.database, "w"));
      break;
    case "postgres":
      await withPostgres((c) => c.query(`create database ${pq(tenant.database)}`));
      break;
    case "mysql":
      await withMysql((c) => c.query(`create database ${mq(tenant.database)}`));
      break;
    case "mongodb":
      // Dropped first: a database left by a crashed run of the same runner pid is not reused.
      await withMongo(tenant.url, (db) => db.dropDatabase());
      return;
  }
  const id = tenant.kind === "mysql" ? "bigint not null auto_increment primary key" : "integer primary key";
  const serial = tenant.kind === "postgres" ? "bigserial primary key" : id;
  await sql(tenant, `create table runs (id ${serial}, step varchar(100) not null)`);
}

/** The poison: a table/collection whose presence makes every step body throw (see fleet-project.ts). */
export async function addPoison(tenant: Tenant): Promise<void> {
  if (tenant.kind === "mongodb") {
    await withMongo(tenant.url, (db) => db.createCollection("poison").then(() => undefined));
    return;
  }
  await sql(tenant, "create table poison (id integer)");
}

/** The fix: the poison dropped. */
export async function dropPoison(tenant: Tenant): Promise<void> {
  if (tenant.kind === "mongodb") {
    await withMongo(tenant.url, (db) =>
      db
        .collection("poison")
        .drop()
        .then(() => undefined),
    );
    return;
  }
  await sql(tenant, "drop table poison");
}

/** An opened adapter on the tenant, closed after `fn`. */
async function withAdapter<T>(tenant: Tenant, fn: (adapter: Adapter<any>) => Promise<T>): Promise<T> {
  const adapter = await adapterFromUrl(tenant.url);
  await adapter.open({ create: false });
  try {
    return await fn(adapter);
  } finally {
    await adapter.close();
  }
}

/** Stamps the tenant at `version` as `lockstep init --version` does: steps up to it baselined, never run. */
export async function stampTenant(
  tenant: Tenant,
  version: string,
  steps: readonly StepDefinition<any>[],
): Promise<void> {
  const upgrader = new Upgrader({
    adapter: await adapterFromUrl(tenant.url),
    appVersion: version,
    steps: [...steps],
  });
  try {
    await upgrader.init({ version });
  } finally {
    await upgrader.close();
  }
}

/** Leaves `version/name` INTERRUPTED, as a crashed upgrader would (its in-progress marker). */
export async function interruptTenant(tenant: Tenant, version: string, name: string): Promise<void> {
  await withAdapter(tenant, (adapter) =>
    adapter.write(null, (w) =>
      w.setMarker({
        version,
        name,
        startedAt: new Date().toISOString(),
        owner: "crashed/1",
        host: "elsewhere",
        pid: 4242,
        checkpoint: null,
      }),
    ),
  );
}

/** Every step id the tenant's `runs` holds, in insertion order. */
export async function runsOf(tenant: Tenant): Promise<string[]> {
  switch (tenant.kind) {
    case "sqlite":
      return withSqlite(tenant.database, (db) =>
        (db.prepare("select step from runs order by id").all() as { step: string }[]).map((r) => r.step),
      );
    case "postgres":
      return withPostgresDatabase(tenant.database, async (c) => {
        const { rows } = await c.query<{ step: string }>("select step from runs order by id");
        return rows.map((r) => r.step);
      });
    case "mysql":
      return withMysql(async (c) => {
        const [rows] = await c.query<mysql.RowDataPacket[]>(
          `select step from ${mq(tenant.database)}.runs order by id`,
        );
        return rows.map((r) => String(r.step));
      });
    case "mongodb":
      return withMongo(tenant.url, async (db) =>
        (await db.collection<{ step: string }>("runs").find({}).sort({ _id: 1 }).toArray()).map(
          (d) => d.step,
        ),
      );
  }
}

/** The tenant's stamp, floor, ledger, markers, history length and runs, read through a separate connection. */
export async function snapshotTenant(tenant: Tenant): Promise<TenantSnapshot> {
  const { state, history } = await withAdapter(tenant, async (adapter) => ({
    state: await adapter.readState(),
    history: (await adapter.readHistory()).length,
  }));
  return {
    stamp: state.stamp,
    floor: state.floor,
    ledger: state.ledger.map((e) => `${e.version}/${e.name}:${e.kind}`).sort(),
    interrupted: state.interrupted.map((m) => `${m.version}/${m.name}`),
    history,
    runs: await runsOf(tenant),
  };
}

/** Drops the tenants' server databases (SQLite files go with the project folder). Never throws. */
export async function dropTenants(tenants: readonly Tenant[]): Promise<string[]> {
  const failures: string[] = [];
  const drop = async (tenant: Tenant, fn: () => Promise<unknown>) => {
    await fn().catch((error: Error) => failures.push(`${tenant.name}: ${error.message}`));
  };
  for (const tenant of tenants) {
    if (tenant.kind === "postgres")
      await drop(tenant, () =>
        withPostgres((c) => c.query(`drop database if exists ${pq(tenant.database)} with (force)`)),
      );
    if (tenant.kind === "mysql")
      await drop(tenant, () => withMysql((c) => c.query(`drop database if exists ${mq(tenant.database)}`)));
    if (tenant.kind === "mongodb") await drop(tenant, () => withMongo(tenant.url, (db) => db.dropDatabase()));
  }
  return failures;
}
