/**
 * The batch helper's checks, all made before the write they guard: options and source
 * before the first page (nothing written), each page's changes before that page is written.
 * Every failure is `E_INVALID_BATCH`, naming the field and what to write instead.
 */
import type { Adapter, AdapterCapabilities, BatchChange, BatchSource } from "./adapter.js";
import { StepDefinitionError } from "./errors.js";

/** The options the batch helper checks (see `BatchOptions` in batch.ts). */
interface PagingOptions {
  readonly pageSize?: number;
  readonly pagesPerSecond?: number;
}

type QueryLanguage = AdapterCapabilities["queryLanguage"];

/** The source fields each query language uses (`table` and `collection` are synonyms on both). */
const SOURCE_FIELDS: Readonly<Record<QueryLanguage, readonly string[]>> = {
  sql: ["table", "collection", "key", "where", "fields"],
  mongodb: ["table", "collection", "key", "filter", "fields"],
};

/** The field the other query language uses instead. */
const OTHER_DIALECT: Readonly<Record<QueryLanguage, Readonly<Record<string, string>>>> = {
  sql: { filter: "where (an SQL condition such as \"status = 'open'\")" },
  mongodb: { where: 'filter (a query document such as { status: "open" })' },
};

function invalid(message: string, hint: string): StepDefinitionError {
  return new StepDefinitionError("E_INVALID_BATCH", message, { hint });
}

/** Refuses a `pageSize` that is not a positive integer and a `pagesPerSecond` that is not a positive finite number. */
export function validateBatchOptions(options: PagingOptions): void {
  const { pageSize, pagesPerSecond } = options;
  if (pageSize !== undefined && !(Number.isSafeInteger(pageSize) && pageSize > 0)) {
    throw invalid(
      `batch option pageSize is ${String(pageSize)}`,
      "pageSize must be a positive integer (default 1000)",
    );
  }
  if (
    pagesPerSecond !== undefined &&
    !(typeof pagesPerSecond === "number" && Number.isFinite(pagesPerSecond) && pagesPerSecond > 0)
  ) {
    throw invalid(
      `batch option pagesPerSecond is ${String(pagesPerSecond)}`,
      "pagesPerSecond must be a positive number, or left out for no limit",
    );
  }
}

/** Refuses a source field the adapter's query language does not use, and fields of the wrong type. */
export function validateSourceFields(source: BatchSource, language: QueryLanguage): void {
  if (source === null || typeof source !== "object") {
    throw invalid("a batch source must be an object", 'pass { table: "items" } (or { collection: "items" })');
  }
  const accepted = SOURCE_FIELDS[language];
  for (const [field, value] of Object.entries(source)) {
    // A field left undefined (`{ table, where: maybe }`) selects nothing and is no mistake.
    if (accepted.includes(field) || value === undefined) continue;
    const instead = OTHER_DIALECT[language][field];
    throw invalid(
      `batch source field ${field} is not used on ${language === "sql" ? "SQL databases" : "MongoDB"}: the batch would run on every row`,
      instead ? `use ${instead}` : `a batch source takes ${accepted.join(", ")}`,
    );
  }
  const name = source.table ?? source.collection;
  if (typeof name !== "string" || name === "") {
    throw invalid(
      "a batch source needs a table (or collection) name",
      'pass { table: "items" } (or { collection: "items" })',
    );
  }
  if (source.key !== undefined && (typeof source.key !== "string" || source.key === "")) {
    throw invalid(
      `batch source key is ${String(source.key)}`,
      'name one unique column/field, e.g. key: "id"',
    );
  }
  if (
    source.fields !== undefined &&
    !(Array.isArray(source.fields) && source.fields.every((f) => typeof f === "string"))
  ) {
    throw invalid("batch source fields must be an array of names", 'e.g. fields: ["id", "data"]');
  }
}

/**
 * Checks `source` against the database: its table/collection exists and its key is unique
 * (keyset pages step over rows that share a key and write the others with one row's values).
 */
export async function validateSource(adapter: Adapter<any>, source: BatchSource): Promise<void> {
  validateSourceFields(source, adapter.capabilities.queryLanguage);
  const name = source.table ?? source.collection;
  const key = source.key ?? (adapter.capabilities.queryLanguage === "mongodb" ? "_id" : "id");
  const info = await adapter.inspectBatchSource(source);
  if (!info.exists) {
    throw invalid(
      `the batch source ${name} does not exist on ${adapter.displayName}`,
      "name an existing table/collection (schema-qualified as app.items where it is not the default schema), or create it in an earlier step",
    );
  }
  if (info.key === "missing") {
    throw invalid(`the batch source ${name} has no column ${key}`, "set key to a unique column of the table");
  }
  if (info.key === "not-unique") {
    throw invalid(
      `the batch key ${key} of ${name} has no unique index or primary key: pages would skip rows that share a key`,
      `set key to the primary key (or a uniquely indexed column), or add a unique index on ${name}(${key}) in an earlier step`,
    );
  }
}

/**
 * A key as a string to compare by value: numbers, bigints and numeric strings alike on SQL
 * (the database compares them so: PostgreSQL returns a bigint key as text), types kept apart on
 * MongoDB (1 and "1" are two documents); dates, buffers and ObjectIds by their value.
 */
export function keyIdentity(value: unknown, language: QueryLanguage): string {
  if (value === null || value === undefined) return "null:";
  const loose = language === "sql";
  switch (typeof value) {
    case "number":
    case "bigint":
      return loose ? `v:${value}` : `n:${value}`;
    case "string":
      return loose ? `v:${value}` : `s:${value}`;
    case "boolean":
      return `b:${value}`;
  }
  if (value instanceof Date) return `d:${value.toISOString()}`;
  if (value instanceof Uint8Array) return `x:${Buffer.from(value).toString("hex")}`;
  const bson = (value as { _bsontype?: unknown })._bsontype;
  if (typeof bson === "string") return `${bson}:${String(value)}`;
  return `j:${JSON.stringify(value)}`;
}

/** Refuses a page whose rows share a key: the key is not unique after all. */
export function validatePageKeys(
  rows: readonly Record<string, unknown>[],
  key: string,
  language: QueryLanguage,
): Set<string> {
  const keys = new Set<string>();
  for (const row of rows) {
    const id = keyIdentity(row[key], language);
    if (keys.has(id)) {
      throw invalid(
        `two rows of one batch page share the key ${key} = ${String(row[key])}: the key is not unique`,
        `set key to the primary key (or a uniquely indexed column)`,
      );
    }
    keys.add(id);
  }
  return keys;
}

/**
 * Refuses changes to a row outside the page, or to one row twice; returns how many rows the
 * changes write (a change that sets nothing writes nothing).
 */
export function validatePageChanges(
  pageKeys: ReadonlySet<string>,
  changes: readonly BatchChange[],
  key: string,
  language: QueryLanguage,
): number {
  if (!Array.isArray(changes)) {
    throw invalid(
      "a batch transform returned no array of changes",
      "return [{ key, set: { … } }, …] (or [])",
    );
  }
  const changed = new Set<string>();
  let rows = 0;
  for (const change of changes) {
    if (
      change === null ||
      typeof change !== "object" ||
      change.set === null ||
      typeof change.set !== "object"
    ) {
      throw invalid(
        "a batch change is not { key, set }",
        "return [{ key: row.id, set: { column: value } }, …]",
      );
    }
    const id = keyIdentity(change.key, language);
    if (!pageKeys.has(id)) {
      throw invalid(
        `a batch change names ${key} = ${String(change.key)}, which is not a row of its page`,
        `a transform may only change the rows it was given: use key: row.${key}`,
      );
    }
    if (changed.has(id)) {
      throw invalid(
        `two batch changes name ${key} = ${String(change.key)}`,
        "return at most one change per row (merge their sets)",
      );
    }
    changed.add(id);
    if (Object.keys(change.set).length > 0) rows += 1;
  }
  return rows;
}
