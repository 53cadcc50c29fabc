/**
 * The key-range read of `ctx.batchRanges` on SQL databases: one indexed query for the first
 * and last key of the next `limit` rows after a key, and how many there are.
 */
import type { BatchSource, KeyRange } from "../core/adapter.js";
import { sourceTable } from "../core/batch.js";

/** Placeholders and quoting of one SQL dialect. */
export interface RangeDialect {
  /** Quotes an identifier (the key column). */
  readonly q: (name: string) => string;
  /** Quotes a (possibly schema-qualified) table name. */
  readonly table: (name: string) => string;
  /** The placeholder of the `after` key and of the limit, in that order. */
  readonly after: string;
  readonly limit: string;
}

/**
 * The first and last of the next `limit` keys in key order and their count: an index-only walk
 * of the key (no min/max: PostgreSQL has none for uuid). `where` narrows the rows ranges are
 * made of (the statement says its own condition).
 */
export function rangeSql(source: BatchSource, hasAfter: boolean, d: RangeDialect): string {
  const key = d.q(source.key ?? "id");
  const conditions = [hasAfter ? `${key} > ${d.after}` : null, source.where ? `(${source.where})` : null];
  const where = conditions.filter(Boolean).join(" and ");
  return `with r as (select ${key} as k from ${d.table(sourceTable(source))}${where ? ` where ${where}` : ""} order by ${key} limit ${d.limit})
    select (select k from r order by k limit 1) as first_key, (select k from r order by k desc limit 1) as last_key,
      (select count(*) from r) as n`;
}

/** The range a {@link rangeSql} row describes, or null when it counted no row. */
export function rangeOf(row: Record<string, unknown> | undefined): KeyRange | null {
  const rows = Number(row?.n ?? 0);
  if (!row || rows === 0) return null;
  return { first: row.first_key, last: row.last_key, rows };
}
