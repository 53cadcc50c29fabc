/**
 * A set-based batched upgrade in its own OS process, for test/batch-ranges-sql.test.ts to
 * SIGKILL half-way:
 *
 *   node --import tsx test/support/batch-ranges-child.ts <url> <kind> <pagesPerSecond>
 *
 * Prints `PAGES <n>` each time a range has committed with its checkpoint, then `DONE`.
 */
import { adapterFromUrl } from "../../src/adapters/from-url.js";
import { Upgrader } from "../../src/core/upgrader.js";
import { rangesStep } from "./batch-ranges-scenario.js";
import { BATCH_PAGE_SIZE } from "./batch-sql-scenario.js";

const [url, kind, pagesPerSecond] = process.argv.slice(2);
if (!url || !kind || !pagesPerSecond) {
  console.error("usage: batch-ranges-child.ts <url> <kind> <pagesPerSecond>");
  process.exit(2);
}

const upgrader = new Upgrader({
  adapter: await adapterFromUrl(url),
  appVersion: "1.1.0",
  steps: [rangesStep(kind, { pagesPerSecond: Number(pagesPerSecond) })],
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
