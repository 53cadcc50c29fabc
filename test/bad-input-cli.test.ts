/**
 * Issue 9 item 16 (uncoded errors): user-causable database errors through the built CLI
 * (`npm run build`) are coded with a next action, never a stack trace, and never echo a
 * password. Servers that are missing skip their case.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { CLI, makeProject, type Project } from "./support/cli.js";
import { fixtureNamed } from "./support/fixtures.js";

const SECRET = "s3cr3tPw";

/** Runs `status --json -d url` and asserts a coded error `code` with a hint, no stack, no secret. */
async function assertCoded(project: Project, url: string, code: string): Promise<void> {
  const run = await project.run("status", "--json", "--database", url);
  assert.notEqual(run.code, 0);
  const { error } = run.json();
  assert.equal(error.code, code, JSON.stringify(error));
  assert.ok(error.hint, "a next action");
  for (const text of [run.stdout, run.stderr]) {
    assert.ok(!text.includes(SECRET), `the password leaked: ${text}`);
    assert.doesNotMatch(text, /\n\s+at /, "no stack trace");
  }
}

async function skipUnless(name: string): Promise<string | false> {
  return (await (await fixtureNamed(name)).unavailable()) ?? false;
}

describe("database errors through the CLI", async () => {
  let project: Project;
  before(() => {
    project = makeProject({
      "package.json": JSON.stringify({ name: "app", version: "1.0.0", type: "module" }),
      "lockstep.config.ts": `import { defineConfig } from "lockstep";
export default defineConfig({ database: "sqlite:./app.db", steps: [] });
`,
    });
  });
  after(() => project.cleanup());

  test("mongodb://…?bogusOpt=1: E_DATABASE_URL, password scrubbed", {
    skip: await skipUnless("mongodb"),
  }, async () => {
    await assertCoded(project, `mongodb://user:${SECRET}@127.0.0.1:27017/x?bogusOpt=1`, "E_DATABASE_URL");
  });
  test("a wrong password on PostgreSQL: E_DATABASE_AUTH", {
    skip: await skipUnless("postgres"),
  }, async () => {
    await assertCoded(project, `postgres://no_such_user_x:${SECRET}@127.0.0.1:5432/test`, "E_DATABASE_AUTH");
  });
  test("a wrong password on MySQL: E_DATABASE_AUTH", { skip: await skipUnless("mysql") }, async () => {
    await assertCoded(project, `mysql://root:${SECRET}@127.0.0.1:3306/test`, "E_DATABASE_AUTH");
  });
  test("a non-ASCII database name on MySQL: coded", { skip: await skipUnless("mysql") }, async () => {
    await assertCoded(project, "mysql://root@127.0.0.1:3306/tést_nope", "E_DATABASE_NOT_FOUND");
  });
  test("a non-ASCII database name on PostgreSQL: coded", { skip: await skipUnless("postgres") }, async () => {
    await assertCoded(project, "postgres://postgres@127.0.0.1:5432/tést_nope", "E_DATABASE_NOT_FOUND");
  });
});

describe("SQLite files a user cannot write, or that do not exist yet", () => {
  const config = (extra = "") => `import { upgrade } from "lockstep";
export default {
  database: "sqlite:./app.db",
  appVersion: "1.1.0",${extra}
  steps: [upgrade({ version: "1.1.0", name: "users", run(ctx) { ctx.db.exec("create table users (name text)"); } })],
};
`;
  // Root writes through any file mode, so the run is made as `nobody`: only possible as root.
  const asRoot = process.getuid?.() === 0;
  // ...and `nobody` must be able to read this checkout (a clone under a private folder is not).
  const nobodyReads =
    asRoot &&
    spawnSync(process.execPath, ["-e", `require("fs").readFileSync(${JSON.stringify(CLI)})`], {
      uid: 65534,
      gid: 65534,
    }).status === 0;
  test("a read-only database file: E_DATABASE_READONLY with a next action, no stack", {
    skip: nobodyReads ? false : "needs root, and a checkout that the user nobody can read",
  }, async () => {
    const project = makeProject({ "lockstep.config.mjs": config() });
    try {
      assert.equal((await project.run("init", "--version", "1.0.0")).code, 0);
      const file = join(project.dir, "app.db");
      const before = readFileSync(file);
      chmodSync(file, 0o444);
      chmodSync(project.dir, 0o755);
      const run = spawnSync(process.execPath, [CLI, "upgrade", "--yes", "--json"], {
        cwd: project.dir,
        uid: 65534,
        gid: 65534,
        encoding: "utf8",
        env: { ...process.env, NO_COLOR: "1" },
      });
      assert.equal(run.status, 1, run.stdout + run.stderr);
      const { error } = JSON.parse(run.stdout);
      assert.equal(error.code, "E_DATABASE_READONLY", run.stdout);
      assert.match(error.hint, /write access/);
      assert.doesNotMatch(run.stdout + run.stderr, /\n\s+at /);
      assert.deepEqual(readFileSync(file), before, "the file is untouched");
    } finally {
      project.cleanup();
    }
  });

  test("stepsBuildSchema: upgrade creates the missing file and applies every step; plan creates nothing", async () => {
    const project = makeProject({ "lockstep.config.mjs": config("\n  stepsBuildSchema: true,") });
    try {
      const plan = await project.run("plan", "--json");
      assert.equal(plan.json().error.code, "E_DATABASE_NOT_FOUND");
      assert.match(plan.json().error.hint, /stepsBuildSchema/);
      assert.ok(!existsSync(join(project.dir, "app.db")), "plan writes nothing");
      const run = await project.run("upgrade", "--yes", "--json");
      assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.deepEqual(
        run.json().results.map((r: { step: string; status: string }) => `${r.step} ${r.status}`),
        ["1.1.0/users applied"],
      );
      assert.equal((await project.run("status", "--json")).json().status, "CURRENT");
    } finally {
      project.cleanup();
    }
  });
});
