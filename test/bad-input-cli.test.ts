/**
 * Issue 9 item 16 (uncoded errors): user-causable database errors through the built CLI
 * (`npm run build`) are coded with a next action, never a stack trace, and never echo a
 * password. Servers that are missing skip their case.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { makeProject, type Project } from "./support/cli.js";
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
