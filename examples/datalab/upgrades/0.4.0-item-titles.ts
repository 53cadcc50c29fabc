import { upgrade } from "lockstep";
import { storeFor } from "../stores/store.js";

/**
 * Expand: release 0.4.0 shows items by `title`, copied here from `name`. Release 0.3.0's code
 * ignores the new field and keeps working on the data after this step, so during a rolling
 * deploy it runs at once while 0.3.0 replicas still serve. 0.4.0's code writes both fields,
 * reads `title`. Batched: page by page, resumable; an item that has a title is left alone.
 */
export default upgrade({
  version: "0.4.0",
  name: "item-titles",
  description: "copy each item's name to title (0.3.0 code ignores title)",
  phase: "expand",
  batched: true,
  idempotent: true,
  affects: [{ collection: "items" }],
  async run(ctx) {
    const store = await storeFor(ctx.databaseKind);
    const result = await ctx.batch(store.itemsSource(), async (rows) =>
      rows.flatMap((row) => {
        const fields = store.fieldsOf(row);
        return fields.title === undefined ? [store.setFields(row, { title: fields.name ?? null })] : [];
      }),
    );
    return { items: result.read, titled: result.written };
  },
});
