import { upgrade } from "lockstep";
import { storeFor } from "../stores/store.js";

/**
 * Release 0.3.0 looks items up by refcode: a unique index makes that fast and keeps refcodes
 * unique. Index builds go in `prepare`, which runs outside the step's transaction (MongoDB
 * cannot build one inside a transaction); `if not exists` makes it safe to run again.
 */
export default upgrade({
  version: "0.3.0",
  name: "index-items-by-refcode",
  description: "unique index on items.refcode",
  idempotent: true,
  async prepare(ctx) {
    await (await storeFor(ctx.databaseKind)).indexRefcode(ctx);
  },
  run() {},
});
