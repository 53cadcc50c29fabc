/** PostgreSQL: `pg_dump -Fc`, restored with `pg_restore`; the password only in PGPASSWORD. */
import type pg from "pg";
import { loadDriver } from "../adapters/load-driver.js";
import { redactUrl, takeLockstepParams } from "../adapters/url.js";
import { libpqArgvUrl, withDatabase } from "../tools/database-url.js";
import { runBackupTool, type ToolSpec } from "./backup-tool.js";
import {
  type BackupEngine,
  type BackupFormat,
  randomSuffix,
  usingConnection,
  VOLATILE_TABLES,
} from "./engine.js";
import { checksumOfRows, sortedByName, type TableChecksum } from "./table-checksums.js";

const PG_DUMP: ToolSpec = { names: ["pg_dump"], debianPackage: "postgresql-client" };
const PG_RESTORE: ToolSpec = { names: ["pg_restore"], debianPackage: "postgresql-client" };
const q = (identifier: string) => `"${identifier.replaceAll('"', '""')}"`;

/** Backs up one PostgreSQL database (or, with `?schema=`, that schema). */
export class PostgresBackup implements BackupEngine {
  readonly kind = "postgres";
  readonly extension = ".pgdump";
  readonly name: string;
  /** The URL without lockstep's parameters and without the password. */
  readonly #bare: URL;
  readonly #password: string;
  readonly #env: Record<string, string>;
  readonly #schema: string | undefined;

  constructor(readonly url: string) {
    const { rest, params } = takeLockstepParams(url, ["schema", "lease"]);
    const { url: bare, password } = libpqArgvUrl(rest);
    this.#bare = bare;
    this.#password = password;
    this.#env = password !== "" ? { PGPASSWORD: password } : {};
    this.#schema = params.get("schema");
    this.name = decodeURIComponent(this.#bare.pathname.slice(1)) || "postgres";
  }

  async #query<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
    const { Client } = await loadDriver<typeof pg>("pg", "PostgreSQL");
    const client = new Client({ connectionString: this.#bare.href, password: this.#password });
    client.on("error", () => undefined);
    await client.connect();
    return usingConnection(client, (c) => c.end(), fn);
  }

  serverVersion(): Promise<string> {
    return this.#query(async (c) => {
      const { rows } = await c.query<{ v: string }>("select current_setting('server_version') as v");
      return `PostgreSQL ${rows[0]?.v ?? "?"}`;
    }).catch(() => "PostgreSQL");
  }

  async #tables(c: pg.Client): Promise<{ schema: string; table: string }[]> {
    const { rows } = await c.query<{ schema: string; table: string }>(
      `select table_schema as schema, table_name as table from information_schema.tables
        where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')
          and ($1::text is null or table_schema = $1) order by 1, 2`,
      [this.#schema ?? null],
    );
    return rows;
  }

  checksums(): Promise<TableChecksum[]> {
    return this.#query(async (c) => {
      const out: TableChecksum[] = [];
      for (const { schema, table } of await this.#tables(c)) {
        if (VOLATILE_TABLES.includes(table)) continue;
        const { rows } = await c.query<{ r: string }>(`select t::text as r from ${q(schema)}.${q(table)} t`);
        out.push({ name: `${schema}.${table}`, ...checksumOfRows(rows.map((row) => row.r)) });
      }
      return sortedByName(out);
    });
  }

  isEmpty(): Promise<boolean> {
    return this.#query(async (c) => (await this.#tables(c)).length === 0);
  }

  async dump(file: string): Promise<{ format: BackupFormat; tool: string }> {
    const schema = this.#schema !== undefined ? ["-n", this.#schema] : [];
    const tool = await runBackupTool(PG_DUMP, {
      args: ["-Fc", "--no-owner", "-f", file, ...schema, "-d", this.#bare.href],
      env: this.#env,
      secrets: [this.#password],
      purpose: "backup",
    });
    return { format: "pg-custom", tool: `${tool} -Fc` };
  }

  async restore(file: string): Promise<void> {
    await runBackupTool(PG_RESTORE, {
      args: ["--no-owner", "--exit-on-error", "--single-transaction", "-d", this.#bare.href, file],
      env: this.#env,
      secrets: [this.#password],
      purpose: "restore",
    });
  }

  wipe(): Promise<void> {
    return this.#query(async (c) => {
      const schemas =
        this.#schema !== undefined
          ? [this.#schema]
          : [...new Set((await this.#tables(c)).map((t) => t.schema))];
      for (const s of schemas) await c.query(`drop schema if exists ${q(s)} cascade`);
      for (const s of new Set([...schemas.filter((s) => s === "public"), this.#schema ?? "public"]))
        await c.query(`create schema if not exists ${q(s)}`);
    });
  }

  async scratch(): Promise<{ engine: BackupEngine; drop(): Promise<void> }> {
    const name = `${this.name}_lockstep_verify_${randomSuffix()}`.slice(0, 63);
    await this.#query((c) => c.query(`create database ${q(name)}`));
    return {
      engine: new PostgresBackup(withDatabase(this.url, name)),
      drop: () =>
        this.#query((c) => c.query(`drop database if exists ${q(name)} with (force)`)).then(() => undefined),
    };
  }

  nativeRestoreCommand(file: string): string {
    return `PGPASSWORD=… pg_restore --no-owner --exit-on-error --single-transaction -d '${redactUrl(this.#bare.href)}' '${file}'`;
  }
}
