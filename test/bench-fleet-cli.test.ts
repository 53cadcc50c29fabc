/**
 * The fleet bench's command line (issue 12): `--help` prints the usage, a bad option is one
 * line and the usage, and a PostgreSQL server that does not answer is skipped with one line.
 * Never runs the bench itself (speed goals live in the bench, not in tests).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { REPO } from "./support/cli.js";
import { closedPort } from "./support/fleet-servers.js";

function bench(args: string[]) {
  const run = spawnSync(process.execPath, ["--import", "tsx", join(REPO, "bench", "fleet.ts"), ...args], {
    cwd: REPO,
    encoding: "utf8",
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

const STACK = /^\s+at /m;

test("bench:fleet --help prints the usage and exits 0", () => {
  const run = bench(["--help"]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^usage: npm run bench:fleet -- \[options\]/);
  for (const option of [
    "--tenants N",
    "--sqlite N",
    "--rows N",
    "--postgres URL",
    "--json",
    "--concurrency 4",
  ]) {
    assert.ok(run.stdout.includes(option), option);
  }
});

test("bench:fleet: a bad option or count is one line and the usage, exit 2, no stack trace", () => {
  for (const args of [["--bogus"], ["--tenants", "many"], ["--sqlite=-3"]]) {
    const run = bench(args);
    assert.equal(run.code, 2, args.join(" "));
    assert.match(run.stderr, /^bench:fleet: /);
    assert.match(run.stderr, /usage: npm run bench:fleet/);
    assert.doesNotMatch(run.stderr, STACK);
  }
});

test("bench:fleet: no PostgreSQL server at --postgres: skipped with one line, in the --json result too", async () => {
  const port = await closedPort();
  const run = bench(["--sqlite", "0", "--json", "--postgres", `postgres://postgres@127.0.0.1:${port}/test`]);
  assert.equal(run.code, 0, run.stderr);
  const result = JSON.parse(run.stdout) as { postgres: { skipped: string } };
  assert.match(result.postgres.skipped, new RegExp(`^no PostgreSQL server on 127\\.0\\.0\\.1:${port}`));
  assert.equal(run.stderr.split("\n").filter((line) => line.includes("skipped")).length, 1, run.stderr);
  assert.doesNotMatch(run.stderr, STACK);
});
