/**
 * Issue 9 item 19: the config names the MongoDB stamp document (`mongodb: { app }`), so
 * `--database URL` without `?app=` reads the same stamp, and `status` says which document
 * it read. A URL naming another app conflicts (coded). Runs the built CLI (`npm run build`).
 */
import assert from "node:assert/strict";
import { describe } from "node:test";
import { MongoClient } from "mongodb";
import { makeProject } from "./support/cli.js";
import { fixtureNamed } from "./support/fixtures.js";
import { describeFixture, testWith } from "./support/harness.js";

const fixture = await fixtureNamed("mongodb");

/** A database holding datalab's own stamp document at 0.3.0, and a project whose config names it. */
async function datalabProject(mongodb: string) {
  const db = await fixture.create();
  const client = await new MongoClient(db.url).connect();
  await client
    .db()
    .collection<{ _id: string; version: string; history: unknown[] }>("database_metadata")
    .insertOne({ _id: "datalab_schema_version", version: "0.3.0", history: [] });
  await client.close();
  const project = makeProject({
    "package.json": JSON.stringify({ name: "app", version: "0.3.0", type: "module" }),
    "lockstep.config.ts": `import { defineConfig } from "lockstep";
export default defineConfig({ database: "sqlite:./local.db", mongodb: ${mongodb}, steps: [] });
`,
  });
  return {
    url: db.url,
    project,
    dispose: async () => {
      project.cleanup();
      await db.cleanup();
    },
  };
}

await describeFixture(fixture, describe, () => {
  const test = testWith(() => datalabProject('{ app: "datalab" }'));

  test("--database URL without ?app= reads the config's stamp document, and status names it", async ({
    url,
    project,
  }) => {
    const json = await project.run("status", "--json", "--database", url);
    assert.equal(json.code, 0, json.stdout + json.stderr);
    assert.equal(json.json().stamp, "0.3.0");
    assert.equal(json.json().status, "CURRENT");
    assert.equal(json.json().database.stamp, "database_metadata/datalab_schema_version");
    const plain = await project.run("status", "--database", url);
    assert.match(plain.stdout, /stamp\s+0\.3\.0 \(read from database_metadata\/datalab_schema_version\)/);
  });

  test("a URL naming another app conflicts with the config: E_DATABASE_URL", async ({ url, project }) => {
    const run = await project.run("status", "--json", "--database", `${url}?app=other`);
    assert.equal(run.code, 1);
    assert.equal(run.json().error.code, "E_DATABASE_URL");
    const same = await project.run("status", "--json", "--database", `${url}?app=datalab`);
    assert.equal(same.json().stamp, "0.3.0");
  });

  const misspelt = testWith(() => datalabProject('{ ap: "datalab" }'));
  misspelt("a misspelt key of mongodb: E_CONFIG_INVALID with the closest one", async ({ url, project }) => {
    const run = await project.run("status", "--json", "--database", url);
    assert.equal(run.json().error.code, "E_CONFIG_INVALID");
    assert.match(run.json().error.message, /did you mean "app"/);
  });
});
