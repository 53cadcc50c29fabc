/**
 * Batch steps on PostgreSQL: keyset pages read, and pages of changes written as one
 * `update ... from unnest(...)` per set of columns, each column bound as one typed array.
 */
import type pg from "pg";
import type { BatchChange, BatchPage, BatchSource, BatchSourceInfo } from "../../core/adapter.js";
import { groupByColumns, sourceTable } from "../../core/batch.js";
import { LockstepError } from "../../core/errors.js";
import { quoteIdent as q, tableRef } from "./quote-ident.js";

/** A column's SQL type as `format_type` spells it, and whether it is an array type. */
interface ColumnType {
  readonly sql: string;
  readonly isArray: boolean;
}

/** Reads and writes batch pages, remembering the column types of each user table it writes. */
export class PostgresBatchPages {
  /** Column name -> SQL type (`format_type`) per user table, looked up once for `writePage`. */
  readonly #columnTypes = new Map<string, Map<string, ColumnType>>();

  /**
   * Whether `source`'s table exists (on the search_path unless schema-qualified) and its key is
   * unique: a primary key or unique index on that one column without a predicate. Views cannot tell.
   */
  async inspectBatchSource(c: pg.Pool | pg.ClientBase, source: BatchSource): Promise<BatchSourceInfo> {
    const { rows } = await c.query<{ relkind: string; has_key: boolean; unique_key: boolean }>(
      `select c.relkind,
         exists (select 1 from pg_catalog.pg_attribute a
                 where a.attrelid = c.oid and a.attname = $2 and a.attnum > 0 and not a.attisdropped) as has_key,
         exists (select 1 from pg_catalog.pg_index i
                 join pg_catalog.pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
                 where i.indrelid = c.oid and (i.indisunique or i.indisprimary) and i.indnkeyatts = 1
                   and i.indpred is null and a.attname = $2) as unique_key
       from pg_catalog.pg_class c where c.oid = to_regclass($1)`,
      [tableRef(sourceTable(source)), source.key ?? "id"],
    );
    const table = rows[0];
    if (!table) return { exists: false, key: "unknown" };
    if (!table.has_key) return { exists: true, key: "missing" };
    if (table.relkind === "v" || table.relkind === "m" || table.relkind === "f")
      return { exists: true, key: "unknown" };
    return { exists: true, key: table.unique_key ? "unique" : "not-unique" };
  }

  /** A keyset page of `source` after the key `after`, read through `c`. */
  async readPage(
    c: pg.Pool | pg.ClientBase,
    source: BatchSource,
    after: unknown,
    limit: number,
  ): Promise<BatchPage> {
    const table = tableRef(sourceTable(source));
    const key = source.key ?? "id";
    const columns = source.fields ? [key, ...source.fields.filter((f) => f !== key)].map(q).join(", ") : "*";
    const params: unknown[] = [limit];
    const conditions: string[] = [];
    if (after !== null && after !== undefined) {
      params.push(after);
      conditions.push(`${q(key)} > $2`);
    }
    if (source.where) conditions.push(`(${source.where})`);
    const { rows } = await c.query<Record<string, unknown>>(
      `select ${columns} from ${table}${conditions.length ? ` where ${conditions.join(" and ")}` : ""} order by ${q(key)} limit $1`,
      params,
    );
    return { rows, lastKey: rows.length > 0 ? rows[rows.length - 1]![key] : null };
  }

  /**
   * One `update ... from unnest(...)` per set of columns changed (one per page when every
   * change sets the same columns), each column sent as one typed array.
   */
  async writePage(db: pg.ClientBase, source: BatchSource, changes: readonly BatchChange[]): Promise<number> {
    const name = sourceTable(source);
    const key = source.key ?? "id";
    let written = 0;
    for (const [columns, group] of groupByColumns(changes)) {
      const types = await this.#typesOf(db, name, [key, ...columns]);
      const keyType = types.get(key)!;
      const params: unknown[] = [group.map((c) => pgValue(c.key, keyType))];
      const casts = [`$1::${arrayTypeOf(keyType)}`];
      const sets: string[] = [];
      for (const [i, column] of columns.entries()) {
        const type = types.get(column)!;
        const { param, cast } = columnArray(
          group.map((c) => c.set[column]),
          column,
          type,
          i + 2,
        );
        params.push(param);
        casts.push(cast);
        // Array columns travel as text[] of array literals: unnest would flatten a 2-D array.
        sets.push(`${q(column)} = v.c${i}${type.isArray ? `::${type.sql}` : ""}`);
      }
      const alias = ["k", ...columns.map((_, i) => `c${i}`)].join(", ");
      const result = await db.query(
        `update ${tableRef(name)} as t set ${sets.join(", ")}
         from unnest(${casts.join(", ")}) as v(${alias}) where t.${q(key)} = v.k`,
        params,
      );
      written += result.rowCount ?? 0;
    }
    return written;
  }

  /** The SQL types of `columns` of `table`, from the catalog once per table (again if a column is new). */
  async #typesOf(
    c: pg.ClientBase,
    table: string,
    columns: readonly string[],
  ): Promise<Map<string, ColumnType>> {
    const cached = this.#columnTypes.get(table);
    if (cached && columns.every((col) => cached.has(col))) return cached;
    const { rows } = await c.query<{ name: string; type: string; is_array: boolean }>(
      `select a.attname as name, format_type(a.atttypid, a.atttypmod) as type, t.typcategory = 'A' as is_array
       from pg_catalog.pg_attribute a join pg_catalog.pg_type t on t.oid = a.atttypid
       where a.attrelid = to_regclass($1) and a.attnum > 0 and not a.attisdropped`,
      [tableRef(table)],
    );
    if (rows.length === 0) {
      throw new LockstepError("E_INVALID_STEP", `the batch source table ${table} does not exist`, {
        hint: "name an existing table (schema-qualified as app.items if it is not on the search_path)",
      });
    }
    const types = new Map(rows.map((r) => [r.name, { sql: r.type, isArray: r.is_array }]));
    this.#columnTypes.set(table, types);
    const missing = columns.filter((col) => !types.has(col));
    if (missing.length > 0) {
      throw new LockstepError("E_INVALID_STEP", `table ${table} has no column ${missing.join(", ")}`, {
        hint: "a batch change may only set columns the table has",
      });
    }
    return types;
  }
}

/** One column's new values as the parameter `$n` and the `unnest` argument that reads it. */
function columnArray(
  values: readonly unknown[],
  column: string,
  type: ColumnType,
  n: number,
): { param: unknown; cast: string } {
  const json = type.sql === "json" || type.sql === "jsonb" ? type.sql : null;
  if (!json)
    return { param: values.map((value) => pgValue(value, type)), cast: `$${n}::${arrayTypeOf(type)}` };
  // One JSON array document instead of a jsonb[] literal, whose every element pg
  // quotes and escapes and the server unescapes again: measured 1.7x faster per page.
  return {
    param: jsonArray(values, column),
    cast: `array(select case when ${json}_typeof(e) = 'null' then null else e end
               from ${json}_array_elements($${n}::${json}) with ordinality as x(e, i) order by i)`,
  };
}

/** The array type `unnest` takes a column of `type` in (array columns go as text literals). */
function arrayTypeOf(type: ColumnType): string {
  return type.isArray ? "text[]" : `${type.sql}[]`;
}

/** A value as one element of a typed array parameter: objects and arrays as JSON, or as an array literal for array columns. */
function pgValue(value: unknown, type: ColumnType): unknown {
  if (value === undefined || value === null) return null;
  if (type.isArray && Array.isArray(value)) return arrayLiteral(value);
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "object" && !(value instanceof Date) && !Buffer.isBuffer(value)) {
    return JSON.stringify(value);
  }
  return value;
}

/**
 * The values bound for one json/jsonb column as one JSON array. A string is JSON text already
 * (as a cast to jsonb would take it) and goes in as it is once it parses: an invalid one
 * such as `1, 2` would otherwise become two elements and shift every row after it.
 * null and undefined become JSON null, stored as SQL NULL.
 */
function jsonArray(values: readonly unknown[], column: string): string {
  const parts = values.map((value) => {
    if (value === undefined || value === null) return "null";
    if (typeof value === "string") {
      try {
        JSON.parse(value);
      } catch (error) {
        throw new LockstepError(
          "E_INVALID_STEP",
          `a change sets JSON column ${column} to text that is not JSON`,
          {
            cause: error,
            hint: "set an object, an array, or valid JSON text",
          },
        );
      }
      return value;
    }
    if (typeof value === "bigint") return value.toString();
    return JSON.stringify(value);
  });
  return `[${parts.join(",")}]`;
}

/** A PostgreSQL array literal (`{1,"a b",NULL}`) for a JS array bound for an array column. */
function arrayLiteral(values: readonly unknown[]): string {
  const items = values.map((v) => {
    if (v === null || v === undefined) return "NULL";
    if (Array.isArray(v)) return arrayLiteral(v);
    const text =
      v instanceof Date
        ? v.toISOString()
        : Buffer.isBuffer(v)
          ? `\\x${v.toString("hex")}`
          : typeof v === "object"
            ? JSON.stringify(v)
            : String(v);
    return `"${text.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
  });
  return `{${items.join(",")}}`;
}
