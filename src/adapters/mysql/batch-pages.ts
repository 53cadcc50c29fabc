import type mysql from "mysql2/promise";
import type { BatchChange, BatchPage, BatchSource, BatchSourceInfo } from "../../core/adapter.js";
import { groupByColumns, sourceTable } from "../../core/batch.js";
import { q, type Row, tableRef } from "./state-store.js";

/**
 * Whether `source`'s table exists (in the connection's database unless qualified as db.table)
 * and its key is unique: the primary key or a unique index on that one column. Views cannot tell.
 */
export async function inspectBatchSource(pool: mysql.Pool, source: BatchSource): Promise<BatchSourceInfo> {
  const name = sourceTable(source);
  const dot = name.indexOf(".");
  const where = "table_schema = coalesce(?, database()) and table_name = ?";
  const params = [dot < 0 ? null : name.slice(0, dot), dot < 0 ? name : name.slice(dot + 1)];
  const key = source.key ?? "id";
  const [tables] = await pool.query<Row[]>(
    `select table_type as type from information_schema.tables where ${where}`,
    params,
  );
  if (tables.length === 0) return { exists: false, key: "unknown" };
  const [columns] = await pool.query<Row[]>(
    `select 1 from information_schema.columns where ${where} and lower(column_name) = lower(?)`,
    [...params, key],
  );
  if (columns.length === 0) return { exists: true, key: "missing" };
  if (tables[0]!.type === "VIEW") return { exists: true, key: "unknown" };
  const [indexes] = await pool.query<Row[]>(
    `select index_name from information_schema.statistics where ${where}
     group by index_name
     having max(non_unique) = 0 and count(*) = 1 and max(lower(column_name) = lower(?)) = 1`,
    [...params, key],
  );
  return { exists: true, key: indexes.length > 0 ? "unique" : "not-unique" };
}

/**
 * A keyset page. The adapter passes its pool, so the page runs on a connection of its own
 * while the page before it is written in another connection's transaction.
 */
export async function readPage(
  pool: mysql.Pool,
  source: BatchSource,
  after: unknown,
  limit: number,
): Promise<BatchPage> {
  const key = source.key ?? "id";
  const columns = source.fields ? [key, ...source.fields.filter((f) => f !== key)].map(q).join(", ") : "*";
  const params: unknown[] = [];
  const conditions: string[] = [];
  if (after !== null && after !== undefined) {
    params.push(after);
    conditions.push(`${q(key)} > ?`);
  }
  if (source.where) conditions.push(`(${source.where})`);
  params.push(Math.max(0, Math.floor(limit)));
  const [rows] = await pool.query<Row[]>(
    `select ${columns} from ${tableRef(sourceTable(source))}${conditions.length ? ` where ${conditions.join(" and ")}` : ""} order by ${q(key)} limit ?`,
    params,
  );
  return { rows, lastKey: rows.length > 0 ? rows[rows.length - 1]![key] : null };
}

/**
 * One `update ... join (select ... union all select ...)` per set of columns changed (one
 * per page when every change sets the same columns). MariaDB has no `VALUES ROW(...)`
 * table constructor, so the derived table is a UNION ALL, which both servers take.
 */
export async function writePage(
  db: mysql.Connection,
  source: BatchSource,
  changes: readonly BatchChange[],
): Promise<number> {
  const key = source.key ?? "id";
  let written = 0;
  for (const [columns, group] of groupByColumns(changes)) {
    const first = `select ? as k, ${columns.map((_, i) => `? as c${i}`).join(", ")}`;
    const rest = `select ${["?", ...columns.map(() => "?")].join(", ")}`;
    const selects = group.map((_, i) => (i === 0 ? first : rest)).join(" union all ");
    const params = group.flatMap((c) => [mysqlValue(c.key), ...columns.map((col) => mysqlValue(c.set[col]))]);
    const [result] = await db.query<mysql.ResultSetHeader>(
      `update ${tableRef(sourceTable(source))} t join (${selects}) v on t.${q(key)} = v.k
       set ${columns.map((col, i) => `t.${q(col)} = v.c${i}`).join(", ")}`,
      params,
    );
    written += result.affectedRows;
  }
  return written;
}

/**
 * A value for a `?` placeholder: plain objects and arrays as JSON text (mysql2 would turn an
 * object into `a = 1, b = 2` and an array into a list), booleans as 1/0.
 */
function mysqlValue(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "object" && !(value instanceof Date) && !Buffer.isBuffer(value)) {
    return JSON.stringify(value);
  }
  return value;
}
