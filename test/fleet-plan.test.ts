/**
 * `plan --targets` through the built CLI, on SQLite files: targets at one stamp whose plans
 * differ (a precondition refuses one) are grouped apart, each named, the JSON true to each.
 * `npm run build` first.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import Database from "better-sqlite3";
import { makeProject, type Project } from "./support/cli.js";

let project: Project;
before(() => {
  project = makeProject({
    "package.json": JSON.stringify({ name: "app", version: "1.1.0", type: "module" }),
    "lockstep.config.mjs": 'export default { steps: "./upgrades" };\n',
    "upgrades/1.0.0-items.sql": "create table items (id integer primary key, name text);\n",
    "upgrades/1.1.0-named.mjs": [
      'import { noRowsWhere, upgrade } from "lockstep";',
      "export default upgrade({",
      '  version: "1.1.0",',
      '  name: "named",',
      '  conditions: [noRowsWhere("items", "name is null")],',
      '  run(ctx) { ctx.db.exec("create index items_name on items (name)"); },',
      "});",
      "",
    ].join("\n"),
  });
});
after(() => project.cleanup());

test("two targets at one stamp, a precondition refusing one: two groups, each named, exit 3", async () => {
  for (const n of ["a", "b", "c"]) project.write(`tenants/${n}.db`, "");
  project.write("list.txt", "a=sqlite:tenants/a.db\nb=sqlite:tenants/b.db\nc=sqlite:tenants/c.db\n");
  const base = await project.run(
    "upgrade",
    "--targets",
    "list.txt",
    "--from-version",
    "0.0.0",
    "--target-version",
    "1.0.0",
    "--yes",
  );
  assert.equal(base.code, 0, base.stderr);
  const db = new Database(join(project.dir, "tenants", "b.db"));
  db.exec("insert into items (name) values (null)");
  db.close();

  const json = await project.run("plan", "--targets", "list.txt", "--json");
  assert.equal(json.code, 3, json.stdout + json.stderr);
  const out = json.json();
  assert.deepEqual(
    out.groups.map((g: { stamp: string; status: string; targets: string[] }) => [
      g.stamp,
      g.status,
      g.targets,
    ]),
    [
      ["1.0.0", "planned", ["a", "c"]],
      ["1.0.0", "refused", ["b"]],
    ],
  );
  assert.deepEqual(
    out.groups.map((g: { plan: { preconditions: { status: string }[] } }) => g.plan.preconditions[0]?.status),
    ["passed", "failed"],
  );
  const byName = Object.fromEntries(
    out.results.map((r: { name: string; status: string; error: { code: string } | null }) => [r.name, r]),
  );
  assert.equal(byName.a.status, "planned");
  assert.equal(byName.a.error, null);
  assert.equal(byName.b.status, "refused");
  assert.equal(byName.b.error.code, "E_PRECONDITION_FAILED");
  assert.equal(byName.b.stamp, "1.0.0");

  const human = await project.run("plan", "--targets", "list.txt");
  assert.equal(human.code, 3);
  assert.match(human.stdout, /== stamp 1\.0\.0: 2 databases \(a, c\) ==/);
  assert.match(
    human.stdout,
    /== stamp 1\.0\.0, refused: 1 database \(b\) ==[\s\S]*precondition \[1\.1\.0\/named\][^\n]*FAILED/,
  );
  assert.match(human.stdout, /^\s+b\s+refused\s+E_PRECONDITION_FAILED/m);
});
