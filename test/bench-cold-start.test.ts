/**
 * `npm run bench:cli`'s command line (issue 13 item 4): `--help` prints the usage and a bad
 * option is a usage error (exit 2). Never runs the bench itself: speed goals live in the bench.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { REPO } from "./support/cli.js";

function benchCli(args: string[]) {
  const run = spawnSync(process.execPath, ["--import", "tsx", join(REPO, "bench", "cli.ts"), ...args], {
    cwd: REPO,
    encoding: "utf8",
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

test("--help prints the usage and exits 0", () => {
  const run = benchCli(["--help"]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^usage: npm run bench:cli -- \[options\]/);
  for (const text of [
    "--runs N",
    "--postgres URL",
    "--json",
    "node-pg-migrate",
    ".ts <= 0.7",
    ".mjs <= 0.6",
  ]) {
    assert.ok(run.stdout.includes(text), text);
  }
});

test("a bad --runs is a usage error: exit 2, the usage, no stack", () => {
  const run = benchCli(["--runs", "0"]);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /^bench:cli: --runs needs a positive integer, got 0\n\nusage:/);
  assert.doesNotMatch(run.stderr, /^\s+at /m);
});
