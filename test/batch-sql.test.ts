/**
 * The batch helper on every SQL adapter: one page read ahead while the page before is
 * written with one set-based statement and its checkpoint; a process SIGKILLed half-way
 * resumes after its checkpoint, every row rewritten exactly once.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { InProgressMarker } from "../src/core/adapter.js";
import type { BatchCheckpoint } from "../src/core/batch.js";
import {
  BATCH_PAGE_SIZE,
  BATCH_ROWS,
  batchStep,
  preparedThings,
  type ThingRow,
  thingsOf,
} from "./support/batch-sql-scenario.js";
import { fixtureNamed } from "./support/fixtures.js";
import { describeFixture } from "./support/harness.js";
import { killHalfWay } from "./support/kill-half-way.js";

/** The child is killed once this many pages have committed (of 25). */
const KILL_AFTER_PAGES = 10;

for (const name of ["sqlite", "postgres", "mysql"]) {
  const fixture = await fixtureNamed(name);
  await describeFixture(fixture, describe, () => {
    /** The table after an uninterrupted run, which the resumed run must match. */
    let reference: ThingRow[] | undefined;

    async function uninterrupted(): Promise<ThingRow[]> {
      const h = await preparedThings(fixture);
      try {
        const u = await h.upgrader("1.1.0", [batchStep()]);
        const result = await u.upgrade();
        assert.equal(result.results[0]?.status, "applied");
        assert.deepEqual(result.results[0]?.counts, { read: BATCH_ROWS, written: BATCH_ROWS });
        return await thingsOf(h);
      } finally {
        await h.dispose();
      }
    }

    it(`rewrites ${BATCH_ROWS} rows in pages of ${BATCH_PAGE_SIZE}, each exactly once`, async () => {
      reference = await uninterrupted();
      assert.equal(reference.length, BATCH_ROWS);
      for (const row of reference) {
        assert.equal(row.n, 1, `row ${row.id} rewritten once`);
        const i = row.id / 3;
        assert.equal(row.label, `ITEM-${i}`);
        assert.deepEqual(row.doc, { from: `item-${i}`, parity: row.id % 2, tags: ["t", row.id % 5] });
      }
    });

    it("a run SIGKILLed half-way resumes after its checkpoint: every row once, same result, no page read twice", async () => {
      const expected = reference ?? (await uninterrupted());
      const h = await preparedThings(fixture);
      try {
        const killed = await killHalfWay([h.db.url, "20"], KILL_AFTER_PAGES);
        assert.equal(killed.signal, "SIGKILL", `the child was killed, not finished:\n${killed.output}`);
        assert.ok(killed.pagesSeen >= KILL_AFTER_PAGES, killed.output);

        const state = await h.state();
        const marker = state.interrupted.find((m: InProgressMarker) => m.name === "rewrite-things");
        assert.ok(marker, "the killed step is left in progress");
        const checkpoint = marker.checkpoint as BatchCheckpoint;
        assert.ok(checkpoint.pages >= KILL_AFTER_PAGES, `checkpoint after ${checkpoint.pages} pages`);
        assert.ok(checkpoint.read < BATCH_ROWS, "killed before the end");
        assert.equal(checkpoint.read, checkpoint.pages * BATCH_PAGE_SIZE);
        // The checkpoint commits with its page: exactly the rows it counts are rewritten.
        const before = await thingsOf(h);
        assert.equal(before.filter((r) => r.n === 1).length, checkpoint.read);
        assert.equal(before.filter((r) => r.n > 1).length, 0);
        assert.ok(before.filter((r) => r.n === 1).every((r) => r.id <= Number(checkpoint.lastKey)));

        const seen: unknown[] = [];
        const u = await h.upgrader("1.1.0", [batchStep({ seen: (keys) => seen.push(...keys) })]);
        const rerun = await u.upgrade();
        assert.equal(rerun.outcome, "upgraded");
        assert.equal(rerun.results[0]?.status, "applied");
        assert.deepEqual(rerun.results[0]?.counts, { read: BATCH_ROWS, written: BATCH_ROWS });

        assert.equal(seen.length, BATCH_ROWS - checkpoint.read, "only the rest is read");
        const reread = seen.filter((k) => Number(k) <= Number(checkpoint.lastKey));
        assert.deepEqual(reread, [], "no page before the checkpoint is read again");

        const after = await thingsOf(h);
        assert.ok(
          after.every((r) => r.n === 1),
          "every row rewritten exactly once",
        );
        assert.deepEqual(after, expected, "the same result as an uninterrupted run");

        const history = (await h.history()).filter((e) => e.step === "rewrite-things");
        const started = history.filter((e) => e.action === "step_started");
        assert.equal(started.length, 2, "both attempts are in the history");
        assert.equal(started[0]?.details?.resumedFrom, undefined);
        assert.deepEqual(
          (started[1]?.details?.resumedFrom as BatchCheckpoint | undefined)?.lastKey,
          checkpoint.lastKey,
        );
        assert.equal(history.filter((e) => e.action === "step_succeeded").length, 1);
        assert.deepEqual((await h.state()).interrupted, []);
      } finally {
        await h.dispose();
      }
    });
  });
}
