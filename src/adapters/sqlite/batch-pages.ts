import type BetterSqlite3 from "better-sqlite3";
import type { BatchChange, BatchPage, BatchSource } from "../../core/adapter.js";
import { sourceTable } from "../../core/batch.js";
import { type Db, q } from "./state-store.js";

/** A keyset page of `source` after the key `after` (null: from the start). */
export function readPage(db: Db, source: BatchSource, after: unknown, limit: number): BatchPage {
  const table = sourceTable(source);
  const key = source.key ?? "id";
  const columns = source.fields ? [key, ...source.fields.filter((f) => f !== key)].map(q).join(", ") : "*";
  const conditions = [
    after === null ? null : `${q(key)} > @after`,
    source.where ? `(${source.where})` : null,
  ].filter(Boolean);
  const rows = db
    .prepare(
      `select ${columns} from ${q(table)}${conditions.length ? ` where ${conditions.join(" and ")}` : ""} order by ${q(key)} limit @limit`,
    )
    .all({ ...(after !== null && { after }), limit }) as Record<string, unknown>[];
  return { rows, lastKey: rows.length > 0 ? rows[rows.length - 1]![key] : null };
}

/**
 * SQLite runs in-process: one prepared UPDATE per row inside the page's transaction is
 * its bulk write (no round trips to save).
 */
export function writePage(db: Db, source: BatchSource, changes: readonly BatchChange[]): number {
  const table = sourceTable(source);
  const key = source.key ?? "id";
  const statements = new Map<string, BetterSqlite3.Statement>();
  let written = 0;
  for (const change of changes) {
    const columns = Object.keys(change.set);
    if (columns.length === 0) continue;
    const signature = columns.join("\u0000");
    let statement = statements.get(signature);
    if (!statement) {
      statement = db.prepare(
        `update ${q(table)} set ${columns.map((c) => `${q(c)} = ?`).join(", ")} where ${q(key)} = ?`,
      );
      statements.set(signature, statement);
    }
    written += statement.run(...columns.map((c) => sqlValue(change.set[c])), sqlValue(change.key)).changes;
  }
  return written;
}

/** A value as SQLite stores it: objects and arrays as JSON, booleans as 0/1, dates as ISO text. */
function sqlValue(value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value === "boolean") return value ? 1 : 0;
  if (value instanceof Date) return value.toISOString();
  if (value !== null && typeof value === "object" && !Buffer.isBuffer(value)) return JSON.stringify(value);
  return value;
}
