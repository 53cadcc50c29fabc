/** SQLite: the online backup API (better-sqlite3 `.backup()`), which restores by copying back. */
import { existsSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type BetterSqlite3 from "better-sqlite3";
import { loadDriver } from "../adapters/load-driver.js";
import {
  type BackupEngine,
  type BackupFormat,
  type ProgressFn,
  randomSuffix,
  VOLATILE_TABLES,
} from "./engine.js";
import { checksumOfRows, sortedByName, type TableChecksum } from "./table-checksums.js";

type Db = BetterSqlite3.Database;

const driver = () => loadDriver<typeof BetterSqlite3>("better-sqlite3", "SQLite");

/** Backs up one SQLite file. */
export class SqliteBackup implements BackupEngine {
  readonly kind = "sqlite";
  readonly extension = ".sqlite";
  readonly name: string;

  constructor(readonly filename: string) {
    this.name = basename(filename).replace(/\.[^.]*$/, "") || "sqlite";
  }

  async #open<T>(fn: (db: Db) => T | Promise<T>, readonly = true): Promise<T> {
    const Database = await driver();
    const db = new Database(this.filename, { readonly, fileMustExist: readonly });
    try {
      return await fn(db);
    } finally {
      db.close();
    }
  }

  async serverVersion(): Promise<string> {
    if (!existsSync(this.filename)) return "SQLite";
    return this.#open(
      (db) => `SQLite ${(db.prepare("select sqlite_version() as v").get() as { v: string }).v}`,
    );
  }

  async checksums(): Promise<TableChecksum[]> {
    return this.#open((db) =>
      sortedByName(
        userTables(db).map((name) => {
          const rows = db.prepare(`select * from "${name.replaceAll('"', '""')}"`).all() as object[];
          return { name, ...checksumOfRows(rows.map(rowText)) };
        }),
      ),
    );
  }

  async isEmpty(): Promise<boolean> {
    if (!existsSync(this.filename)) return true;
    return this.#open((db) => userTables(db, true).length === 0);
  }

  async dump(file: string, progress?: ProgressFn): Promise<{ format: BackupFormat; tool: string }> {
    await this.#open(async (db) => {
      await db.backup(file, {
        progress: ({ totalPages, remainingPages }) => {
          if (totalPages > 0) progress?.((totalPages - remainingPages) / totalPages);
          return 256;
        },
      });
    });
    return { format: "sqlite-file", tool: "better-sqlite3 online backup API" };
  }

  async restore(file: string): Promise<void> {
    const Database = await driver();
    const source = new Database(file, { readonly: true, fileMustExist: true });
    try {
      await source.backup(this.filename);
    } finally {
      source.close();
    }
  }

  async wipe(): Promise<void> {
    for (const suffix of ["", "-wal", "-shm", "-journal"])
      rmSync(`${this.filename}${suffix}`, { force: true });
  }

  async scratch(): Promise<{ engine: BackupEngine; drop(): Promise<void> }> {
    const engine = new SqliteBackup(
      join(dirname(this.filename), `.lockstep-verify-${randomSuffix()}.sqlite`),
    );
    return { engine, drop: () => engine.wipe() };
  }

  nativeRestoreCommand(file: string): string {
    // Each argument single-quoted for the shell; the dot-command's path single-quoted for sqlite3
    // (taken literally there: a double-quoted one would read backslashes as escapes).
    const sh = (text: string) => `'${text.replace(/'/g, "'\\''")}'`;
    return `sqlite3 ${sh(file)} ${sh(`.backup '${this.filename}'`)}  # or copy the file over the stopped app's database`;
  }
}

/** The user's tables (lockstep's volatile ones left out unless `all`). */
function userTables(db: Db, all = false): string[] {
  const names = (
    db
      .prepare(
        "select name from sqlite_master where type = 'table' and name not like 'sqlite\\_%' escape '\\'",
      )
      .all() as {
      name: string;
    }[]
  ).map((r) => r.name);
  return all ? names : names.filter((n) => !VOLATILE_TABLES.includes(n));
}

function rowText(row: object): string {
  return JSON.stringify(row, (_k, v) =>
    Buffer.isBuffer(v) ? `x'${v.toString("hex")}'` : typeof v === "bigint" ? v.toString() : v,
  );
}
