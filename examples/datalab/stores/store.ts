import type { StepContext } from "lockstep";
import type { ItemV1, RewriteCounts } from "../model.js";

/**
 * What the datalab example needs from one database. The steps are the same on every
 * database; only this layer knows SQL from MongoDB.
 */
export interface DatalabStore {
  /** Drops the example's data, for a fresh demo. Uses its own connection. */
  reset(url: string): Promise<void>;
  /** Writes items as release 0.1.0 stored them. Uses its own connection. */
  seed(url: string, items: readonly ItemV1[]): Promise<void>;
  /** Items without a refcode (the 0.2.0 precondition). */
  countWithoutRefcode(db: unknown): Promise<number>;
  /** The 0.2.0 step: relationships keyed by refcode, dangling ones stubbed, items without refcode left untouched. */
  relationshipsToRefcode(ctx: StepContext<any>): Promise<RewriteCounts & { untouchedIds?: never }>;
  /** The 0.3.0 step: a unique index on refcode. */
  indexRefcode(ctx: StepContext<any>): Promise<void>;
  /** Every item, as stored now (for tests). Uses its own connection. */
  items(url: string): Promise<ItemV1[]>;
}

/** The store for a database kind ("sqlite", "postgres", "mysql", "mongodb"). */
export async function storeFor(kind: string): Promise<DatalabStore> {
  switch (kind) {
    case "sqlite":
      return (await import("./sqlite-store.js")).sqliteStore;
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
