import { createHash, type Hash } from "node:crypto";
import {
  type ItemV1,
  newCounts,
  type RelationshipV1,
  rewriteRelationships,
} from "../examples/datalab/model.js";

/** An item as every method must leave it, whatever the database stores around it. */
export interface ComparableItem {
  readonly item_id: string;
  readonly refcode: string | null;
  readonly name: string;
  readonly type: string;
  readonly relationships: readonly unknown[];
}

/** JSON with object keys sorted at every level, so jsonb, BSON and JS objects hash alike. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** An MD5 over items in key order; `count` says how many went in. */
export class ItemChecksum {
  readonly #hash: Hash = createHash("md5");
  count = 0;

  add(item: ComparableItem): void {
    const { item_id, refcode, name, type, relationships } = item;
    this.#hash.update(canonicalJson({ item_id, refcode, name, type, relationships }));
    this.#hash.update("\n");
    this.count++;
  }

  digest(): string {
    return `${this.#hash.digest("hex").slice(0, 16)}/${this.count}`;
  }
}

/**
 * What every method must produce, computed with the example's own model code: the first
 * `limit` items (all when undefined) after the 0.2.0 rewrite, and the dangling count.
 */
export function expectedChecksum(
  items: readonly ItemV1[],
  limit = Number.POSITIVE_INFINITY,
): { checksum: string; dangling: number } {
  const refcodeOf = new Map(items.map((item) => [item.item_id, item.refcode]));
  const counts = newCounts();
  const sum = new ItemChecksum();
  for (const item of items.slice(0, Math.min(limit, items.length))) {
    const relationships =
      item.refcode === null
        ? item.relationships
        : rewriteRelationships(item.relationships as RelationshipV1[], refcodeOf, counts);
    sum.add({ ...item, relationships });
  }
  return { checksum: sum.digest(), dangling: counts.dangling };
}

/** Rows per read while checksumming. */
const CHECKSUM_PAGE = 10000;

/**
 * The checksum of the first `limit` items in key order, read in keyset pages: `read(after, n)`
 * gives the n rows after the key `after` (null: from the start), `item` what to hash of a row
 * and `key` its key.
 */
export async function checksumByPages<R>(
  limit: number,
  read: (after: unknown, n: number) => Promise<readonly R[]> | readonly R[],
  item: (row: R) => ComparableItem,
  key: (row: R) => unknown,
): Promise<string> {
  const sum = new ItemChecksum();
  let after: unknown = null;
  while (sum.count < limit) {
    const rows = await read(after, Math.min(CHECKSUM_PAGE, limit - sum.count));
    for (const row of rows) sum.add(item(row));
    if (rows.length === 0) break;
    after = key(rows[rows.length - 1]!);
  }
  return sum.digest();
}
