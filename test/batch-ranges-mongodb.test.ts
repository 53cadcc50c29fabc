/**
 * The set-based page mode (`ctx.batchRanges`) on MongoDB (FerretDB 1.24 here; any MongoDB via
 * the fixture): `{ update }` run with `updateMany` over each `_id` range, the checkpoint after
 * it; a run stopped half-way (the stop signal, between ranges) resumes after its last range;
 * dry run; the refusals made before anything is written. FerretDB 1.24 has no update
 * pipelines, `$merge`, `$lookup` or transactions: the statement and its checkpoint are two writes
 * there (a crash between them redoes that range), so the update must be safe to run twice.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Adapter, RangeStatement } from "../src/core/adapter.js";
import type { BatchCheckpoint } from "../src/core/batch.js";
import { upgrade } from "../src/core/registry.js";
import type { StepDefinition } from "../src/core/step.js";
import { fixtureNamed } from "./support/fixtures.js";
import { describeFixture, Harness } from "./support/harness.js";

const DOCS = 1000;
const PAGE = 100;
const STOP_AFTER = 3;
/** `seen` marks a document once; `n` counts how often the statement ran on it. */
const BUMP: RangeStatement = { update: { $inc: { n: 1 }, $set: { seen: true } } };

function rangesStep(statement: RangeStatement = BUMP, batched = true): StepDefinition {
  return upgrade({
    version: "1.1.0",
    name: "bump-things",
    batched,
    async run(ctx) {
      const result = await ctx.batchRanges({ collection: "things" }, statement, { pageSize: PAGE });
      return { read: result.read, written: result.written, pages: result.pages };
    },
  });
}

async function prepared(): Promise<{ h: Harness; adapter: Adapter<any> }> {
  const h = await Harness.create(await fixtureNamed("mongodb"));
  const adapter = await h.adapter();
  // Keys with gaps: ranges are key ranges, not arithmetic.
  await adapter
    .handle()
    .collection("things")
    .insertMany(Array.from({ length: DOCS }, (_, i) => ({ _id: 3 * (i + 1), n: 0 })));
  await (await h.upgrader("1.0.0", [])).init();
  return { h, adapter };
}

async function counters(adapter: Adapter<any>): Promise<number[]> {
  const docs = await adapter.handle().collection("things").find({}).sort({ _id: 1 }).toArray();
  return docs.map((d: { n: number }) => d.n);
}

const fixture = await fixtureNamed("mongodb");
await describeFixture(fixture, describe, () => {
  it(`updates ${DOCS} documents in ${DOCS / PAGE} _id ranges, each once`, async () => {
    const { h, adapter } = await prepared();
    try {
      const done: number[] = [];
      const u = await h.upgrader("1.1.0", [rangesStep()]);
      u.on("step:progress", (p) => done.push(p.done));
      const result = await u.upgrade();
      assert.deepEqual(result.results[0]?.counts, { read: DOCS, written: DOCS, pages: DOCS / PAGE });
      assert.deepEqual(
        done,
        Array.from({ length: DOCS / PAGE + 1 }, (_, i) => i * PAGE),
      );
      assert.ok((await counters(adapter)).every((n) => n === 1));
    } finally {
      await h.dispose();
    }
  });

  it("a run stopped half-way keeps its checkpoint and the rerun skips the finished ranges", async () => {
    const { h, adapter } = await prepared();
    try {
      const stop = new AbortController();
      const u = await h.upgrader("1.1.0", [rangesStep()]);
      u.on("step:progress", (p) => {
        if (p.done >= STOP_AFTER * PAGE) stop.abort("SIGINT");
      });
      await assert.rejects(u.upgrade({ signal: stop.signal }), /SIGINT|stop/i);
      const marker = (await h.state()).interrupted.find((m) => m.name === "bump-things");
      const checkpoint = marker?.checkpoint as BatchCheckpoint;
      assert.equal(checkpoint.pages, STOP_AFTER);
      assert.equal(checkpoint.read, STOP_AFTER * PAGE);
      assert.equal(checkpoint.lastKey, 3 * STOP_AFTER * PAGE);
      const before = await counters(adapter);
      assert.equal(before.filter((n) => n === 1).length, checkpoint.read);

      const rerun = await (await h.upgrader("1.1.0", [rangesStep()])).upgrade();
      assert.deepEqual(rerun.results[0]?.counts, { read: DOCS, written: DOCS, pages: DOCS / PAGE });
      assert.ok(
        (await counters(adapter)).every((n) => n === 1),
        "no range ran twice",
      );
      assert.deepEqual((await h.state()).interrupted, []);
    } finally {
      await h.dispose();
    }
  });

  it("refuses, before writing, keys of two types (a range compares one type only: no range would reach the others)", async () => {
    const { h, adapter } = await prepared();
    try {
      const things = adapter.handle().collection("things");
      await things.insertMany([{ _id: "a", n: 0 } as never, { _id: "b", n: 0 } as never]);
      const u = await h.upgrader("1.1.0", [rangesStep()]);
      await assert.rejects(u.upgrade(), (error: { cause?: { code?: string; message?: string } }) => {
        assert.equal(error.cause?.code, "E_INVALID_BATCH", String(error.cause?.message ?? error));
        assert.match(String(error.cause?.message), /_id is a string while others are a number/);
        return true;
      });
      assert.ok(
        (await counters(adapter)).every((n) => n === 0),
        "no document written",
      );
    } finally {
      await h.dispose();
    }
  });

  it("a dry run walks the ranges and writes nothing", async () => {
    const { h, adapter } = await prepared();
    try {
      const dry = await (await h.upgrader("1.1.0", [rangesStep()])).upgrade({ dryRun: true });
      assert.deepEqual(dry.results[0]?.counts, { read: DOCS, written: 0, pages: DOCS / PAGE });
      assert.ok((await counters(adapter)).every((n) => n === 0));
    } finally {
      await h.dispose();
    }
  });

  it("refuses SQL, an update without operators, a pipeline without $merge and a non-batched step, writing nothing", async () => {
    const cases: [StepDefinition, string, RegExp][] = [
      [
        rangesStep("update things set n = 1 where id between $1 and $2"),
        "E_INVALID_BATCH",
        /takes \{ update \} or \{ pipeline \}/,
      ],
      [rangesStep({ update: { n: 1 } }), "E_INVALID_BATCH", /update document/],
      [rangesStep({ pipeline: [{ $set: { n: 1 } }] }), "E_INVALID_BATCH", /\$merge/],
      [rangesStep(BUMP, false), "E_INVALID_STEP", /not declared batched/],
    ];
    for (const [step, code, message] of cases) {
      // A fresh database each: a refused batched step leaves its (resumable) marker behind.
      const { h, adapter } = await prepared();
      try {
        await assert.rejects(
          (async () => (await h.upgrader("1.1.0", [step])).upgrade())(),
          (error: { cause?: { code?: string; message?: string } }) => {
            assert.equal(error.cause?.code, code, String(error.cause?.message));
            assert.match(String(error.cause?.message), message);
            return true;
          },
        );
        assert.ok((await counters(adapter)).every((n) => n === 0));
        assert.equal((await h.state()).stamp, "1.0.0");
      } finally {
        await h.dispose();
      }
    }
  });

  const SERVER_FORMS: [string, RangeStatement][] = [
    ["an update pipeline", { update: [{ $set: { n: { $add: ["$n", 1] } } }] }],
    [
      "a $merge pipeline",
      {
        pipeline: [
          { $set: { n: { $add: ["$n", 1] } } },
          { $merge: { into: "things", on: "_id", whenMatched: "merge", whenNotMatched: "discard" } },
        ],
      },
    ],
  ];
  for (const [form, statement] of SERVER_FORMS) {
    it(`${form} runs where the server has it, else fails as E_UNSUPPORTED naming what runs`, async () => {
      const { h, adapter } = await prepared();
      try {
        const ferretdb = /FerretDB/.test((await adapter.describe()).server);
        const run = (await h.upgrader("1.1.0", [rangesStep(statement)])).upgrade();
        if (!ferretdb) {
          await run;
          assert.ok((await counters(adapter)).every((n) => n === 1));
          return;
        }
        await assert.rejects(run, (error: { cause?: { code?: string; message?: string } }) => {
          assert.equal(error.cause?.code, "E_UNSUPPORTED", String(error.cause?.message));
          assert.match(String(error.cause?.message), /FerretDB 1\.24 has neither/);
          return true;
        });
        assert.ok((await counters(adapter)).every((n) => n === 0));
      } finally {
        await h.dispose();
      }
    });
  }
});
