/**
 * The datalab example (the README's demo) on PostgreSQL and MariaDB, each in a database of
 * its own: the demo twice in a row, and the 0.2.0 rewrite checked item by item.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import { generateItems } from "../examples/datalab/model.js";
import { mysqlStore } from "../examples/datalab/stores/mysql-store.js";
import { postgresStore } from "../examples/datalab/stores/postgres-store.js";
import type { DatalabStore } from "../examples/datalab/stores/store.js";
import { lockstep, REPO } from "./support/cli.js";
import { assertRewritten } from "./support/datalab.js";
import { fixtureNamed } from "./support/fixtures.js";
import { describeFixture, Harness } from "./support/harness.js";

const CONFIG = join(REPO, "examples", "datalab", "lockstep.config.ts");

function demo(url: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "examples/datalab/demo.ts", "--database", url, "--items", "600"],
      { cwd: REPO, env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout.on("data", (d) => {
      output += d;
    });
    child.stderr.on("data", (d) => {
      output += d;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}

const STORES: Record<string, DatalabStore> = { postgres: postgresStore, mysql: mysqlStore };

for (const [name, store] of Object.entries(STORES)) {
  const fixture = await fixtureNamed(name);
  await describeFixture(fixture, describe, () => {
    async function withDatabase(fn: (url: string) => Promise<void>): Promise<void> {
      const h = await Harness.create(fixture);
      try {
        await fn(h.db.url);
      } finally {
        await h.dispose();
      }
    }

    it("the demo exits 0 and leaves the database CURRENT, twice in a row", () =>
      withDatabase(async (url) => {
        for (let run = 0; run < 2; run++) {
          const result = await demo(url);
          assert.equal(result.code, 0, result.output);
          assert.match(result.output, /UPGRADE_PENDING/);
          assert.match(result.output, /Database upgraded 0\.1\.0 -> 0\.5\.0/);
          assert.match(result.output, /applied 0\.2\.0\/relationships-to-refcode .*items=\d+/);
          const status = await lockstep(REPO, ["status", "--json", "--config", CONFIG, "--database", url]);
          assert.equal(status.code, 0, status.stderr);
          assert.equal(status.json().status, "CURRENT");
          // reset() started the second run from scratch: one init and one upgrade each time.
          const history = await lockstep(REPO, ["history", "--json", "--config", CONFIG, "--database", url]);
          assert.equal(history.code, 0, history.stderr);
          const entries: { action: string }[] = history.json();
          assert.equal(entries.filter((e) => e.action === "init").length, 1);
        }
        const items = await store.items(url);
        assert.equal(items.length, generateItems(600).length);
        assert.ok(items.every((i) => i.relationships.every((r) => "refcode" in r)));
      }));

    it("0.2.0 keys relationships by refcode and keeps dangling ones as flagged stubs", () =>
      withDatabase(async (url) => {
        const seeded = generateItems(400, { danglingRate: 0.05 });
        await store.reset(url);
        await store.seed(url, seeded);
        const args = ["--config", CONFIG, "--database", url];
        assert.equal((await lockstep(REPO, ["init", "--version", "0.1.0", ...args])).code, 0);
        const run = await lockstep(REPO, ["upgrade", "--yes", "--json", ...args]);
        assert.equal(run.code, 0, run.stdout + run.stderr);
        const counts = run.json().results[0].counts;
        const dangling = assertRewritten(seeded, await store.items(url));
        assert.equal(counts.dangling, dangling);
        assert.equal(counts.items, seeded.length);
        // 0.3.0's unique index is there: a second item with a taken refcode is refused.
        const taken = seeded.find((i) => i.refcode !== null)!;
        await assert.rejects(store.seed(url, [{ ...taken, item_id: "sample-duplicate" }]));
      }));
  });
}
