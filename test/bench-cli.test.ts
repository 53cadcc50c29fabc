/**
 * The bench's command line (issue 9 item 18): `--help` prints the usage, and a database with
 * no server is skipped with one line saying how to include it. Never runs the bench itself.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { REPO } from "./support/cli.js";

function bench(args: string[], env: Record<string, string> = {}) {
  const run = spawnSync(process.execPath, ["--import", "tsx", join(REPO, "bench", "main.ts"), ...args], {
    cwd: REPO,
    env: { ...process.env, ...env },
    encoding: "utf8",
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** A port nothing listens on (taken from the OS, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const STACK = /^\s+at /m;

test("--help prints the usage and exits 0", async () => {
  const run = bench(["--help"]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^usage: npm run bench -- \[options\]/);
  for (const option of [
    "--n",
    "--only",
    "--mongodb",
    "--postgres",
    "--mysql",
    "--json",
    "postgres,mysql,sqlite,mongodb",
    "naive,lockstep,lockstep_set,single,race",
    "scripts/ferretdb.sh start",
  ]) {
    assert.ok(run.stdout.includes(option), option);
  }
});

test("an unknown option is one line and the usage, exit 2, no stack trace", async () => {
  const run = bench(["--bogus"]);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /^bench: Unknown option '--bogus'/);
  assert.match(run.stderr, /usage: npm run bench/);
  assert.doesNotMatch(run.stderr, STACK);
});

test("--only with a database the bench does not know: one line and the usage, exit 2", async () => {
  const run = bench(["--only", "postgres,oracle"]);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /^bench: --only takes any of postgres,mysql,sqlite,mongodb, got oracle/);
  assert.doesNotMatch(run.stderr, STACK);
});

test("no MongoDB-protocol server at --mongodb: skipped with one line saying how to include it", async () => {
  const port = await closedPort();
  const run = bench(["--only", "mongodb", "--n", "5", "--mongodb", `mongodb://127.0.0.1:${port}/test`]);
  assert.equal(run.code, 0, run.stderr);
  const skipped = run.stderr.split("\n").filter((line) => line.includes("skipped"));
  assert.equal(skipped.length, 1, run.stderr);
  assert.match(
    skipped[0]!,
    new RegExp(`^mongodb: skipped: no MongoDB-protocol server on 127\\.0\\.0\\.1:${port}`),
  );
  assert.match(skipped[0]!, /scripts\/ferretdb\.sh start/);
  assert.doesNotMatch(run.stderr, STACK);
  assert.doesNotMatch(run.stderr, /starting FerretDB/);
});

test("BENCH_MONGODB_URL with no server, --json: the skip is in the result", async () => {
  const port = await closedPort();
  const run = bench(["--only", "mongodb", "--n", "5", "--json"], {
    BENCH_MONGODB_URL: `mongodb://127.0.0.1:${port}/test`,
  });
  assert.equal(run.code, 0, run.stderr);
  const result = JSON.parse(run.stdout) as { mongodb: { skipped: string } };
  assert.match(result.mongodb.skipped, /^no MongoDB-protocol server on 127\.0\.0\.1:\d+; to include it/);
  assert.doesNotMatch(run.stderr, STACK);
});
