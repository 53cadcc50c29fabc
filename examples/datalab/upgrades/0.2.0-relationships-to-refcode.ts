import { condition, type StepContext, upgrade } from "lockstep";
import { newCounts, rewriteRelationships } from "../model.js";
import { type DatalabStore, storeFor } from "../stores/store.js";

/** `DATALAB_REWRITE=set` picks the set-based variant where the database can run it. */
const SET_BASED = "set";

/**
 * Release 0.2.0 keys item relationships by the immutable refcode instead of the editable
 * item_id (datalab #1184, #323). A relationship whose target no longer exists keeps a stub
 * (refcode null, the old id under legacy_item_id, flagged dangling) instead of vanishing.
 * Items without a refcode (only possible with --force) are left untouched and listed.
 *
 * Batched: lockstep walks the items page by page with one bulk write and a checkpoint per
 * page, so a crash half-way resumes where it stopped. With `DATALAB_REWRITE=set` the same
 * rewrite runs as one SQL statement per key range (`ctx.batchRanges`, the store's
 * `rewriteStatement`): the same items, at the database's own speed; on MongoDB, which has no
 * such statement here, the JS transform runs and says so.
 */
export default upgrade({
  version: "0.2.0",
  name: "relationships-to-refcode",
  description: "key item relationships by refcode instead of item_id; dangling ones keep a stub",
  batched: true,
  idempotent: true,
  affects: [{ collection: "items" }],
  conditions: [
    condition(
      "every item has a refcode",
      async (ctx) => {
        const n = await ctx.count((await storeFor(ctx.databaseKind)).withoutRefcode);
        return n === 0
          ? null
          : {
              message: `found ${n} item(s) without a refcode; with --force they are left untouched and listed`,
              count: n,
            };
      },
      { skippable: true },
    ),
  ],
  async run(ctx) {
    const store = await storeFor(ctx.databaseKind);
    if (process.env.DATALAB_REWRITE === SET_BASED) {
      if (store.rewriteStatement) return setBased(ctx, store);
      ctx.log(`no set-based rewrite on ${ctx.databaseKind}: using the JS transform`);
    }
    const counts = newCounts();
    const untouched: string[] = [];
    const result = await ctx.batch(store.itemsSource(), async (rows) => {
      const items = rows.map((row) => ({ row, item: store.decode(row) }));
      // One lookup per page for the targets this page refers to: memory stays flat in N.
      const targets = new Set<string>();
      for (const { item } of items)
        for (const rel of item.relationships) if ("item_id" in rel) targets.add(rel.item_id);
      const refcodeOf = await store.refcodesOf(ctx.db, [...targets]);
      return items.flatMap(({ row, item }) => {
        if (item.refcode === null) {
          untouched.push(item.itemId);
          return [];
        }
        counts.items++;
        return [store.encode(row, rewriteRelationships(item.relationships, refcodeOf, counts))];
      });
    });
    counts.untouched = untouched.length;
    if (result.resumedFrom)
      ctx.log(`resumed after ${result.resumedFrom.read} items read by an interrupted run`);
    if (untouched.length > 0) {
      ctx.log(
        `left untouched (no refcode): ${untouched.slice(0, 20).join(", ")}${untouched.length > 20 ? ` and ${untouched.length - 20} more` : ""}`,
      );
    }
    return { ...counts, pages: result.pages - (result.resumedFrom?.pages ?? 0) };
  },
});

/** The set-based variant: the store's statement once per key range of the items. */
async function setBased(ctx: StepContext, store: DatalabStore) {
  const result = await ctx.batchRanges(store.itemsSource(), store.rewriteStatement!);
  const before = result.resumedFrom;
  if (before) ctx.log(`resumed after ${before.read} items read by an interrupted run`);
  // The statement rewrites every item of its range that has a refcode: the others are left untouched.
  const untouched = ctx.dryRun ? 0 : result.read - result.written;
  if (untouched > 0) ctx.log(`left untouched (no refcode): ${untouched} item(s)`);
  return {
    items: result.written - (before?.written ?? 0),
    untouched,
    pages: result.pages - (before?.pages ?? 0),
  };
}
