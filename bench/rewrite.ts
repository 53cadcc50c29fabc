/**
 * The set-based rewrite each database is measured against: the datalab store's own
 * `rewriteStatement` (the statement its 0.2.0 step runs per key range with DATALAB_REWRITE=set,
 * method d), run once over the whole key range (method c). The same SQL both ways.
 */
import { storeFor } from "../examples/datalab/stores/store.js";

/** The store's range statement for `kind`, or an error saying the example has none. */
export async function rewriteStatement(kind: string): Promise<string> {
  const statement = (await storeFor(kind)).rewriteStatement;
  const sql = typeof statement === "string" ? statement : (statement as { sql?: string } | undefined)?.sql;
  if (typeof sql !== "string")
    throw new Error(`the datalab ${kind} store has no set-based rewrite statement`);
  return sql;
}
