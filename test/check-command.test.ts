/**
 * `lockstep check` (issue 9 item 29): offline validation for CI, never a connection; and
 * `status --strict`, which fails when a released step was edited.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { lockstep, makeProject, markingStep, type Project, REPO } from "./support/cli.js";

const PACKAGE = JSON.stringify({ name: "app", version: "1.1.0", type: "module" });

function config(database: string, extra = ""): string {
  return `import { defineConfig } from "lockstep";
export default defineConfig({ database: ${JSON.stringify(database)}, steps: "./upgrades"${extra} });
`;
}

/** Nothing listens on port 1: any connection attempt would fail E_DATABASE_UNREACHABLE. */
const CLOSED = {
  postgres: "postgres://app:s3cret-pw@127.0.0.1:1/app",
  mysql: "mysql://root:s3cret-pw@127.0.0.1:1/app",
  mongodb: "mongodb://app:s3cret-pw@127.0.0.1:1/app?serverSelectionTimeoutMS=60000",
};

describe("lockstep check", () => {
  const projects: Project[] = [];
  function project(files: Record<string, string>): Project {
    const p = makeProject({ "package.json": PACKAGE, ...files });
    projects.push(p);
    return p;
  }
  after(() => {
    for (const p of projects) p.cleanup();
  });

  for (const [kind, url] of Object.entries(CLOSED)) {
    test(`a valid ${kind} project: exit 0 without contacting the database`, async () => {
      const p = project({
        "lockstep.config.ts": config(url),
        "upgrades/1.0.0-first.ts": markingStep("1.0.0", "first"),
        "upgrades/1.1.0-second.ts": markingStep("1.1.0", "second", "idempotent: true,"),
      });
      const started = Date.now();
      const run = await p.run("check", "--json");
      assert.equal(run.code, 0, run.stdout + run.stderr);
      const report = run.json();
      assert.equal(report.ok, true);
      assert.deepEqual(report.steps, ["1.0.0/first", "1.1.0/second"]);
      assert.equal(report.appVersion, "1.1.0");
      assert.deepEqual(report.problems, []);
      assert.doesNotMatch(run.stdout + run.stderr, /s3cret-pw/);
      assert.ok(Date.now() - started < 30_000);
    });
  }

  test("human output says ok and that the database was not contacted", async () => {
    const p = project({
      "lockstep.config.ts": config(CLOSED.postgres),
      "upgrades/1.0.0-first.ts": markingStep("1.0.0", "first"),
    });
    const run = await p.run("check");
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /not contacted/);
    assert.match(run.stdout, /ok: the config and steps are valid/);
  });

  test("two steps with one identity: exit 1, E_DUPLICATE_STEP", async () => {
    const p = project({
      "lockstep.config.ts": config(CLOSED.postgres),
      "upgrades/1.0.0-a.ts": markingStep("1.0.0", "same"),
      "upgrades/1.0.0-b.ts": markingStep("v1.0.0", "same"),
    });
    const run = await p.run("check", "--json");
    assert.equal(run.code, 1);
    assert.equal(run.json().ok, false);
    assert.deepEqual(
      run.json().problems.map((x: { code: string }) => x.code),
      ["E_DUPLICATE_STEP"],
    );
    const human = await p.run("check");
    assert.equal(human.code, 1);
    assert.match(human.stderr, /error E_DUPLICATE_STEP:/);
  });

  test("a malformed step version or app version: E_INVALID_VERSION", async () => {
    const p = project({
      "lockstep.config.ts": config(CLOSED.postgres),
      "upgrades/1.0.0-a.ts": markingStep("1.0", "short"),
    });
    const step = await p.run("check", "--json");
    assert.equal(step.code, 1);
    assert.equal(step.json().problems[0].code, "E_INVALID_VERSION");
    p.write("upgrades/1.0.0-a.ts", markingStep("1.0.0", "short"));
    const app = await p.run("check", "--app-version", "banana", "--json");
    assert.equal(app.code, 1);
    assert.equal(app.json().problems[0].code, "E_INVALID_VERSION");
    assert.match(app.json().problems[0].message, /banana/);
  });

  test("invalid step and lease options: every problem listed, each coded", async () => {
    const p = project({
      "lockstep.config.ts": config(CLOSED.postgres, ", lease: { ttlMs: -1 }"),
      "upgrades/1.0.0-a.ts": markingStep("1.0.0", "a", 'idempotent: "yes", conditions: [{}],'),
    });
    const run = await p.run("check", "--json");
    assert.equal(run.code, 1);
    const problems = run.json().problems as { code: string; message: string; hint: string }[];
    assert.deepEqual(problems.map((x) => x.code).sort(), [
      "E_CONFIG_INVALID",
      "E_INVALID_STEP",
      "E_INVALID_STEP",
    ]);
    assert.ok(problems.some((x) => /lease\.ttlMs/.test(x.message)));
    assert.ok(problems.some((x) => /1\.0\.0\/a: `idempotent`/.test(x.message)));
    assert.ok(problems.some((x) => /conditions\[0\]/.test(x.message)));
    for (const x of problems) assert.ok(x.hint);
  });

  test("no config: exit 1, E_CONFIG_NOT_FOUND", async () => {
    const p = project({});
    const run = await p.run("check", "--json");
    assert.equal(run.code, 1);
    assert.equal(run.json().problems[0].code, "E_CONFIG_NOT_FOUND");
  });

  test("check --help describes it", async () => {
    const run = await lockstep(REPO, ["check", "--help"]);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /Never connects to the database/);
  });
});

describe("lockstep status --strict", () => {
  let p: Project;
  before(async () => {
    p = makeProject({
      "package.json": PACKAGE,
      "lockstep.config.ts": config("sqlite:./app.db"),
      "upgrades/1.0.0-first.ts": markingStep("1.0.0", "first"),
    });
    assert.equal((await p.run("init", "--version", "0.9.0")).code, 0);
    assert.equal((await p.run("upgrade", "--yes")).code, 0);
  });
  after(() => p.cleanup());

  test("an unedited, current database: --strict exits 0", async () => {
    const run = await p.run("status", "--strict", "--json");
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.deepEqual(run.json().checksumMismatches, []);
  });

  test("a released step edited: status exits 0, status --strict exits 1", async () => {
    p.write("upgrades/1.0.0-first.ts", markingStep("1.0.0", "first").replace("marked: 1", "marked: 2"));
    const plain = await p.run("status", "--json");
    assert.equal(plain.code, 0, plain.stdout + plain.stderr);
    assert.deepEqual(
      plain.json().checksumMismatches.map((m: { step: string }) => m.step),
      ["1.0.0/first"],
    );
    const strict = await p.run("status", "--strict", "--json");
    assert.equal(strict.code, 1);
    const human = await p.run("status", "--strict");
    assert.equal(human.code, 1);
    assert.match(human.stderr, /--strict: 1 applied step\(s\) edited/);
  });
});
