import { upgrade } from "lockstep";
import { storeFor } from "../stores/store.js";

/**
 * Contract: release 0.5.0 reads only `title`, so `name` goes. Code of 0.4.0 and older reads
 * `name`, so during a rolling deploy lockstep defers this step while such a replica is live;
 * `lockstep upgrade --contract` applies it once they left. 0.5.0's code does not need it.
 */
export default upgrade({
  version: "0.5.0",
  name: "drop-item-names",
  description: "remove name from every item (0.4.0 and older read it)",
  phase: "contract",
  idempotent: true,
  affects: [{ collection: "items" }],
  async run(ctx) {
    if (ctx.dryRun) return;
    return { items: await (await storeFor(ctx.databaseKind)).dropItemField(ctx, "name") };
  },
});
