/**
 * A new user's trial of the fleet (issue 12), through the built CLI on SQLite files: `init
 * --targets` refuses to baseline steps that build the schema and names each target's warnings,
 * says "stamped"; an unusable run record folder is a coded error before anything is touched,
 * and one that breaks mid-run is a coded warning; the summary's next step fits each problem.
 * `npm run build` first.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import { makeProject, type Project } from "./support/cli.js";

const BUILDING_STEPS = {
  "upgrades/1.0.0-items.sql": "create table items (id integer primary key, name text);\n",
  "upgrades/2.0.0-extra.sql": "alter table items add column extra text;\n",
};

let project: Project;
let counter = 0;
before(() => {
  project = makeProject({
    "package.json": JSON.stringify({ name: "app", version: "2.0.0", type: "module" }),
    "lockstep.config.mjs": 'export default { steps: "./upgrades", lease: { ttlMs: 3000, pollMs: 20 } };\n',
    "building/lockstep.config.mjs":
      'export default { steps: "../upgrades", appVersion: "2.0.0", stepsBuildSchema: true };\n',
    ...BUILDING_STEPS,
  });
});
after(() => project.cleanup());

/** `names` new, empty SQLite files in a new folder, and a targets file listing them; returns both. */
function emptyTenants(...names: string[]): { folder: string; list: string } {
  const folder = `fleet-${++counter}`;
  for (const n of names) project.write(`${folder}/${n}.db`, "");
  const list = `${folder}.txt`;
  project.write(list, names.map((n) => `${n}=sqlite:${folder}/${n}.db`).join("\n"));
  return { folder, list };
}

function tables(folder: string, name: string): string[] {
  const db = new Database(join(project.dir, folder, `${name}.db`), { readonly: true });
  try {
    return (db.prepare("select name from sqlite_master where type = 'table'").all() as { name: string }[])
      .map((r) => r.name)
      .filter((t) => !t.startsWith("lockstep") && !t.startsWith("sqlite_"));
  } finally {
    db.close();
  }
}

describe("init --targets", () => {
  test("steps that build the schema: an empty tenant is refused (E_INIT_BUILDS_SCHEMA), nothing baselined", async () => {
    const { folder, list } = emptyTenants("n1", "n2");
    const config = ["--config", "building/lockstep.config.mjs"];
    const run = await project.run("init", "--targets", list, ...config, "--on-error", "continue");
    assert.equal(run.code, 3, run.stdout + run.stderr);
    assert.doesNotMatch(run.stderr, /n1 (upgraded|stamped)/);
    assert.match(run.stderr, /n1 refused.*E_INIT_BUILDS_SCHEMA/);
    assert.match(run.stdout, /lockstep upgrade --targets/);
    assert.deepEqual(tables(folder, "n1"), []);
    const json = await project.run("init", "--targets", list, ...config, "--json", "--on-error", "continue");
    assert.deepEqual(
      json.json().results.map((r: { status: string; error: { code: string } }) => [r.status, r.error.code]),
      [
        ["refused", "E_INIT_BUILDS_SCHEMA"],
        ["refused", "E_INIT_BUILDS_SCHEMA"],
      ],
    );
    const status = await project.run("status", "--targets", list, ...config);
    assert.doesNotMatch(status.stdout, /CURRENT/, status.stdout);
    const upgrade = await project.run("upgrade", "--targets", list, ...config, "--yes");
    assert.equal(upgrade.code, 0, upgrade.stdout + upgrade.stderr);
    assert.deepEqual(tables(folder, "n1"), ["items"]);
  });

  test("schema made elsewhere: each target's warning is shown with its name, and the line says stamped", async () => {
    const { list } = emptyTenants("e1", "e2");
    const run = await project.run("init", "--targets", list);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stderr, /e1 warning: the database is empty/);
    assert.match(run.stderr, /e2 warning: the database is empty/);
    assert.match(run.stderr, /e1 stamped \(unstamped\) → 2\.0\.0/);
    assert.doesNotMatch(run.stderr + run.stdout, /upgraded/);
    assert.match(run.stdout, /stamped\s+2/);
    assert.equal(
      (await project.run("init", "--targets", list, "--json")).json().results[0].error.code,
      "E_ALREADY_INITIALISED",
    );
  });
});
