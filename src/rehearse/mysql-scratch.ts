/**
 * MySQL/MariaDB: there is no template copy, so the scratch is a new schema filled by
 * `mariadb-dump --single-transaction` (one consistent snapshot, no lock on the source's
 * tables) piped into `mariadb`; the password goes in MYSQL_PWD, never on the command line.
 */
import type mysql from "mysql2/promise";
import { loadDriver } from "../adapters/load-driver.js";
import { secretsOf } from "../adapters/url.js";
import { mysqlTool, withDatabase } from "../tools/database-url.js";
import { findTool, toolMissing } from "../tools/find-tool.js";
import { pipeTools } from "../tools/pipe-tools.js";
import {
  COPY_TOOL_MISSING,
  checkScratchName,
  copyEvents,
  defaultScratchName,
  type ProgressListener,
  quoteIdent,
  type ScratchTarget,
  scratchExists,
  throwIfCopyStopped,
} from "./scratch.js";

type Mysql = typeof mysql;

/** MySQL's longest schema name. */
const MAX_NAME = 64;

const q = (name: string) => quoteIdent(name, "`");

/** Runs `fn` on a connection to `url`'s server. */
async function withConnection<T>(url: string, fn: (c: mysql.Connection) => Promise<T>): Promise<T> {
  const driver = await loadDriver<Mysql>("mysql2/promise", "MySQL");
  const conn = await driver.createConnection({ uri: url.replace(/^mariadb:/i, "mysql:") });
  conn.on("error", () => undefined);
  try {
    return await fn(conn);
  } finally {
    await conn.end().catch(() => conn.destroy());
  }
}

/** The client tools' connection (no password in argv: MYSQL_PWD carries it). */
function toolConnection(url: string, env: NodeJS.ProcessEnv): { args: string[]; env: NodeJS.ProcessEnv } {
  const tool = mysqlTool(url, "3306");
  return { args: tool.args, env: { ...env, ...tool.env } };
}

/**
 * Refuses a scratch schema that exists; returns the source's character set and collation, for
 * the scratch to have the same defaults.
 */
async function checkTarget(url: string, name: string, source: string): Promise<string> {
  return withConnection(url, async (c) => {
    const [rows] = await c.query<mysql.RowDataPacket[]>(
      "select schema_name as name, default_character_set_name as cs, default_collation_name as co from information_schema.schemata where schema_name in (?, ?)",
      [name, source],
    );
    if (rows.some((r) => r.name === name))
      throw scratchExists(name, "a schema of that name is on the server");
    const own = rows.find((r) => r.name === source);
    return own ? ` character set ${String(own.cs)} collate ${String(own.co)}` : "";
  });
}

/** The dump tool piped into the client, from `source` into `name`. */
async function dumpAndRestore(
  url: string,
  source: string,
  name: string,
  tools: { dump: string; client: string },
  env: NodeJS.ProcessEnv,
  signal: AbortSignal,
  progress: ProgressListener,
): Promise<void> {
  const conn = toolConnection(url, env);
  await pipeTools(
    {
      program: tools.dump,
      args: [...conn.args, "--single-transaction", "--routines", "--triggers", "--skip-lock-tables", source],
      env: conn.env,
    },
    { program: tools.client, args: [...conn.args, name], env: conn.env },
    signal,
    copyEvents(secretsOf(url), signal, progress),
  );
}

/** The scratch schema for the MySQL/MariaDB database `url` names. */
export async function mysqlScratch(
  url: string,
  scratch: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<ScratchTarget> {
  const source = decodeURIComponent(new URL(url.replace(/^mariadb:/i, "mysql:")).pathname.slice(1));
  const name = scratch ?? defaultScratchName(source, MAX_NAME);
  // Schema names are case-insensitive where the server's files are (lower_case_table_names).
  checkScratchName(name, source, MAX_NAME, "schema", (a, b) => a.toLowerCase() === b.toLowerCase());
  const charset = await checkTarget(url, name, source);
  let created = false;
  return {
    kind: "mysql",
    url: withDatabase(url, name),
    name,
    async copy(signal, progress) {
      throwIfCopyStopped(signal);
      const dump = findTool(["mariadb-dump", "mysqldump"], env);
      const client = findTool(["mariadb", "mysql"], env);
      if (dump === null || client === null) {
        throw toolMissing(
          { names: ["mariadb-dump", "mysqldump"], debianPackage: "mariadb-client (or mysql-client)" },
          COPY_TOOL_MISSING,
        );
      }
      await withConnection(url, (c) => c.query(`create database ${q(name)}${charset}`));
      created = true;
      await dumpAndRestore(url, source, name, { dump, client }, env, signal, progress);
      return `${dump} --single-transaction | ${client}`;
    },
    async drop() {
      if (!created) return;
      await withConnection(url, (c) => c.query(`drop database if exists ${q(name)}`));
      created = false;
    },
  };
}
