import type BetterSqlite3 from "better-sqlite3";
import type { BatchChange, BatchPage, BatchSource, BatchSourceInfo } from "../../core/adapter.js";
import { sourceTable } from "../../core/batch.js";
import { type Db, q } from "./state-store.js";

/**
 * Whether `source`'s table exists and its key is unique: the primary key alone, a rowid alias,
 * or a unique index on that one column without a WHERE. A view cannot tell.
 */
export function inspectBatchSource(db: Db, source: BatchSource): BatchSourceInfo {
  const table = sourceTable(source);
  const key = source.key ?? "id";
  const kind = db
    .prepare("select type from sqlite_master where name = ? collate nocase and type in ('table', 'view')")
    .get(table) as { type: string } | undefined;
  if (!kind) return { exists: false, key: "unknown" };
  if (kind.type === "view") return { exists: true, key: "unknown" };
  const columns = db.prepare("select name, pk from pragma_table_info(?)").all(table) as {
    name: string;
    pk: number;
  }[];
  const column = columns.find((c) => c.name.toLowerCase() === key.toLowerCase());
  if (!column) {
    // Every ordinary table has a rowid, unique, unless a column takes its name.
    return {
      exists: true,
      key: ["rowid", "_rowid_", "oid"].includes(key.toLowerCase()) ? "unique" : "missing",
    };
  }
  if (column.pk === 1 && columns.filter((c) => c.pk > 0).length === 1) return { exists: true, key: "unique" };
  const indexes = db
    .prepare('select name from pragma_index_list(?) where "unique" = 1 and partial = 0')
    .all(table) as {
    name: string;
  }[];
  const unique = indexes.some((index) => {
    const parts = db.prepare("select name from pragma_index_info(?)").all(index.name) as {
      name: string | null;
    }[];
    return parts.length === 1 && parts[0]!.name?.toLowerCase() === key.toLowerCase();
  });
  return { exists: true, key: unique ? "unique" : "not-unique" };
}

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
