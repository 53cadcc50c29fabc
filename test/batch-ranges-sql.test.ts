/**
 * The set-based page mode (`ctx.batchRanges`) on every SQL adapter: one statement per key
 * range with its checkpoint in the range's transaction; the same result as the JS-transform
 * helper; a process SIGKILLed half-way resumes after its last range, every row rewritten
 * exactly once; throttle, dry run, and the refusals made before anything is written.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { InProgressMarker } from "../src/core/adapter.js";
import type { BatchCheckpoint } from "../src/core/batch.js";
import type { StepDefinition } from "../src/core/step.js";
import { upgrade } from "../src/index.js";
import { type RangesStepOptions, rangesStep } from "./support/batch-ranges-scenario.js";
import {
  BATCH_PAGE_SIZE,
  BATCH_ROWS,
  preparedThings,
  sqlRows,
  type ThingRow,
  thingsOf,
} from "./support/batch-sql-scenario.js";
import { type AdapterFixture, fixtureNamed } from "./support/fixtures.js";
import { describeFixture } from "./support/harness.js";
import { killHalfWay } from "./support/kill-half-way.js";

/** The child is killed once this many ranges have committed (of 25). */
const KILL_AFTER_PAGES = 10;
const PAGES = BATCH_ROWS / BATCH_PAGE_SIZE;

/** What the JS-transform helper's step (batch-sql-scenario.ts) leaves: the result to match. */
function expectedThing(row: ThingRow): ThingRow {
  const i = row.id / 3;
  return {
    id: row.id,
    n: 1,
    label: `ITEM-${i}`,
    doc: { from: `item-${i}`, parity: row.id % 2, tags: ["t", row.id % 5] },
  };
}

/** Runs `step`, expects `code` (as the step failure's cause), and checks nothing was written. */
async function refused(fixture: AdapterFixture, step: StepDefinition, code: string, message: RegExp) {
  const h = await preparedThings(fixture);
  try {
    const before = await thingsOf(h);
    const u = await h.upgrader("1.1.0", [step]);
    await assert.rejects(
      u.upgrade(),
      (error: { code?: string; cause?: { code?: string; message?: string } }) => {
        assert.equal(error.code, "E_STEP_FAILED");
        assert.equal(error.cause?.code, code, String(error.cause?.message ?? error));
        assert.match(String(error.cause?.message), message);
        return true;
      },
    );
    assert.deepEqual(await thingsOf(h), before, "no row written");
    assert.equal((await h.state()).stamp, "1.0.0", "the stamp did not move");
  } finally {
    await h.dispose();
  }
}

for (const name of ["sqlite", "postgres", "mysql"]) {
  const fixture = await fixtureNamed(name);
  await describeFixture(fixture, describe, () => {
    const step = (options?: RangesStepOptions) => rangesStep(name, options);

    it(`rewrites ${BATCH_ROWS} rows in ${PAGES} ranges, each row once, as the JS transform does`, async () => {
      const h = await preparedThings(fixture);
      try {
        const progress: number[] = [];
        const u = await h.upgrader("1.1.0", [step()]);
        u.on("step:progress", ({ done, total }) => {
          assert.equal(total, BATCH_ROWS);
          progress.push(done);
        });
        const result = await u.upgrade();
        assert.equal(result.results[0]?.status, "applied");
        assert.deepEqual(result.results[0]?.counts, { read: BATCH_ROWS, written: BATCH_ROWS, pages: PAGES });
        assert.deepEqual(
          progress,
          Array.from({ length: PAGES + 1 }, (_, i) => i * BATCH_PAGE_SIZE),
        );
        const rows = await thingsOf(h);
        assert.equal(rows.length, BATCH_ROWS);
        assert.deepEqual(rows, rows.map(expectedThing));
        assert.deepEqual((await h.state()).interrupted, []);
      } finally {
        await h.dispose();
      }
    });

    it("a run SIGKILLed half-way resumes after its last range: every row once, finished ranges skipped", async () => {
      const h = await preparedThings(fixture);
      try {
        const killed = await killHalfWay([h.db.url, "20", name], KILL_AFTER_PAGES);
        assert.equal(killed.signal, "SIGKILL", `the child was killed, not finished:\n${killed.output}`);
        const marker = (await h.state()).interrupted.find(
          (m: InProgressMarker) => m.name === "rewrite-things",
        );
        assert.ok(marker, "the killed step is left in progress");
        const checkpoint = marker.checkpoint as BatchCheckpoint;
        assert.ok(checkpoint.pages >= KILL_AFTER_PAGES, `checkpoint after ${checkpoint.pages} ranges`);
        assert.ok(checkpoint.read < BATCH_ROWS, "killed before the end");
        assert.equal(checkpoint.read, checkpoint.pages * BATCH_PAGE_SIZE);
        assert.equal(checkpoint.written, checkpoint.read);
        // The checkpoint commits with its range: exactly the rows it counts are rewritten.
        const before = await thingsOf(h);
        assert.equal(before.filter((r) => r.n === 1).length, checkpoint.read);
        assert.ok(before.filter((r) => r.n === 1).every((r) => r.id <= Number(checkpoint.lastKey)));

        const u = await h.upgrader("1.1.0", [step()]);
        const rerun = await u.upgrade();
        assert.equal(rerun.results[0]?.status, "applied");
        assert.deepEqual(rerun.results[0]?.counts, { read: BATCH_ROWS, written: BATCH_ROWS, pages: PAGES });
        const after = await thingsOf(h);
        assert.deepEqual(after, after.map(expectedThing), "every row rewritten exactly once");
        const started = (await h.history()).filter(
          (e) => e.step === "rewrite-things" && e.action === "step_started",
        );
        assert.equal(started.length, 2);
        assert.deepEqual(
          (started[1]?.details?.resumedFrom as BatchCheckpoint | undefined)?.lastKey,
          checkpoint.lastKey,
        );
        assert.deepEqual((await h.state()).interrupted, []);
      } finally {
        await h.dispose();
      }
    });

    it("a source's where makes ranges of the rows it selects; the statement repeats it", async () => {
      const h = await preparedThings(fixture);
      try {
        // Keys are 3, 6, 9, …: the even ones are every other row.
        const where = "id % 2 = 0";
        const even = {
          postgres: "update things set n = n + 1 where id % 2 = 0 and id between $1 and $2",
          sqlite: "update things set n = n + 1 where id % 2 = 0 and id between ?1 and ?2",
          mysql: "update things set n = n + 1 where id % 2 = 0 and id between ? and ?",
        }[name]!;
        const result = await (await h.upgrader("1.1.0", [step({ where, statement: even })])).upgrade();
        const half = BATCH_ROWS / 2;
        assert.deepEqual(result.results[0]?.counts, {
          read: half,
          written: half,
          pages: Math.ceil(half / BATCH_PAGE_SIZE),
        });
        assert.ok((await thingsOf(h)).every((r) => r.n === (r.id % 2 === 0 ? 1 : 0)));
      } finally {
        await h.dispose();
      }
    });

    it("pagesPerSecond spaces the ranges out; a dry run walks them and writes nothing", async () => {
      const h = await preparedThings(fixture);
      try {
        const before = await thingsOf(h);
        const dry = await (await h.upgrader("1.1.0", [step({ pageSize: 1000 })])).upgrade({ dryRun: true });
        assert.equal(dry.outcome, "dry-run");
        assert.deepEqual(dry.results[0]?.counts, { read: BATCH_ROWS, written: 0, pages: 5 });
        assert.deepEqual(await thingsOf(h), before, "a dry run writes nothing");

        const started = Date.now();
        const u = await h.upgrader("1.1.0", [step({ pageSize: 1000, pagesPerSecond: 20 })]);
        await u.upgrade();
        // 5 ranges at 20/s: at least 4 gaps of 50 ms.
        assert.ok(Date.now() - started >= 200, `took ${Date.now() - started} ms`);
        assert.deepEqual(
          (await thingsOf(h)).map((r) => r.n),
          before.map(() => 1),
        );
      } finally {
        await h.dispose();
      }
    });

    if (name === "postgres") {
      it("runs each range with JIT off (compiling a range's plan cost more than running it)", async () => {
        const h = await preparedThings(fixture);
        try {
          // `#>>` is an operator here, not a comment hiding $1 and $2.
          const statement =
            "update things set label = current_setting('jit') || coalesce(doc #>> '{x}', '') where id between $1 and $2";
          await (await h.upgrader("1.1.0", [step({ statement })])).upgrade();
          assert.deepEqual(new Set((await thingsOf(h)).map((r) => r.label)), new Set(["off"]));
        } finally {
          await h.dispose();
        }
      });
    }

    it("refuses, before writing, a key some rows lack (NULL) or one a JavaScript number cannot carry", async () => {
      const placeholders = { postgres: ["$1", "$2"], sqlite: ["?1", "?2"], mysql: ["?", "?"] }[name]!;
      const keyed = (table: string, key: string) =>
        upgrade({
          version: "1.1.0",
          name: `walk-${table}`,
          batched: true,
          async run(ctx) {
            await ctx.batchRanges(
              { table, key },
              `update ${table} set v = 1 where ${key} between ${placeholders[0]} and ${placeholders[1]}`,
              { pageSize: 2 },
            );
          },
        });
      const text = name === "mysql" ? "varchar(8)" : "text";
      const cases = [
        {
          table: "nk",
          create: `create table nk (k ${text} unique, v int not null default 0)`,
          rows: "insert into nk (k) values (null), ('a'), ('b'), ('c')",
          message: /1 row\(s\) of nk have no k \(NULL\)/,
        },
        // PostgreSQL's driver hands bigint back as text: exact, so its walk is allowed.
        ...(name === "postgres"
          ? []
          : [
              {
                table: "big",
                create: "create table big (k bigint primary key, v int not null default 0)",
                rows: "insert into big (k) values (9007199254740990), (9007199254740993)",
                message: /beyond what a JavaScript number carries/,
              },
            ]),
      ];
      for (const c of cases) {
        const h = await preparedThings(fixture);
        try {
          const adapter = await h.adapter();
          await sqlRows(adapter, c.create);
          await sqlRows(adapter, c.rows);
          await assert.rejects(
            (await h.upgrader("1.1.0", [keyed(c.table, "k")])).upgrade(),
            (error: { cause?: { code?: string; message?: string } }) => {
              assert.equal(error.cause?.code, "E_INVALID_BATCH", String(error.cause?.message ?? error));
              assert.match(String(error.cause?.message), c.message);
              return true;
            },
          );
          const touched = await sqlRows(adapter, `select count(*) as n from ${c.table} where v <> 0`);
          assert.equal(Number(touched[0]?.n), 0, `no row of ${c.table} written`);
        } finally {
          await h.dispose();
        }
      }
    });

    it("refuses, before writing, a statement that is no SQL, wrong placeholders, bad options, a non-batched step", async () => {
      await refused(
        fixture,
        step({ statement: { update: { $set: { n: 1 } } } }),
        "E_INVALID_BATCH",
        /takes an SQL statement/,
      );
      await refused(fixture, step({ statement: 42 as never }), "E_INVALID_BATCH", /got number/);
      const one = {
        postgres: "update things set n = 1 where id = $1",
        sqlite: "update things set n = 1 where id = ?1",
        mysql: "update things set n = 1 where id = ?",
      }[name]!;
      await refused(
        fixture,
        step({ statement: one }),
        "E_INVALID_BATCH",
        /placeholder|\$1 and \$2|\?1 and \?2/,
      );
      const three = {
        postgres: "update things set n = $3 where id between $1 and $2",
        sqlite: "update things set n = ?3 where id between ?1 and ?2",
        mysql: "update things set n = ? where id between ? and ?",
      }[name]!;
      await refused(fixture, step({ statement: three }), "E_INVALID_BATCH", /\$3|\?3|3 \? placeholder/);
      await refused(fixture, step({ pageSize: 0 }), "E_INVALID_BATCH", /pageSize/);
      await refused(fixture, step({ batched: false }), "E_INVALID_STEP", /not declared batched/);
    });
  });
}
