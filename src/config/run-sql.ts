import { LockstepError } from "../core/errors.js";

/** Runs a script of SQL statements on a database handle. */
export type SqlRunner = (sql: string) => Promise<void>;

interface SqlHandle {
  exec?: unknown;
  prepare?: unknown;
  query?: unknown;
  execute?: unknown;
}

/**
 * How to run a script of SQL on the handle a step receives, chosen by the handle's shape
 * (the core knows no driver): better-sqlite3 `exec` runs many statements; pg `query` runs
 * many statements without parameters; mysql2 `query` runs one statement unless the pool was
 * opened with `multipleStatements`, so the script is split. Undefined for a handle that runs
 * no SQL (MongoDB).
 */
export function sqlRunnerFor(db: unknown): SqlRunner | undefined {
  if (db === null || typeof db !== "object") return undefined;
  const handle = db as SqlHandle;
  const exec = handle.exec;
  const query = handle.query;
  if (typeof exec === "function" && typeof handle.prepare === "function") {
    return async (sql) => {
      exec.call(db, sql);
    };
  }
  if (typeof query === "function" && typeof handle.execute === "function") {
    return async (sql) => {
      for (const statement of splitSqlStatements(sql)) await query.call(db, statement);
    };
  }
  if (typeof query === "function") {
    return async (sql) => {
      await query.call(db, sql);
    };
  }
  return undefined;
}

/** Runs `sql` on `db`, or throws E_UNSUPPORTED when the handle runs no SQL. */
export async function runSql(db: unknown, sql: string, what: string): Promise<void> {
  const runner = sqlRunnerFor(db);
  if (runner === undefined) {
    throw new LockstepError("E_UNSUPPORTED", `${what} is SQL, and this database does not run SQL`, {
      hint: "write the step in TypeScript or JavaScript for this database",
    });
  }
  await runner(sql);
}

/**
 * Splits a script into statements at each `;` that ends a line (documented: a statement
 * ends with `;` at the end of its line), dropping parts that hold only comments.
 */
export function splitSqlStatements(sql: string): string[] {
  return sql
    .split(/;[ \t]*(?:--[^\n]*)?\r?$/m)
    .map((part) => part.trim())
    .filter((part) => part.replace(/^\s*--.*$/gm, "").trim() !== "");
}
