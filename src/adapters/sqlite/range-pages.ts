/** `ctx.batchRanges` on SQLite: key ranges, and the statement run with `?1`/`?2`. */
import type { BatchSource, KeyRange } from "../../core/adapter.js";
import { rangeOf, rangeSql } from "../sql-range.js";
import { type Db, q } from "./state-store.js";

const DIALECT = { q, table: q, after: "@after", limit: "@limit" };

/** The next range of up to `limit` keys after `after` (null: from the start). */
export function readRange(db: Db, source: BatchSource, after: unknown, limit: number): KeyRange | null {
  const hasAfter = after !== null && after !== undefined;
  const row = db.prepare(rangeSql(source, hasAfter, DIALECT)).get({ ...(hasAfter && { after }), limit }) as
    | Record<string, unknown>
    | undefined;
  return rangeOf(row, source);
}

/**
 * Runs the range statement with the range's first and last key as `?1` and `?2` (better-sqlite3
 * binds numbered parameters by name, from an object).
 */
export function runRange(db: Db, sql: string, range: KeyRange): number {
  return db.prepare(sql).run({ 1: range.first, 2: range.last }).changes;
}
