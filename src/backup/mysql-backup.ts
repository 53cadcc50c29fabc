/**
 * MySQL/MariaDB: `mariadb-dump` (or `mysqldump`) `--single-transaction`, restored by piping
 * the file into `mariadb` (or `mysql`); the password only in MYSQL_PWD.
 */
import type mysql from "mysql2/promise";
import { loadDriver } from "../adapters/load-driver.js";
import { redactUrl } from "../adapters/url.js";
import { mysqlTool, serverUrl, withDatabase } from "../tools/database-url.js";
import { runBackupTool, type ToolSpec } from "./backup-tool.js";
import {
  type BackupEngine,
  type BackupFormat,
  randomSuffix,
  usingConnection,
  VOLATILE_TABLES,
} from "./engine.js";
import { checksumOfRows, sortedByName, type TableChecksum } from "./table-checksums.js";

const DUMP: ToolSpec = { names: ["mariadb-dump", "mysqldump"], debianPackage: "mariadb-client" };
const CLIENT: ToolSpec = { names: ["mariadb", "mysql"], debianPackage: "mariadb-client" };
const q = (identifier: string) => `\`${identifier.replaceAll("`", "``")}\``;

/** Backs up one MySQL/MariaDB database (schema). */
export class MysqlBackup implements BackupEngine {
  readonly kind = "mysql";
  readonly extension = ".sql";
  readonly name: string;
  readonly #url: URL;
  readonly #password: string;

  constructor(readonly url: string) {
    this.#url = new URL(url.replace(/^mariadb:/i, "mysql:"));
    this.#password = decodeURIComponent(this.#url.password);
    this.name = decodeURIComponent(this.#url.pathname.slice(1)) || "mysql";
  }

  /** host, port and user for the command-line tools; never the password. */
  get #connectArgs(): string[] {
    return mysqlTool(this.#url.href).args;
  }

  get #env(): Record<string, string> {
    return mysqlTool(this.#url.href).env;
  }

  async #query<T>(fn: (c: mysql.Connection) => Promise<T>, database: string | null = this.name): Promise<T> {
    const driver = await loadDriver<typeof mysql>("mysql2/promise", "MySQL");
    const uri = database === null ? serverUrl(this.#url.href) : withDatabase(this.#url.href, database);
    const conn = await driver.createConnection({
      uri,
      dateStrings: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
    });
    return usingConnection(conn, (c) => c.end(), fn);
  }

  serverVersion(): Promise<string> {
    return this.#query(async (c) => {
      const [rows] = await c.query("select version() as v");
      const v = String((rows as { v: string }[])[0]?.v ?? "?");
      return /mariadb/i.test(v) ? `MariaDB ${v.replace(/-MariaDB.*$/i, "")}` : `MySQL ${v}`;
    }).catch(() => "MySQL");
  }

  async #tables(c: mysql.Connection): Promise<string[]> {
    const [rows] = await c.query(
      "select table_name as t from information_schema.tables where table_schema = ? and table_type = 'BASE TABLE' order by 1",
      [this.name],
    );
    return (rows as { t: string }[]).map((r) => r.t);
  }

  checksums(): Promise<TableChecksum[]> {
    return this.#query(async (c) => {
      const out: TableChecksum[] = [];
      for (const table of await this.#tables(c)) {
        if (VOLATILE_TABLES.includes(table)) continue;
        const [rows] = await c.query(`select * from ${q(table)}`);
        out.push({ name: table, ...checksumOfRows((rows as object[]).map(rowText)) });
      }
      return sortedByName(out);
    });
  }

  isEmpty(): Promise<boolean> {
    return this.#query(async (c) => (await this.#tables(c)).length === 0);
  }

  async dump(file: string): Promise<{ format: BackupFormat; tool: string }> {
    const tool = await runBackupTool(DUMP, {
      args: [
        ...this.#connectArgs,
        "--single-transaction",
        "--routines",
        "--triggers",
        "--skip-lock-tables",
        `--result-file=${file}`,
        this.name,
      ],
      env: this.#env,
      secrets: [this.#password],
      purpose: "backup",
    });
    return { format: "mysql-sql", tool: `${tool} --single-transaction` };
  }

  async restore(file: string): Promise<void> {
    await runBackupTool(CLIENT, {
      args: [...this.#connectArgs, this.name],
      env: this.#env,
      stdinFile: file,
      secrets: [this.#password],
      purpose: "restore",
    });
  }

  wipe(): Promise<void> {
    return this.#query(async (c) => {
      await c.query("set foreign_key_checks = 0");
      for (const table of await this.#tables(c)) await c.query(`drop table ${q(table)}`);
    });
  }

  async scratch(): Promise<{ engine: BackupEngine; drop(): Promise<void> }> {
    const name = `${this.name}_lockstep_verify_${randomSuffix()}`.slice(0, 64);
    await this.#query((c) => c.query(`create database ${q(name)}`), null);
    return {
      engine: new MysqlBackup(withDatabase(this.#url.href, name)),
      drop: () =>
        this.#query((c) => c.query(`drop database if exists ${q(name)}`), null).then(() => undefined),
    };
  }

  nativeRestoreCommand(file: string): string {
    const u = new URL(redactUrl(this.#url.href));
    return `MYSQL_PWD=… mariadb ${this.#connectArgs.join(" ")} ${u.pathname.slice(1)} < '${file}'`;
  }
}

function rowText(row: object): string {
  return JSON.stringify(row, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
}
