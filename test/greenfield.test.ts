/**
 * Issue 9 item 21, the greenfield trap, over every fixture: a database holding no table or
 * collection besides lockstep's own is new, and an app whose steps build its schema
 * (`stepsBuildSchema`) gets every step applied there by `upgrade` and the start-up check;
 * anything else stays UNINITIALISED. `init` warns when it looks like a mistake, and a
 * forced init to a lower version removes the baselines above it.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { upgrade } from "../src/core/registry.js";
import type { StepDefinition } from "../src/core/step.js";
import { rejectsWith } from "./support/assertions.js";
import { makeProject, markingStep, type Project, projectMarks } from "./support/cli.js";
import { type AdapterFixture, loadFixtures } from "./support/fixtures.js";
import { describeFixture, type Harness, harnessTest, markStep } from "./support/harness.js";

/** Runs `sql` (or, on MongoDB, `mongo`) on the database's plain handle. */
async function byHand(h: Harness, sql: string, mongo: (db: any) => Promise<unknown>): Promise<void> {
  const adapter = await h.adapter();
  const db = adapter.handle();
  if (adapter.kind === "mongodb") await mongo(db);
  else if (adapter.kind === "sqlite") db.exec(sql);
  else await db.query(sql);
}

/** Leaves the database with nothing but lockstep's store (some fixtures pre-create `marks`). */
const makeEmpty = (h: Harness) =>
  byHand(h, "drop table if exists marks", (db) => db.dropCollection("marks").catch(() => undefined));

/** Gives the database a table lockstep did not create. */
const addUserTable = (h: Harness) =>
  byHand(h, "create table users (id integer primary key)", (db) => db.createCollection("users"));

/** The step that builds the schema from nothing: creates `marks`, then marks itself. */
function createSchemaStep(fixture: AdapterFixture, h: Harness, version: string): StepDefinition {
  return upgrade({
    version,
    name: "create-schema",
    run: async (ctx) => {
      if (ctx.dryRun) return { wouldMark: 1 };
      const db = ctx.db as any;
      if (fixture.name === "postgres")
        await db.query("create table marks (id bigserial primary key, mark text not null)");
      if (fixture.name === "mysql")
        await db.query(
          "create table marks (id bigint not null auto_increment primary key, mark varchar(255) not null) engine=InnoDB",
        );
      // SQLite and MongoDB: marking creates the table/collection.
      await h.db.mark(db, `${version}/create-schema`);
      return { marked: 1 };
    },
  });
}

function greenfield(fixture: AdapterFixture) {
  const test = harnessTest(fixture);
  const steps = (h: Harness) => [createSchemaStep(fixture, h, "1.0.0"), markStep(h.db, "1.1.0", "more")];
  const ALL = ["1.0.0/create-schema", "1.1.0/more"];

  describe("a new, empty database", () => {
    test("reports no user objects, and one table once one exists", async (h) => {
      await makeEmpty(h);
      assert.equal((await h.state()).userObjects, 0);
      await addUserTable(h);
      assert.equal((await h.state()).userObjects, 1);
    });

    test("stepsBuildSchema: status pending from 0.0.0, upgrade applies every step", async (h) => {
      await makeEmpty(h);
      const u = await h.upgrader("1.1.0", steps(h), { stepsBuildSchema: true });
      const status = await u.status();
      assert.equal(status.status, "UPGRADE_PENDING");
      assert.deepEqual(status.pending, ALL);
      assert.equal(status.autoStampable, false);
      const plan = await u.plan();
      assert.equal(plan.from, "0.0.0");
      assert.deepEqual(plan.baseline, []);
      const result = await u.upgrade();
      assert.equal(result.outcome, "upgraded");
      assert.deepEqual(
        result.results.map((r) => `${r.step}:${r.status}`),
        ALL.map((id) => `${id}:applied`),
      );
      assert.deepEqual(await h.marks(), ALL);
      const state = await h.state();
      assert.equal(state.stamp, "1.1.0");
      assert.deepEqual(
        state.ledger.map((e) => e.kind),
        ["applied", "applied"],
      );
      assert.equal((await u.status()).status, "CURRENT");
    });

    test("stepsBuildSchema: the start-up check's policy upgrade applies every step", async (h) => {
      await makeEmpty(h);
      const u = await h.upgrader("1.1.0", steps(h), { stepsBuildSchema: true });
      const checked = await u.check({ policy: "upgrade" });
      assert.equal(checked.action, "upgraded");
      assert.equal(checked.report.status, "CURRENT");
      assert.deepEqual(await h.marks(), ALL);
    });

    test("without stepsBuildSchema: UNINITIALISED, and the hint names every path", async (h) => {
      await makeEmpty(h);
      const u = await h.upgrader("1.1.0", steps(h));
      const status = await u.status();
      assert.equal(status.status, "UNINITIALISED");
      assert.match(status.next ?? "", /stepsBuildSchema: true/);
      assert.match(status.next ?? "", /--from-version 0\.0\.0/);
      assert.match(status.next ?? "", /lockstep init/);
      const error = await rejectsWith(u.upgrade(), "E_UNINITIALISED");
      assert.match(error.hint ?? "", /stepsBuildSchema/);
      await rejectsWith(u.check({ policy: "upgrade" }), "E_UNINITIALISED");
      assert.equal((await h.state()).stamp, null);
    });
  });

  describe("a database holding tables lockstep did not create", () => {
    test("stays UNINITIALISED with stepsBuildSchema: lockstep never guesses", async (h) => {
      await makeEmpty(h);
      await addUserTable(h);
      const u = await h.upgrader("1.1.0", steps(h), { stepsBuildSchema: true });
      assert.equal((await u.status()).status, "UNINITIALISED");
      await rejectsWith(u.upgrade(), "E_UNINITIALISED");
      await rejectsWith(u.check({ policy: "upgrade" }), "E_UNINITIALISED");
      assert.equal((await h.state()).stamp, null);
    });
  });

  describe("init", () => {
    const warningsOf = async (h: Harness, run: (u: any) => Promise<unknown>) => {
      const u = await h.upgrader("1.1.0", steps(h));
      const warnings: string[] = [];
      u.on("warning", ({ message }) => warnings.push(message));
      await run(u);
      return warnings;
    };

    test("on a database holding other tables warns that it looks existing and names --from-version", async (h) => {
      await makeEmpty(h);
      await addUserTable(h);
      const warnings = await warningsOf(h, (u) => u.init());
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]!, /looks like an existing deployment/);
      assert.match(warnings[0]!, /upgrade --from-version/);
    });

    test("on an empty database warns that the baselined steps never run and names stepsBuildSchema", async (h) => {
      await makeEmpty(h);
      const warnings = await warningsOf(h, (u) => u.init());
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]!, /will never run/);
      assert.match(warnings[0]!, /stepsBuildSchema: true/);
      assert.match(warnings[0]!, /--from-version 0\.0\.0/);
    });

    test("with nothing to baseline says nothing", async (h) => {
      await makeEmpty(h);
      const warnings = await warningsOf(h, (u) => u.init({ version: "0.9.0" }));
      assert.deepEqual(warnings, []);
    });

    test("--force to a lower version removes the baselines above it: 0.0.0 undoes a mistaken init", async (h) => {
      await makeEmpty(h);
      const u = await h.upgrader("1.1.0", steps(h));
      await u.init();
      assert.equal((await h.state()).ledger.length, 2);
      assert.deepEqual(await u.init({ version: "1.0.0", force: true }), {
        version: "1.0.0",
        previous: "1.1.0",
      });
      assert.deepEqual(
        (await h.state()).ledger.map((e) => `${e.version}/${e.name}:${e.kind}`),
        ["1.0.0/create-schema:baselined"],
      );
      await u.init({ version: "0.0.0", force: true });
      const state = await h.state();
      assert.equal(state.stamp, "0.0.0");
      assert.deepEqual(state.ledger, []);
      const init = (await h.history()).filter((e) => e.action === "init").at(-1);
      assert.deepEqual(init?.details?.removedBaselines, ["1.0.0/create-schema"]);
      // Now every step runs, as it should have from the start.
      assert.deepEqual((await u.status()).pending, ALL);
      await u.upgrade();
      assert.deepEqual(await h.marks(), ALL);
    });

    test("--force below a step that ran refuses (E_INIT_BELOW_APPLIED) and changes nothing", async (h) => {
      await makeEmpty(h);
      const u = await h.upgrader("1.1.0", steps(h), { stepsBuildSchema: true });
      await u.upgrade();
      const before = await h.state();
      const error = await rejectsWith(u.init({ version: "1.0.0", force: true }), "E_INIT_BELOW_APPLIED");
      assert.match(error.message, /1\.1\.0\/more/);
      const state = await h.state();
      assert.equal(state.stamp, "1.1.0");
      assert.deepEqual(state.ledger, before.ledger);
      // At or above the highest applied step is allowed.
      await u.init({ version: "1.1.0", force: true });
      assert.equal((await h.state()).ledger.length, 2);
    });
  });
}

for (const fixture of await loadFixtures()) {
  await describeFixture(fixture, describe, () => greenfield(fixture));
}

describe("the CLI: a first deploy of an app whose steps build the schema", () => {
  let project: Project;
  const config = (flag: boolean) => `import { defineConfig } from "lockstep";
export default defineConfig({ database: "sqlite:./app.db", steps: "./upgrades"${flag ? ", stepsBuildSchema: true" : ""} });
`;
  const marks = () => projectMarks(project);

  before(() => {
    project = makeProject({
      "package.json": JSON.stringify({ name: "app", version: "1.0.0", type: "module" }),
      "lockstep.config.ts": config(false),
      "upgrades/1.0.0-create-users.ts": markingStep("1.0.0", "create-users"),
    });
    writeFileSync(join(project.dir, "app.db"), "");
  });
  after(() => project.cleanup());

  test("without the flag: status UNINITIALISED names stepsBuildSchema, init, --from-version", async () => {
    const run = await project.run("status", "--json");
    assert.equal(run.code, 3);
    assert.equal(run.json().status, "UNINITIALISED");
    assert.match(run.json().next, /stepsBuildSchema/);
    assert.match(run.json().next, /lockstep init/);
    assert.match(run.json().next, /--from-version <the release it runs now>/);
  });

  test("init on the empty database warns that the step will never run; init --force 0.0.0 undoes it", async () => {
    const run = await project.run("init");
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /warning: .*will never run.*stepsBuildSchema: true/s);
    const undo = await project.run("init", "--force", "--version", "0.0.0", "--json");
    assert.equal(undo.code, 0, undo.stderr);
    const status = await project.run("status", "--json");
    assert.equal(status.json().status, "UPGRADE_PENDING");
    assert.deepEqual(status.json().pending, ["1.0.0/create-users"]);
    assert.deepEqual(marks(), []);
  });

  test("with stepsBuildSchema on an empty database, upgrade applies every step", async () => {
    project.cleanup();
    project = makeProject({
      "package.json": JSON.stringify({ name: "app", version: "1.0.0", type: "module" }),
      "lockstep.config.ts": config(true),
      "upgrades/1.0.0-create-users.ts": markingStep("1.0.0", "create-users"),
    });
    writeFileSync(join(project.dir, "app.db"), "");
    const status = await project.run("status", "--json");
    assert.equal(status.json().status, "UPGRADE_PENDING");
    const run = await project.run("upgrade", "--yes", "--json");
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.json().outcome, "upgraded");
    assert.deepEqual(marks(), ["1.0.0/create-users"]);
    assert.equal((await project.run("status", "--json")).json().status, "CURRENT");
  });

  test("init --force below the applied step refuses with exit 3 (E_INIT_BELOW_APPLIED)", async () => {
    const run = await project.run("init", "--force", "--version", "0.0.0", "--json");
    assert.equal(run.code, 3);
    assert.equal(run.json().error.code, "E_INIT_BELOW_APPLIED");
    assert.equal((await project.run("status", "--json")).json().status, "CURRENT");
  });

  test("a config whose stepsBuildSchema is not a boolean is refused", async () => {
    project.write(
      "lockstep.config.ts",
      `export default { database: "sqlite:./app.db", steps: "./upgrades", stepsBuildSchema: "yes" };\n`,
    );
    const run = await project.run("status", "--json");
    assert.equal(run.code, 1);
    assert.equal(run.json().error.code, "E_CONFIG_INVALID");
  });
});
