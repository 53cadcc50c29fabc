/**
 * MySQL/MariaDB: there is no template copy, so the scratch is a new schema filled by
 * `mariadb-dump --single-transaction` (one consistent snapshot, no lock on the source's
 * tables) piped into `mariadb`; the password goes in MYSQL_PWD, never on the command line.
 */
import type mysql from "mysql2/promise";
import { loadDriver } from "../adapters/load-driver.js";
import { scrub, secretsOf } from "../adapters/url.js";
import { findTool, pipeTools, type ToolCommand, toolMissing } from "./pipe-tools.js";
import {
  defaultScratchName,
  quoteIdent,
  type ScratchTarget,
  scratchExists,
  targetError,
  throwIfCopyStopped,
} from "./scratch.js";

type Mysql = typeof mysql;

/** MySQL's longest schema name. */
const MAX_NAME = 64;

const q = (name: string) => quoteIdent(name, "`");

/** `url` (mysql:// or mariadb://) with its database replaced by `database`. */
function withDatabase(url: string, database: string): string {
  const parsed = new URL(url.replace(/^mariadb:/i, "mysql:"));
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

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

/** The client tools' connection arguments (no password: MYSQL_PWD carries it). */
function toolConnection(url: string, env: NodeJS.ProcessEnv): { args: string[]; env: NodeJS.ProcessEnv } {
  const u = new URL(url.replace(/^mariadb:/i, "mysql:"));
  return {
    args: [
      `--host=${decodeURIComponent(u.hostname.replace(/^\[|\]$/g, "")) || "localhost"}`,
      `--port=${u.port || "3306"}`,
      ...(u.username !== "" ? [`--user=${decodeURIComponent(u.username)}`] : []),
    ],
    env: { ...env, ...(u.password !== "" && { MYSQL_PWD: decodeURIComponent(u.password) }) },
  };
}

/** The scratch schema for the MySQL/MariaDB database `url` names. */
export async function mysqlScratch(
  url: string,
  scratch: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<ScratchTarget> {
  const source = decodeURIComponent(new URL(url.replace(/^mariadb:/i, "mysql:")).pathname.slice(1));
  const name = scratch ?? defaultScratchName(source, MAX_NAME);
  if (name.toLowerCase() === source.toLowerCase()) {
    throw targetError(
      `${name} is the source database`,
      "name another schema with --scratch, or leave it out",
    );
  }
  if (name.length > MAX_NAME) {
    throw targetError(`${name} is longer than MySQL's ${MAX_NAME} characters`, "use a shorter --scratch");
  }
  const charset = await withConnection(url, async (c) => {
    const [rows] = await c.query<mysql.RowDataPacket[]>(
      "select schema_name as name, default_character_set_name as cs, default_collation_name as co from information_schema.schemata where schema_name in (?, ?)",
      [name, source],
    );
    if (rows.some((r) => r.name === name))
      throw scratchExists(name, "a schema of that name is on the server");
    const own = rows.find((r) => r.name === source);
    return own ? ` character set ${String(own.cs)} collate ${String(own.co)}` : "";
  });
  const secrets = secretsOf(url);
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
        throw toolMissing(["mariadb-dump", "mysqldump"], "mariadb-client (or mysql-client)");
      }
      await withConnection(url, (c) => c.query(`create database ${q(name)}${charset}`));
      created = true;
      const conn = toolConnection(url, env);
      const dumpCommand: ToolCommand & { env: NodeJS.ProcessEnv } = {
        program: dump,
        args: [
          ...conn.args,
          "--single-transaction",
          "--routines",
          "--triggers",
          "--skip-lock-tables",
          source,
        ],
        env: conn.env,
      };
      await pipeTools(
        dumpCommand,
        { program: client, args: [...conn.args, name], env: conn.env },
        signal,
        progress,
        (text) => scrub(text, secrets),
      );
      return `${dump} --single-transaction | ${client}`;
    },
    async drop() {
      if (!created) return;
      await withConnection(url, (c) => c.query(`drop database if exists ${q(name)}`));
      created = false;
    },
  };
}
