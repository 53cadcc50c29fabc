/**
 * A batched step in its own OS process, for test/batch-mongodb.test.ts:
 *
 *   node --import tsx test/support/batch-mongodb-child.ts <url> <tag> <pageSize>
 *
 * Upgrades the database to 0.2.0, whose one step rewrites every document of `docs` with
 * `ctx.batch`. The transform is idempotent (`value` is a function of `n` only) and leaves a
 * witness `by_<tag>: true`, so the test can tell which run wrote each document. Prints
 * `read <count> <first n> <last n>` for each page handed to the transform, `done <rows>` for
 * each progress event (after a page and its checkpoint are written), and at the end one line
 * `result <json>`.
 */
import { adapterFromUrl } from "../../src/adapters/from-url.js";
import type { BatchResult } from "../../src/core/batch.js";
import { upgrade } from "../../src/core/registry.js";
import { Upgrader } from "../../src/core/upgrader.js";

const [url, tag, pageSizeArg] = process.argv.slice(2);
if (!url || !tag || !pageSizeArg) {
  console.error("usage: batch-mongodb-child.ts <url> <tag> <pageSize>");
  process.exit(2);
}
const pageSize = Number(pageSizeArg);

/** What the step's transform makes of document `n`: the same whichever run writes it. */
const rewrittenValue = (n: number): number => n * 3 + 1;

let batch: BatchResult | undefined;
const step = upgrade({
  version: "0.2.0",
  name: "rewrite-docs",
  batched: true,
  idempotent: true,
  async run(ctx) {
    const result = await ctx.batch(
      { collection: "docs", fields: ["n"] },
      (rows) => {
        const ns = rows.map((row) => row.n as number);
        process.stdout.write(`read ${rows.length} ${ns[0]} ${ns[ns.length - 1]}\n`);
        return rows.map((row) => ({
          key: row._id,
          set: { value: rewrittenValue(row.n as number), done: true, [`by_${tag}`]: true },
        }));
      },
      { pageSize },
    );
    batch = result;
    return { read: result.read, pages: result.pages };
  },
});

const upgrader = new Upgrader({
  adapter: await adapterFromUrl(url),
  appVersion: "0.2.0",
  steps: [step],
  lease: { ttlMs: 10_000 },
});
upgrader.on("step:progress", ({ done }) => process.stdout.write(`done ${done}\n`));
try {
  const result = await upgrader.upgrade();
  process.stdout.write(
    `result ${JSON.stringify({ outcome: result.outcome, resumedFrom: batch?.resumedFrom ?? null, read: batch?.read, pages: batch?.pages })}\n`,
  );
} finally {
  await upgrader.close();
}
