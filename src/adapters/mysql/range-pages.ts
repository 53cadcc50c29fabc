/** `ctx.batchRanges` on MySQL/MariaDB: key ranges read on a pooled connection, the statement run with `?`, `?`. */
import type mysql from "mysql2/promise";
import type { BatchSource, KeyRange } from "../../core/adapter.js";
import { rangeOf, rangeSql } from "../sql-range.js";
import { q, type Row, tableRef } from "./state-store.js";

const DIALECT = { q, table: tableRef, after: "?", limit: "?" };

/** The next range of up to `limit` keys after `after` (null: from the start). */
export async function readRange(
  pool: mysql.Pool,
  source: BatchSource,
  after: unknown,
  limit: number,
): Promise<KeyRange | null> {
  const hasAfter = after !== null && after !== undefined;
  const count = Math.max(0, Math.floor(limit));
  const [rows] = await pool.query<Row[]>(
    rangeSql(source, hasAfter, DIALECT),
    hasAfter ? [after, count] : [count],
  );
  return rangeOf(rows[0], source);
}

/** Runs the range statement with the range's first and last key as its two `?`. */
export async function runRange(db: mysql.Connection, sql: string, range: KeyRange): Promise<number> {
  const [result] = await db.query<mysql.ResultSetHeader>(sql, [range.first, range.last]);
  return result.affectedRows;
}
