import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { generateItems } from "../examples/datalab/model.js";
import { sqliteStore } from "../examples/datalab/stores/sqlite-store.js";
import { lockstep, REPO } from "./support/cli.js";
import { assertRewritten } from "./support/datalab.js";
import { fixtureNamed } from "./support/fixtures.js";
import { describeFixture } from "./support/harness.js";

const CONFIG = join(REPO, "examples", "datalab", "lockstep.config.ts");
const dir = mkdtempSync(join(tmpdir(), "lockstep-datalab-"));
after(() => rmSync(dir, { recursive: true, force: true }));

// The quick start runs on SQLite: it obeys LOCKSTEP_TEST_DATABASES like the other database suites.
await describeFixture(await fixtureNamed("sqlite"), describe, () => {
  describe("the datalab example (the README's quick start)", () => {
    test("the demo exits 0 and leaves the database CURRENT, twice in a row", async () => {
      const url = `sqlite:${join(dir, "demo.db")}`;
      for (let run = 0; run < 2; run++) {
        const demo = spawnSync(
          process.execPath,
          ["--import", "tsx", "examples/datalab/demo.ts", "--database", url, "--items", "600"],
          {
            cwd: REPO,
            encoding: "utf8",
          },
        );
        assert.equal(demo.status, 0, demo.stdout + demo.stderr);
        assert.match(demo.stdout, /UPGRADE_PENDING/);
        assert.match(demo.stdout, /Database upgraded 0\.1\.0 -> 0\.5\.0/);
        const status = await lockstep(REPO, ["status", "--json", "--config", CONFIG, "--database", url]);
        assert.equal(status.code, 0);
        assert.equal(status.json().status, "CURRENT");
      }
      // 0.4.0 (expand) copied each name to title; 0.5.0 (contract) removed name.
      const items = await sqliteStore.items(url);
      assert.equal(items.length, generateItems(600).length);
      for (const item of items) {
        assert.equal(typeof item.title, "string", item.item_id);
        assert.ok(!("name" in item), item.item_id);
      }
    });

    test("0.2.0 keys relationships by refcode and keeps dangling ones as flagged stubs", async () => {
      const url = `sqlite:${join(dir, "rel.db")}`;
      const seeded = generateItems(400, { danglingRate: 0.05 });
      await sqliteStore.reset(url);
      await sqliteStore.seed(url, seeded);
      assert.equal(
        (await lockstep(REPO, ["init", "--version", "0.1.0", "--config", CONFIG, "--database", url])).code,
        0,
      );
      const run = await lockstep(REPO, ["upgrade", "--yes", "--json", "--config", CONFIG, "--database", url]);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      const counts = run.json().results[0].counts;
      const dangling = assertRewritten(seeded, await sqliteStore.items(url));
      assert.equal(counts.dangling, dangling);
    });

    test("items without a refcode block 0.2.0; --force leaves them untouched and lists them", async () => {
      const url = `sqlite:${join(dir, "force.db")}`;
      const seeded = generateItems(300, { withoutRefcode: 4 });
      const without = seeded.filter((i) => i.refcode === null).map((i) => i.item_id);
      assert.equal(without.length, 4);
      await sqliteStore.reset(url);
      await sqliteStore.seed(url, seeded);
      const args = ["--config", CONFIG, "--database", url];
      assert.equal((await lockstep(REPO, ["init", "--version", "0.1.0", ...args])).code, 0);
      const refused = await lockstep(REPO, ["upgrade", "--yes", "--json", ...args]);
      assert.equal(refused.code, 3);
      assert.equal(refused.json().error.code, "E_PRECONDITION_FAILED");
      assert.equal((await lockstep(REPO, ["status", "--json", ...args])).json().stamp, "0.1.0");

      const forced = await lockstep(REPO, ["upgrade", "--yes", "--force", ...args]);
      assert.equal(forced.code, 0, forced.stderr);
      for (const id of without) assert.match(forced.stderr, new RegExp(id), "each untouched item is listed");
      const after = await sqliteStore.items(url);
      for (const item of after) {
        const before = seeded.find((i) => i.item_id === item.item_id)!;
        if (before.refcode === null)
          assert.deepEqual(item.relationships, before.relationships, "left untouched");
        else assert.ok(item.relationships.every((r) => "refcode" in r));
      }
    });
  });
});
