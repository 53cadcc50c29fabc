import { condition, upgrade } from "lockstep";
import { storeFor } from "../stores/store.js";

/**
 * Release 0.2.0 keys item relationships by the immutable refcode instead of the editable
 * item_id (datalab #1184, #323). A relationship whose target no longer exists keeps a stub
 * (refcode null, the old id under legacy_item_id, flagged dangling) instead of vanishing.
 */
export default upgrade({
  version: "0.2.0",
  name: "relationships-to-refcode",
  description: "key item relationships by refcode instead of item_id; dangling ones keep a stub",
  idempotent: true,
  affects: [{ collection: "items" }],
  conditions: [
    condition(
      "every item has a refcode",
      async (ctx) => {
        const n = await (await storeFor(ctx.databaseKind)).countWithoutRefcode(ctx.db);
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
    return (await storeFor(ctx.databaseKind)).relationshipsToRefcode(ctx);
  },
});
