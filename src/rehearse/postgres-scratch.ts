/**
 * PostgreSQL: the scratch is a new database on the same server. `CREATE DATABASE … TEMPLATE
 * source` copies it file by file, but only while no other session is connected to the source
 * (PostgreSQL refuses with 55006, "being accessed by other users"); otherwise `pg_dump -Fc |
 * pg_restore` copies it from a snapshot. Both only read the source.
 */

import type pg from "pg";
import { loadPg } from "../adapters/postgres/load-pg.js";
import { secretsOf, takeLockstepParams } from "../adapters/url.js";
import { libpqEnv, withDatabase } from "../tools/database-url.js";
import { findTool, toolMissing } from "../tools/find-tool.js";
import { pipeTools } from "../tools/pipe-tools.js";
import {
  COPY_TOOL_MISSING,
  checkScratchName,
  copyError,
  copyEvents,
  defaultScratchName,
  type ProgressListener,
  quoteIdent,
  type ScratchTarget,
  scratchExists,
  throwIfCopyStopped,
} from "./scratch.js";

/** PostgreSQL's longest identifier. */
const MAX_NAME = 63;

const q = (name: string) => quoteIdent(name, '"');

/** Runs `fn` on a connection to the server's maintenance database (`postgres`, else `template1`). */
async function withAdmin<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const driver = await loadPg();
  const base = takeLockstepParams(url, ["schema", "lease"]).rest;
  let lastError: unknown;
  for (const database of ["postgres", "template1"]) {
    const client = new driver.Client({ connectionString: withDatabase(base, database) });
    client.on("error", () => undefined);
    try {
      await client.connect();
    } catch (error) {
      lastError = error;
      continue;
    }
    try {
      return await fn(client);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  throw copyError(
    "cannot connect to the server's `postgres` or `template1` database to create the scratch database",
    "rehearse needs a user that may connect there and CREATE DATABASE",
    lastError,
  );
}

/**
 * Creates the scratch database: a TEMPLATE copy of `source` when no other session is connected
 * to it, else an empty one (then filled by dump and restore). True for a TEMPLATE copy.
 */
async function createScratch(c: pg.Client, name: string, source: string): Promise<boolean> {
  // PostgreSQL waits 5 s for the source's sessions to leave before it refuses a template.
  const others = await c.query("select 1 from pg_stat_activity where datname = $1 limit 1", [source]);
  if (others.rowCount === 0) {
    try {
      await c.query(`create database ${q(name)} template ${q(source)}`);
      return true;
    } catch (error) {
      // 55006 object_in_use: a session connected in the meantime.
      if ((error as { code?: string }).code !== "55006") throw error;
    }
  }
  await c.query(`create database ${q(name)}`);
  return false;
}

/** `pg_dump -Fc` of `source` piped into `pg_restore` into `name`; credentials in the environment. */
async function dumpAndRestore(
  url: string,
  source: string,
  name: string,
  env: NodeJS.ProcessEnv,
  signal: AbortSignal,
  progress: ProgressListener,
): Promise<void> {
  const [dump, restore] = [findTool(["pg_dump"], env), findTool(["pg_restore"], env)];
  if (dump === null || restore === null) {
    throw toolMissing(
      { names: ["pg_dump", "pg_restore"], debianPackage: "postgresql-client" },
      COPY_TOOL_MISSING,
    );
  }
  await pipeTools(
    { program: dump, args: ["--format=custom", "--no-owner", "--no-acl"], env: libpqEnv(url, source, env) },
    { program: restore, args: ["--no-owner", "--no-acl", "--dbname", name], env: libpqEnv(url, name, env) },
    signal,
    copyEvents(secretsOf(url), signal, progress),
  );
}

/** The scratch database for the PostgreSQL database `url` names. */
export async function postgresScratch(
  url: string,
  scratch: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<ScratchTarget> {
  const source = decodeURIComponent(new URL(url).pathname.slice(1)) || "postgres";
  const name = scratch ?? defaultScratchName(source, MAX_NAME);
  checkScratchName(name, source, MAX_NAME, "database");
  await withAdmin(url, async (c) => {
    const found = await c.query("select 1 from pg_database where datname = $1", [name]);
    if (found.rowCount !== 0) throw scratchExists(name, "a database of that name is on the server");
  });
  let created = false;
  return {
    kind: "postgres",
    url: withDatabase(url, name),
    name,
    async copy(signal, progress) {
      throwIfCopyStopped(signal);
      const byTemplate = await withAdmin(url, (c) => createScratch(c, name, source));
      created = true;
      if (byTemplate) {
        progress({ phase: "copy", done: 1, total: 1, unit: "database" });
        return "CREATE DATABASE … TEMPLATE";
      }
      await dumpAndRestore(url, source, name, env, signal, progress);
      return "pg_dump | pg_restore (the source had other sessions)";
    },
    async drop() {
      if (!created) return;
      await withAdmin(url, async (c) => {
        // FORCE (PostgreSQL 13+) ends the sessions an abandoned step left behind.
        await c
          .query(`drop database if exists ${q(name)} with (force)`)
          .catch(() => c.query(`drop database if exists ${q(name)}`));
      });
      created = false;
    },
  };
}
