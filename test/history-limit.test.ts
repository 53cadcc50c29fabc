/**
 * `history --limit` (issue 9 item 16): 0 and negative limits meant four different things on
 * four adapters; only a positive integer is a limit, checked at the CLI and the library.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { isLockstepError } from "../src/core/errors.js";
import { validateHistoryLimit } from "../src/core/history-limit.js";
import { makeProject, markingStep, type Project } from "./support/cli.js";

describe("validateHistoryLimit", () => {
  test("a positive integer (or its string) is the limit; undefined is the whole history", () => {
    assert.equal(validateHistoryLimit(undefined), undefined);
    assert.equal(validateHistoryLimit(3), 3);
    assert.equal(validateHistoryLimit("20", "--limit"), 20);
  });
  for (const bad of [
    0,
    -1,
    2.5,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    "0",
    "-3",
    "abc",
    "",
    "2.5",
    null,
    "1e400",
  ]) {
    test(`${JSON.stringify(bad) ?? String(bad)} is E_CONFIG_INVALID naming the option`, () => {
      assert.throws(
        () => validateHistoryLimit(bad, "--limit"),
        (error) => isLockstepError(error, "E_CONFIG_INVALID") && /--limit/.test(error.message),
      );
    });
  }
});

describe("lockstep history --limit", () => {
  let project: Project;
  before(async () => {
    project = makeProject({
      "package.json": JSON.stringify({ name: "app", version: "1.0.0", type: "module" }),
      "lockstep.config.ts": `import { defineConfig } from "lockstep";
export default defineConfig({ database: "sqlite:./app.db", steps: "./upgrades" });
`,
      "upgrades/1.0.0-first.ts": markingStep("1.0.0", "first"),
    });
    assert.equal((await project.run("init", "--version", "0.9.0")).code, 0);
    assert.equal((await project.run("upgrade", "--yes")).code, 0);
  });
  after(() => project.cleanup());

  for (const bad of ["0", "-1", "abc", "2.5"]) {
    test(`--limit ${bad}: exit 1, E_CONFIG_INVALID`, async () => {
      const run = await project.run("history", "--limit", bad, "--json");
      assert.equal(run.code, 1, run.stdout + run.stderr);
      assert.equal(run.json().error.code, "E_CONFIG_INVALID");
      assert.match(run.json().error.message, /--limit/);
    });
  }

  test("--limit 2: the newest two entries, oldest first", async () => {
    const all = (await project.run("history", "--json")).json() as { action: string }[];
    assert.ok(all.length > 2);
    const run = await project.run("history", "--limit", "2", "--json");
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(run.json(), all.slice(-2));
  });
});
