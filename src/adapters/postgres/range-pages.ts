/** `ctx.batchRanges` on PostgreSQL: key ranges read on a pooled connection, the statement run with `$1`/`$2`. */
import type pg from "pg";
import type { BatchSource, KeyRange } from "../../core/adapter.js";
import { rangeOf, rangeSql } from "../sql-range.js";
import { quoteIdent, tableRef } from "./quote-ident.js";

const DIALECT = { q: quoteIdent, table: tableRef, after: "$2", limit: "$1" };

/** The next range of up to `limit` keys after `after` (null: from the start). */
export async function readRange(
  c: pg.Pool | pg.ClientBase,
  source: BatchSource,
  after: unknown,
  limit: number,
): Promise<KeyRange | null> {
  const hasAfter = after !== null && after !== undefined;
  const { rows } = await c.query<Record<string, unknown>>(
    rangeSql(source, hasAfter, DIALECT),
    hasAfter ? [limit, after] : [limit],
  );
  return rangeOf(rows[0], source);
}

/**
 * Runs the range statement with the range's first and last key as `$1` and `$2`. Its
 * transaction (durable: false) runs with JIT off: a statement with a correlated subquery is
 * estimated far above `jit_above_cost` (the planner takes a set-returning function for 100
 * rows), so each range was compiled anew: 200-300 ms of JIT for 30 ms of work per range of
 * 1000 datalab items (EXPLAIN ANALYZE, PostgreSQL 15). A range is small; JIT never pays there.
 */
export async function runRange(db: pg.ClientBase, sql: string, range: KeyRange): Promise<number> {
  const result = await db.query(sql, [range.first, range.last]);
  return result.rowCount ?? 0;
}
