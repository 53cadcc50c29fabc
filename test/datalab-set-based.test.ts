/**
 * The datalab example's set-based 0.2.0 variant (`DATALAB_REWRITE=set`: one SQL statement per
 * key range through `ctx.batchRanges`) on SQLite, PostgreSQL and MariaDB/MySQL, through the CLI:
 * the items it leaves equal model.ts's rewriteRelationships item by item, with dangling targets,
 * targets without a refcode, items without one (left untouched with --force), an item with no
 * relationships and one already in the 0.2.0 form. On MongoDB the step says it has no such
 * statement and runs the JS transform, with the same result.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { generateItems, type ItemV1, newCounts, rewriteRelationships } from "../examples/datalab/model.js";
import { storeFor } from "../examples/datalab/stores/store.js";
import { DEFAULT_RANGE_SIZE } from "../src/core/batch-start.js";
import { lockstep, REPO } from "./support/cli.js";
import { fixtureNamed } from "./support/fixtures.js";
import { describeFixture, Harness } from "./support/harness.js";

const CONFIG = join(REPO, "examples", "datalab", "lockstep.config.ts");

/** 2200 items of 0.1.0 (one key range of the default size: test/batch-ranges-sql.test.ts walks many), with every case the rewrite distinguishes. */
function seededItems(): ItemV1[] {
  const items = generateItems(2200, { danglingRate: 0.05, withoutRefcode: 3 });
  items[5] = { ...items[5]!, relationships: [] };
  const target = items[9]!;
  items[6] = {
    ...items[6]!,
    relationships: [
      { refcode: target.refcode!, relation: "parent", type: target.type },
      ...items[6]!.relationships,
    ],
  };
  return items;
}

/** What the JS transform makes of `items`: model.ts's rewrite of every item with a refcode. */
function modelOf(items: readonly ItemV1[]): ItemV1[] {
  const refcodeOf = new Map(items.map((i) => [i.item_id, i.refcode]));
  return items.map((item) =>
    item.refcode === null
      ? item
      : { ...item, relationships: rewriteRelationships(item.relationships, refcodeOf, newCounts()) },
  );
}

/** Seeds `items` for `name` and runs `lockstep upgrade` to 0.2.0 with DATALAB_REWRITE=set. */
async function upgradeSetBased(name: string, url: string, items: readonly ItemV1[]) {
  const store = await storeFor(name);
  await store.reset(url);
  await store.seed(url, items);
  const args = ["--config", CONFIG, "--database", store.lockstepUrl?.(url) ?? url];
  // MongoDB's seed stamps the database itself, as datalab's own code does.
  if (store.seedStamp === undefined)
    assert.equal((await lockstep(REPO, ["init", "--version", "0.1.0", ...args])).code, 0);
  const run = await lockstep(
    REPO,
    ["upgrade", "--yes", "--force", "--json", "--target-version", "0.2.0", ...args],
    {
      DATALAB_REWRITE: "set",
    },
  );
  assert.equal(run.code, 0, run.stdout + run.stderr);
  return { run, store };
}

for (const name of ["sqlite", "postgres", "mysql"]) {
  const fixture = await fixtureNamed(name);
  await describeFixture(fixture, describe, () => {
    it("DATALAB_REWRITE=set gives the items model.ts's rewrite gives, one statement per key range", async () => {
      const h = await Harness.create(fixture);
      try {
        const seeded = seededItems();
        const { run, store } = await upgradeSetBased(name, h.db.url, seeded);
        const withRefcode = seeded.filter((i) => i.refcode !== null).length;
        assert.deepEqual(run.json().results[0].counts, {
          items: withRefcode,
          untouched: 3,
          pages: Math.ceil(seeded.length / DEFAULT_RANGE_SIZE),
        });
        assert.match(run.stderr, /left untouched \(no refcode\): 3 item/);
        assert.deepEqual(await store.items(h.db.url), modelOf(seeded));
      } finally {
        await h.dispose();
      }
    });
  });
}

const mongodb = await fixtureNamed("mongodb");
await describeFixture(mongodb, describe, () => {
  it("DATALAB_REWRITE=set on MongoDB runs the JS transform (no $lookup/$merge on FerretDB 1.24) and says so", async () => {
    const h = await Harness.create(mongodb);
    try {
      const seeded = generateItems(150, { danglingRate: 0.05 });
      const { run, store } = await upgradeSetBased("mongodb", h.db.url, seeded);
      assert.match(run.stderr, /no set-based rewrite on mongodb: using the JS transform/);
      assert.equal(run.json().results[0].counts.items, seeded.length);
      assert.deepEqual(await store.items(h.db.url), modelOf(seeded));
    } finally {
      await h.dispose();
    }
  });
});
