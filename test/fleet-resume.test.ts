/**
 * `upgrade --resume <id>` through the built CLI, on SQLite files: a target the run left behind
 * and the targets no longer list is reported failed (never dropped), the run's own options
 * (--target-version, --backup …) are applied again and a conflicting one refused, and the
 * targets are read again from the folder the run was started in. `npm run build` first.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import { type CliRun, lockstep, makeProject, type Project } from "./support/cli.js";

let project: Project;
let counter = 0;
before(() => {
  project = makeProject({
    "package.json": JSON.stringify({ name: "app", version: "1.2.0", type: "module" }),
    "lockstep.config.mjs": 'export default { steps: "./upgrades", lease: { ttlMs: 3000, pollMs: 20 } };\n',
    "upgrades/1.0.0-items.sql": "create table items (id integer primary key, name text);\n",
    "upgrades/1.1.0-extra.sql": "alter table items add column extra text;\n",
    "upgrades/1.2.0-more.sql": "alter table items add column more text;\n",
  });
});
after(() => project.cleanup());

/** Tenants t1…t`count` at 1.0.0 in a folder of their own, listed in `<folder>/list.txt`. */
async function tenants(count: number): Promise<{ folder: string; list: string }> {
  const folder = `resume-${++counter}`;
  const names = Array.from({ length: count }, (_, i) => `t${i + 1}`);
  for (const n of names) project.write(`${folder}/${n}.db`, "");
  const list = `${folder}/list.txt`;
  project.write(list, names.map((n) => `sqlite:${folder}/${n}.db`).join("\n"));
  const run = await project.run(
    "upgrade",
    "--targets",
    list,
    "--from-version",
    "0.0.0",
    "--target-version",
    "1.0.0",
    "--yes",
  );
  assert.equal(run.code, 0, run.stderr);
  return { folder, list };
}

function sqlite(folder: string, name: string, sql: string): void {
  const db = new Database(join(project.dir, folder, `${name}.db`));
  db.exec(sql);
  db.close();
}

/** Makes tenant `name`'s 1.1.0 step fail (its column exists already), or mends it. */
const breakTenant = (folder: string, name: string) =>
  sqlite(folder, name, "alter table items add column extra text");
const mendTenant = (folder: string, name: string) =>
  sqlite(folder, name, "alter table items drop column extra");

function table(run: CliRun): string[] {
  return run.json().results.map((r: { name: string; status: string; to: string | null }) => {
    return `${r.name}:${r.status}:${r.to}`;
  });
}

describe("upgrade --resume", () => {
  test("a target left failed or skipped that the targets no longer list is reported failed, exit 1", async () => {
    const { folder, list } = await tenants(3);
    breakTenant(folder, "t2");
    const first = await project.run("upgrade", "--targets", list, "--yes", "--json");
    assert.equal(first.code, 1, first.stderr);
    assert.deepEqual(table(first), ["t1:upgraded:1.2.0", "t2:failed:1.2.0", "t3:skipped:null"]);
    const id = first.json().run;
    // t2 and t3 taken off the list: neither is upgraded, and the resume must say so.
    project.write(list, `sqlite:${folder}/t1.db\n`);
    const resumed = await project.run("upgrade", "--resume", id, "--yes", "--json");
    assert.equal(resumed.code, 1, resumed.stdout + resumed.stderr);
    const results = resumed.json().results;
    assert.deepEqual(
      results.map((r: { name: string; status: string }) => `${r.name}:${r.status}`),
      ["t1:upgraded", "t2:failed", "t3:failed"],
    );
    for (const r of results.slice(1)) {
      assert.equal(r.error.code, "E_TARGETS_INVALID");
      assert.match(r.error.message, new RegExp(`"${r.name}".*run ${id}.*add it back.*fresh run`));
    }
    const record = JSON.parse(readFileSync(resumed.json().record, "utf8"));
    assert.deepEqual(
      record.results.map((r: { name: string; status: string }) => `${r.name}:${r.status}`),
      ["t1:upgraded", "t2:failed", "t3:failed"],
    );
    const human = await project.run("upgrade", "--resume", id, "--yes");
    assert.equal(human.code, 1);
    assert.match(human.stdout, /t2\b.*E_TARGETS_INVALID/);
    assert.match(human.stdout, /t3\b.*E_TARGETS_INVALID/);
  });
});
