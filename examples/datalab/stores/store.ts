import type { BatchChange, BatchSource, CountQuery, RangeStatement, StepContext } from "lockstep";
import type { ItemV1, RelationshipV1, RelationshipV2 } from "../model.js";

/** An item as the 0.2.0 step sees it, whatever the database. */
export interface StoredItem {
  readonly itemId: string;
  readonly refcode: string | null;
  readonly relationships: readonly (RelationshipV1 | RelationshipV2)[];
}

/**
 * What the datalab example needs from one database. The steps are the same on every
 * database; only this layer knows SQL rows from MongoDB documents.
 */
export interface DatalabStore {
  /**
   * The version `seed()` stamps the database with, where the app stamps its own database
   * (datalab does on MongoDB): lockstep then needs no `init`. Absent: the seed stamps nothing.
   */
  readonly seedStamp?: string;
  /** The URL lockstep is given for `url` (MongoDB adds `?app=datalab`, to read datalab's stamp). */
  lockstepUrl?(url: string): string;
  /** Drops the example's data, for a fresh demo. Uses its own connection. */
  reset(url: string): Promise<void>;
  /** Writes items as release 0.1.0 stored them. Uses its own connection. */
  seed(url: string, items: readonly ItemV1[]): Promise<void>;
  /** Every item, as stored now, in insertion order (for tests). Uses its own connection. */
  items(url: string): Promise<ItemV1[]>;
  /** The items, for the batch helper (`fields` narrows what is read). */
  itemsSource(fields?: readonly string[]): BatchSource;
  /**
   * The refcode of each of these item_ids (null: the item has none; absent: it no longer
   * exists). One query per page keeps memory flat however many items there are.
   */
  refcodesOf(db: unknown, itemIds: readonly string[]): Promise<Map<string, string | null>>;
  /**
   * The 0.2.0 rewrite as one statement per key range of `itemsSource()` (`ctx.batchRanges`),
   * giving the same items as the JS transform. Absent where the database cannot say it: on
   * MongoDB it needs `$lookup` and `$merge`, which FerretDB 1.24 does not have.
   */
  readonly rewriteStatement?: RangeStatement;
  /** Items without a refcode (the 0.2.0 precondition). */
  readonly withoutRefcode: CountQuery;
  /** A row or document as the step sees it. */
  decode(row: Readonly<Record<string, unknown>>): StoredItem;
  /** The change that stores `relationships` on `row`. */
  encode(row: Readonly<Record<string, unknown>>, relationships: readonly RelationshipV2[]): BatchChange;
  /** The 0.3.0 step: a unique index on refcode. */
  indexRefcode(ctx: StepContext<any>): Promise<void>;
  /** The fields of an item as the batch helper read it (SQL: its `data` JSON; MongoDB: the document). */
  fieldsOf(row: Readonly<Record<string, unknown>>): Readonly<Record<string, unknown>>;
  /** The change that sets `fields` on `row`, keeping its other fields. */
  setFields(row: Readonly<Record<string, unknown>>, fields: Readonly<Record<string, unknown>>): BatchChange;
  /** The 0.5.0 step: removes `field` from every item, in the step's transaction where there is one. */
  dropItemField(ctx: StepContext<any>, field: string): Promise<number>;
}

/** The store for a database kind ("sqlite", "postgres", "mysql", "mongodb"). */
export async function storeFor(kind: string): Promise<DatalabStore> {
  switch (kind) {
    case "sqlite":
      return (await import("./sqlite-store.js")).sqliteStore;
    case "postgres":
      return (await import("./postgres-store.js")).postgresStore;
    case "mysql":
      return (await import("./mysql-store.js")).mysqlStore;
    case "mongodb":
      return (await import("./mongodb-store.js")).mongodbStore;
    default:
      throw new Error(`the datalab example has no store for ${kind} databases yet`);
  }
}

/** The database kind of a URL, as lockstep's adapters name them. */
export function kindOfUrl(url: string): string {
  const scheme = /^([a-z+]+):/i.exec(url)?.[1]?.toLowerCase() ?? "sqlite";
  if (scheme === "postgresql") return "postgres";
  if (scheme === "mariadb") return "mysql";
  if (scheme === "mongodb+srv") return "mongodb";
  return scheme;
}

/** Rows per multi-row insert when a SQL store seeds. */
export const SEED_BATCH = 1000;

/** lockstep's tables, dropped by a SQL store's `reset` so a second demo starts from a fresh database. */
export const LOCKSTEP_TABLES = [
  "lockstep_state",
  "lockstep_ledger",
  "lockstep_history",
  "lockstep_lease",
  "lockstep_markers",
];

/** Runs `fn` on the connection `open` makes, closing it with `close` however `fn` ends. */
export async function withOpened<C, T>(
  open: () => Promise<C>,
  close: (conn: C) => Promise<void>,
  fn: (conn: C) => Promise<T>,
): Promise<T> {
  const conn = await open();
  try {
    return await fn(conn);
  } finally {
    await close(conn);
  }
}

/** SQL databases keep an item as (id, item_id, refcode, data JSON): the codec for that row. */
export const sqlItemCodec = {
  decode(row: Readonly<Record<string, unknown>>): StoredItem {
    const data = (typeof row.data === "string" ? JSON.parse(row.data) : row.data) as Partial<ItemV1>;
    return {
      itemId: row.item_id as string,
      refcode: (row.refcode as string | null) ?? null,
      relationships: data.relationships ?? [],
    };
  },
  encode(row: Readonly<Record<string, unknown>>, relationships: readonly RelationshipV2[]): BatchChange {
    return sqlItemCodec.setFields(row, { relationships });
  },
  fieldsOf(row: Readonly<Record<string, unknown>>): Readonly<Record<string, unknown>> {
    return (typeof row.data === "string" ? JSON.parse(row.data) : row.data) as Record<string, unknown>;
  },
  setFields(row: Readonly<Record<string, unknown>>, fields: Readonly<Record<string, unknown>>): BatchChange {
    return { key: row.id, set: { data: { ...sqlItemCodec.fieldsOf(row), ...fields } } };
  },
};
