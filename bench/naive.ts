/** What the SQL targets share: their URL handling and the naive method's loop. */
import {
  newCounts,
  type RelationshipV1,
  type RelationshipV2,
  rewriteRelationships,
} from "../examples/datalab/model.js";

/** `url` with its database replaced (mysql2 takes mariadb:// as mysql://). */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url.replace(/^mariadb:/i, "mysql:"));
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** An item row of the example's SQL stores, its `data` JSON parsed. */
export interface NaiveRow {
  readonly id: unknown;
  readonly data: { readonly relationships: readonly (RelationshipV1 | RelationshipV2)[] };
}

/**
 * The naive rewrite, as peers' docs do it: for each item, a query per link to look its target
 * up, then one write of the item's new JSON.
 */
export async function naiveRewrite(
  rows: readonly NaiveRow[],
  lookup: (
    itemId: string,
  ) => Promise<{ refcode: string | null } | undefined> | { refcode: string | null } | undefined,
  write: (id: unknown, json: string) => unknown,
): Promise<void> {
  const counts = newCounts();
  for (const row of rows) {
    const refcodeOf = new Map<string, string | null>();
    for (const rel of row.data.relationships) {
      if (!("item_id" in rel)) continue;
      const found = await lookup(rel.item_id);
      if (found) refcodeOf.set(rel.item_id, found.refcode);
    }
    const relationships = rewriteRelationships(row.data.relationships, refcodeOf, counts);
    await write(row.id, JSON.stringify({ ...row.data, relationships }));
  }
}
