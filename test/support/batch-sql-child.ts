/**
 * A batched upgrade in its own OS process, for test/batch-sql.test.ts to SIGKILL half-way:
 *
 *   node --import tsx test/support/batch-sql-child.ts <url> <pagesPerSecond> [<ranges-kind>]
 *
 * With a database kind as third argument the step is the set-based one of
 * batch-ranges-scenario.ts (`ctx.batchRanges`) for that database. Prints `PAGES <n>` each time a page has committed with its checkpoint, then `DONE`.
 */
import { adapterFromUrl } from "../../src/adapters/from-url.js";
import { Upgrader } from "../../src/core/upgrader.js";
import { rangesStep } from "./batch-ranges-scenario.js";
import { BATCH_PAGE_SIZE, batchStep } from "./batch-sql-scenario.js";

const [url, pagesPerSecond, rangesKind] = process.argv.slice(2);
if (!url || !pagesPerSecond) {
  console.error("usage: batch-sql-child.ts <url> <pagesPerSecond>");
  process.exit(2);
}

const upgrader = new Upgrader({
  adapter: await adapterFromUrl(url),
  appVersion: "1.1.0",
  steps: [
    rangesKind
      ? rangesStep(rangesKind, { pagesPerSecond: Number(pagesPerSecond) })
      : batchStep({ pagesPerSecond: Number(pagesPerSecond) }),
  ],
  // A long lease: the rerun must notice the dead holder, not wait for expiry.
  lease: { ttlMs: 60_000, pollMs: 25, waitMs: 60_000 },
});
upgrader.on("step:progress", ({ done }) => {
  if (done > 0) process.stdout.write(`PAGES ${Math.ceil(done / BATCH_PAGE_SIZE)}\n`);
});
try {
  await upgrader.upgrade();
  process.stdout.write("DONE\n");
} finally {
  await upgrader.close();
}
