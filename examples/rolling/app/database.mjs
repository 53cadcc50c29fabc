/**
 * The recipe app's own connection to its database (lockstep's guard opens its own). One
 * small interface over SQLite, PostgreSQL and MySQL/MariaDB: `run(sql, params)` for writes
 * (returns the new row's id) and `get(sql, params)` for one row. SQL uses `?` placeholders.
 */
import { fileURLToPath } from "node:url";

/** DATABASE_URL, or the same default as lockstep.config.ts (rolling.db beside the config). */
export function databaseUrl() {
  return process.env.DATABASE_URL ?? `sqlite:${fileURLToPath(new URL("../rolling.db", import.meta.url))}`;
}

/** Opens the database at `url`. */
export async function openDatabase(url) {
  if (url.startsWith("sqlite:")) return openSqlite(url.slice("sqlite:".length));
  if (url.startsWith("postgres:") || url.startsWith("postgresql:")) return openPostgres(url);
  if (url.startsWith("mysql:") || url.startsWith("mariadb:")) return openMysql(url);
  throw new Error(
    `the rolling example runs on SQLite, PostgreSQL and MySQL/MariaDB, not ${url.split(":")[0]}`,
  );
}

async function openSqlite(file) {
  const { default: Database } = await import("better-sqlite3");
  // Several app processes and lockstep share the file: wait for a writer instead of failing.
  const db = new Database(file, { timeout: 10_000 });
  db.pragma("journal_mode = WAL");
  return {
    run: async (sql, params) => Number(db.prepare(sql).run(...params).lastInsertRowid),
    get: async (sql, params) => db.prepare(sql).get(...params),
    close: async () => db.close(),
  };
}

/** lockstep's own URL parameters, which the driver must not see. */
function withoutLockstepParams(url) {
  const parsed = new URL(url);
  for (const name of ["schema", "lease", "app", "stampId"]) parsed.searchParams.delete(name);
  return parsed.toString();
}

async function openPostgres(url) {
  const { default: pg } = await import("pg");
  const pool = new pg.Pool({ connectionString: withoutLockstepParams(url), max: 4 });
  const numbered = (sql) => {
    let n = 0;
    return sql.replaceAll("?", () => `$${++n}`);
  };
  return {
    async run(sql, params) {
      const { rows } = await pool.query(`${numbered(sql)} returning id`, params);
      return Number(rows[0].id);
    },
    async get(sql, params) {
      const { rows } = await pool.query(numbered(sql), params);
      return rows[0];
    },
    close: () => pool.end(),
  };
}

async function openMysql(url) {
  const mysql = await import("mysql2/promise");
  const pool = mysql.createPool({
    uri: withoutLockstepParams(url).replace(/^mariadb:/, "mysql:"),
    connectionLimit: 4,
  });
  return {
    async run(sql, params) {
      const [result] = await pool.query(sql, params);
      return Number(result.insertId);
    },
    async get(sql, params) {
      const [rows] = await pool.query(sql, params);
      return rows[0];
    },
    close: () => pool.end(),
  };
}
