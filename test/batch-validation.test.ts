/**
 * The batch helper refuses what would corrupt data, before it writes, on every database: a
 * source field of the other dialect, a bad pageSize, a key that is not unique, a source that
 * does not exist, and changes to rows outside their page. Each refusal is E_INVALID_BATCH and
 * leaves the rows, the stamp and the ledger as they were.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Adapter, BatchChange, BatchSource } from "../src/core/adapter.js";
import type { BatchOptions, BatchTransform } from "../src/core/batch.js";
import { upgrade } from "../src/core/registry.js";
import type { StepDefinition } from "../src/core/step.js";
import { sqlRows } from "./support/batch-sql-scenario.js";
import { type AdapterFixture, loadFixtures } from "./support/fixtures.js";
import { describeFixture, Harness } from "./support/harness.js";

/** Rows in `items`: ids 1..25, `grp` shared by three rows at a time, `code` unique, `n` a counter. */
const ROWS = 25;
const STEP = "touch-items";

/** One row as the tests compare them. */
interface Item {
  id: number;
  grp: number;
  n: number;
}

const isMongo = (adapter: Adapter<any>): boolean => adapter.kind === "mongodb";

/** Creates `items` (SQL table or MongoDB collection) with a unique index on `code` and none on `grp`. */
async function createItems(adapter: Adapter<any>): Promise<void> {
  const items = Array.from({ length: ROWS }, (_, i) => ({
    id: i + 1,
    grp: Math.floor(i / 3),
    code: `c${i + 1}`,
  }));
  if (isMongo(adapter)) {
    const collection = adapter.handle().collection("items");
    await collection.insertMany(items.map(({ id, ...rest }) => ({ _id: id, ...rest, n: 0 })));
    await collection.createIndex({ code: 1 }, { unique: true });
    return;
  }
  const text = adapter.kind === "mysql" ? "varchar(16)" : "text";
  await sqlRows(
    adapter,
    `create table items (id integer primary key, grp integer not null, code ${text} not null, n integer not null default 0)`,
  );
  await sqlRows(adapter, "create unique index items_code on items (code)");
  const values = items.map((r) => `(${r.id}, ${r.grp}, '${r.code}')`).join(", ");
  await sqlRows(adapter, `insert into items (id, grp, code) values ${values}`);
}

/** Every item in id order. */
async function readItems(adapter: Adapter<any>): Promise<Item[]> {
  const rows = isMongo(adapter)
    ? (await adapter.handle().collection("items").find({}).sort({ _id: 1 }).toArray()).map(
        (d: Record<string, unknown>) => ({ ...d, id: d._id }),
      )
    : await sqlRows(adapter, "select id, grp, n from items order by id");
  return rows.map((r: Record<string, unknown>) => ({ id: Number(r.id), grp: Number(r.grp), n: Number(r.n) }));
}

/** The key column of a row as the adapter returns it. */
function idOf(adapter: Adapter<any>, row: Record<string, unknown>): unknown {
  return isMongo(adapter) ? row._id : row.id;
}

/** 1.1.0/touch-items: a batched step over `source`, with `transform` (default: n + 1 on every row). */
function batchedStep(
  source: BatchSource,
  options: BatchOptions = {},
  transform?: (adapterKey: (row: Record<string, unknown>) => unknown) => BatchTransform,
): (adapter: Adapter<any>) => StepDefinition {
  return (adapter) =>
    upgrade({
      version: "1.1.0",
      name: STEP,
      batched: true,
      async run(ctx) {
        const key = (row: Record<string, unknown>) => row[source.key ?? (isMongo(adapter) ? "_id" : "id")];
        const bump: BatchTransform = (rows) =>
          rows.map((r) => ({ key: key(r), set: { n: Number(r.n) + 1 } }));
        const result = await ctx.batch(source, transform ? transform(key) : bump, options);
        return { read: result.read, written: result.written };
      },
    });
}

/** A fresh database stamped 1.0.0 holding `items`. */
async function prepared(fixture: AdapterFixture): Promise<{ h: Harness; adapter: Adapter<any> }> {
  const h = await Harness.create(fixture);
  const adapter = await h.adapter();
  await createItems(adapter);
  await (await h.upgrader("1.0.0", [])).init();
  return { h, adapter };
}

/** Runs the step, expects E_INVALID_BATCH, and checks that nothing was written. */
async function refused(
  fixture: AdapterFixture,
  step: (adapter: Adapter<any>) => StepDefinition,
  message?: RegExp,
  setup?: (adapter: Adapter<any>) => Promise<unknown>,
): Promise<void> {
  const { h, adapter } = await prepared(fixture);
  try {
    await setup?.(adapter);
    const before = await readItems(adapter);
    const u = await h.upgrader("1.1.0", [step(adapter)]);
    await assert.rejects(
      u.upgrade(),
      (error: { code?: string; cause?: { code?: string; message?: string } }) => {
        assert.equal(error.code, "E_STEP_FAILED");
        assert.equal(error.cause?.code, "E_INVALID_BATCH", String(error.cause?.message ?? error));
        if (message) assert.match(String(error.cause?.message), message);
        return true;
      },
    );
    assert.deepEqual(await readItems(adapter), before, "no row written");
    const state = await h.state();
    assert.equal(state.stamp, "1.0.0", "the stamp did not move");
    assert.equal(
      state.ledger.find((e) => e.name === STEP),
      undefined,
      "the step is not in the ledger",
    );
  } finally {
    await h.dispose();
  }
}

for (const fixture of await loadFixtures()) {
  await describeFixture(fixture, describe, () => {
    const mongo = fixture.name === "mongodb";

    it("item 2: a source field of the other dialect is refused, naming the right one", async () => {
      const other: BatchSource = mongo
        ? { collection: "items", where: "n = 1" }
        : { table: "items", filter: { n: 1 } };
      await refused(fixture, batchedStep(other), mongo ? /field where/ : /field filter/);
      await refused(fixture, batchedStep({ table: "items", keys: "id" } as BatchSource), /field keys/);
    });

    it("item 3: pageSize 0, -1, 2.5, NaN and pagesPerSecond 0, -1, NaN are refused", async () => {
      for (const pageSize of [0, -1, 2.5, Number.NaN]) {
        await refused(fixture, batchedStep({ table: "items" }, { pageSize }), /pageSize/);
      }
      for (const pagesPerSecond of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
        await refused(fixture, batchedStep({ table: "items" }, { pagesPerSecond }), /pagesPerSecond/);
      }
    });

    it("item 4: a key without a unique index or primary key is refused", async () => {
      await refused(fixture, batchedStep({ table: "items", key: "grp" }, { pageSize: 10 }), /grp/);
    });

    it("item 4: a uniquely indexed key other than the primary key is accepted", async () => {
      const { h, adapter } = await prepared(fixture);
      try {
        const u = await h.upgrader("1.1.0", [
          batchedStep({ table: "items", key: "code" }, { pageSize: 10 })(adapter),
        ]);
        const result = await u.upgrade();
        assert.deepEqual(result.results[0]?.counts, { read: ROWS, written: ROWS });
        assert.ok((await readItems(adapter)).every((r) => r.n === 1));
      } finally {
        await h.dispose();
      }
    });

    if (!mongo) {
      it("item 4: rows sharing a key within a page are refused where the database cannot tell (a view)", async () => {
        const view = (adapter: Adapter<any>) =>
          sqlRows(adapter, "create view items_v as select * from items");
        await refused(
          fixture,
          batchedStep({ table: "items_v", key: "grp" }, { pageSize: 10 }),
          /share the key/,
          view,
        );
      });
    }

    it("item 5: a table/collection that does not exist is refused on every database", async () => {
      await refused(fixture, batchedStep({ table: "no_such_items" }), /no_such_items/);
    });

    it("item 6: a change to a row outside the page is refused before that page is written", async () => {
      const outside = batchedStep({ table: "items" }, { pageSize: 10 }, (key) => (rows) => [
        ...rows.map((r) => ({ key: key(r), set: { n: 1 } })),
        { key: 11, set: { n: 1 } },
      ]);
      await refused(fixture, outside, /not a row of its page/);
      const twice = batchedStep({ table: "items" }, { pageSize: 10 }, (key) => (rows) => [
        ...rows.map((r) => ({ key: key(r), set: { n: 1 } })),
        { key: key(rows[0]!), set: { n: 2 } },
      ]);
      await refused(fixture, twice, /two batch changes/);
    });

    it("item 6: written counts the rows changed, not the changes returned", async () => {
      const { h, adapter } = await prepared(fixture);
      try {
        // Every other row changed; the rest get a change that sets nothing.
        const half = batchedStep(
          { table: "items" },
          { pageSize: 10 },
          (key) => (rows) =>
            rows.map(
              (r): BatchChange => ({ key: key(r), set: Number(idOf(adapter, r)) % 2 === 0 ? { n: 1 } : {} }),
            ),
        );
        const result = await (await h.upgrader("1.1.0", [half(adapter)])).upgrade();
        assert.deepEqual(result.results[0]?.counts, { read: ROWS, written: Math.floor(ROWS / 2) });
        const items = await readItems(adapter);
        assert.deepEqual(
          items.map((r) => r.n),
          items.map((r) => (r.id % 2 === 0 ? 1 : 0)),
        );
      } finally {
        await h.dispose();
      }
    });
  });
}
