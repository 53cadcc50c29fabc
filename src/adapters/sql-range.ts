/**
 * The key-range read of `ctx.batchRanges` on SQL databases: one indexed query for the first
 * and last key of the next `limit` rows after a key, and how many there are.
 */
import type { BatchSource, KeyRange } from "../core/adapter.js";
import { sourceTable } from "../core/batch.js";
import { LockstepError } from "../core/errors.js";

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
  const table = d.table(sourceTable(source));
  const narrowed = source.where ? `(${source.where})` : null;
  const conditions = [`${key} is not null`, hasAfter ? `${key} > ${d.after}` : null, narrowed];
  // The first read also counts the rows a NULL key would hide from every range.
  const nullKeys = hasAfter
    ? "0"
    : `(select count(*) from ${table} where ${[`${key} is null`, narrowed].filter(Boolean).join(" and ")})`;
  return `with r as (select ${key} as k from ${table} where ${conditions.filter(Boolean).join(" and ")} order by ${key} limit ${d.limit})
    select (select k from r order by k limit 1) as first_key, (select k from r order by k desc limit 1) as last_key,
      (select count(*) from r) as n, ${nullKeys} as null_keys`;
}

/** The range a {@link rangeSql} row describes, or null when it counted no row. */
export function rangeOf(row: Record<string, unknown> | undefined, source: BatchSource): KeyRange | null {
  const nullKeys = Number(row?.null_keys ?? 0);
  if (nullKeys > 0) throw nullKeyError(source, nullKeys);
  const rows = Number(row?.n ?? 0);
  if (!row || rows === 0) return null;
  if (row.first_key instanceof Date || row.last_key instanceof Date) {
    // A JavaScript Date keeps milliseconds: PostgreSQL's and MySQL's microseconds would be cut,
    // and a range would end short of its last row.
    throw new LockstepError(
      "E_INVALID_BATCH",
      `${sourceTable(source)}.${source.key ?? "id"} is a timestamp: its values lose their microseconds in JavaScript, so ctx.batchRanges cannot bound ranges by it exactly`,
      { hint: "walk the primary key (or another unique key of numbers or text)" },
    );
  }
  return { first: row.first_key, last: row.last_key, rows };
}

/** Rows whose key is NULL sort outside every range: refused before anything is written. */
export function nullKeyError(source: BatchSource, rows: number): LockstepError {
  const key = source.key ?? "id";
  return new LockstepError(
    "E_INVALID_BATCH",
    `${rows} row(s) of ${sourceTable(source)} have no ${key} (NULL): ctx.batchRanges walks ${key} in order and would never reach them`,
    {
      hint: `give a key no row lacks (the primary key), or narrow the source with a where that leaves them out (${key} is not null) if they need no rewrite`,
    },
  );
}
