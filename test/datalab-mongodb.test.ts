/**
 * The datalab example on MongoDB (FerretDB by default; any real MongoDB via MONGODB_URI),
 * datalab's own database: the seed writes datalab's `database_metadata` stamp document as
 * its Python code (PR #1833) does, and lockstep, pointed at it with `?app=datalab`, reads
 * it, upgrades from it and extends its history. Outside CI a missing server skips the suite
 * with a line saying so.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { MongoClient } from "mongodb";
import { generateItems } from "../examples/datalab/model.js";
import { DATALAB_STAMP_ID, mongodbStore } from "../examples/datalab/stores/mongodb-store.js";
import { lockstep, REPO } from "./support/cli.js";
import { assertRewritten } from "./support/datalab.js";
import { TEST_RUN_PREFIX } from "./support/fixtures.js";
import { describeFixture } from "./support/harness.js";
import fixture, { MONGODB_TEST_URL, mongoUrlFor } from "./support/mongodb-fixture.js";

const CONFIG = join(REPO, "examples", "datalab", "lockstep.config.ts");

const databases: string[] = [];
/** A fresh database's URL, dropped after the suite. */
function freshUrl(): string {
  const name = `${TEST_RUN_PREFIX}datalab_${randomBytes(4).toString("hex")}`;
  databases.push(name);
  return mongoUrlFor(MONGODB_TEST_URL, name);
}

/** The seed's stamp document, as the test reads it. */
interface StampDoc {
  _id: string;
  version: string;
  history: { version: string; action: string; timestamp: Date; datalab_version: string | null }[];
}

async function stampDoc(url: string): Promise<StampDoc | null> {
  const client = await new MongoClient(url).connect();
  try {
    return await client.db().collection<StampDoc>("database_metadata").findOne({ _id: DATALAB_STAMP_ID });
  } finally {
    await client.close();
  }
}

await describeFixture(fixture, describe, () => {
  after(async () => {
    const client = await new MongoClient(MONGODB_TEST_URL).connect();
    try {
      for (const name of databases) await client.db(name).dropDatabase();
    } finally {
      await client.close();
    }
  });

  test("the demo exits 0 and leaves the database CURRENT, twice in a row, without init", async () => {
    const url = freshUrl();
    for (let run = 0; run < 2; run++) {
      const demo = spawnSync(
        process.execPath,
        ["--import", "tsx", "examples/datalab/demo.ts", "--database", url, "--items", "600"],
        { cwd: REPO, encoding: "utf8" },
      );
      assert.equal(demo.status, 0, demo.stdout + demo.stderr);
      assert.doesNotMatch(demo.stdout, /\$ lockstep init/, "the seed stamped the database itself");
      assert.match(demo.stdout, /stamp\s+0\.1\.0/);
      assert.match(demo.stdout, /UPGRADE_PENDING/);
      assert.match(demo.stdout, /Database upgraded 0\.1\.0 -> 0\.5\.0/);
      const status = await lockstep(REPO, [
        "status",
        "--json",
        "--config",
        CONFIG,
        "--database",
        mongodbStore.lockstepUrl?.(url) ?? url,
      ]);
      assert.equal(status.code, 0, status.stderr);
      assert.equal(status.json().status, "CURRENT");
      assert.equal(status.json().stamp, "0.5.0");
    }
  });

  test("0.2.0 keys relationships by refcode, keeps dangling ones as flagged stubs, and extends datalab's history", async () => {
    const url = freshUrl();
    const target = mongodbStore.lockstepUrl?.(url) ?? url;
    assert.equal(target, `${url}${url.includes("?") ? "&" : "?"}app=datalab`);
    const seeded = generateItems(400, { danglingRate: 0.05 });
    await mongodbStore.reset(url);
    await mongodbStore.seed(url, seeded);
    const seedStamp = await stampDoc(url);
    assert.ok(seedStamp);

    // The config names datalab's stamp document (mongodb: { app: "datalab" }), so a --database
    // URL without ?app=datalab reads the same stamp, and says which document it read.
    const plain = await lockstep(REPO, ["status", "--json", "--config", CONFIG, "--database", url]);
    assert.equal(plain.json().status, "UPGRADE_PENDING", plain.stdout);
    assert.equal(plain.json().stamp, "0.1.0");
    assert.match(JSON.stringify(plain.json().database), /datalab_schema_version/);
    const status = await lockstep(REPO, ["status", "--json", "--config", CONFIG, "--database", target]);
    assert.equal(status.code, 2);
    assert.equal(status.json().stamp, "0.1.0", "datalab's own stamp document is read");

    const run = await lockstep(REPO, [
      "upgrade",
      "--yes",
      "--json",
      "--config",
      CONFIG,
      "--database",
      target,
    ]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const counts = run.json().results[0].counts;

    const items = await mongodbStore.items(url);
    const dangling = assertRewritten(seeded, items);
    assert.equal(counts.dangling, dangling);
    assert.equal(counts.items, seeded.length);

    // datalab's document: version moved, the seed's own entry kept, one seed-shaped entry per stamp.
    const stamp = await stampDoc(url);
    assert.ok(stamp);
    assert.equal(stamp.version, "0.5.0");
    assert.deepEqual(stamp.history[0], seedStamp.history[0], "the seed's history entry is kept as it was");
    assert.deepEqual(
      stamp.history.map((h) => [h.version, h.action, h.datalab_version]),
      [
        ["0.1.0", "initialise", "0.1.0"],
        ["0.2.0", "upgrade", "0.5.0"],
        ["0.3.0", "upgrade", "0.5.0"],
        ["0.4.0", "upgrade", "0.5.0"],
        ["0.5.0", "upgrade", "0.5.0"],
      ],
    );
    for (const entry of stamp.history)
      assert.ok(entry.timestamp instanceof Date, "timestamps are BSON dates");

    // 0.3.0: refcodes are unique now.
    const client = await new MongoClient(url).connect();
    try {
      const index = (await client.db().collection("items").indexes()).find(
        (i) => i.name === "refcode_unique",
      );
      assert.ok(index, "the refcode index exists");
      assert.equal(index.unique, true);
      await assert.rejects(
        client.db().collection("items").insertOne({ item_id: "copy", refcode: seeded[0]!.refcode }),
        "a second item with an existing refcode is refused",
      );
    } finally {
      await client.close();
    }
  });
});
