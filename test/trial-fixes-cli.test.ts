/**
 * A new-user trial of the rolling-deploy features, through the built CLI on SQLite: a closed
 * stdout pipe never stops a command (real pipes whose reader went away), the floor of a
 * released SQL step marked expand later, the wording after `--contract` and of deferred
 * steps, overrides in `history`, a refused `--contract` naming failing preconditions, and
 * `lockstep new --phase`.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { adapterFromUrl } from "../src/adapters/from-url.js";
import type { Adapter, InstanceRecord } from "../src/core/adapter.js";
import { CLI, makeProject, markingStep, type Project, projectMarks } from "./support/cli.js";

const CONFIG = `import { defineConfig } from "lockstep";
export default defineConfig({ database: "sqlite:./app.db", steps: "./upgrades" });
`;

/** Runs the CLI with stdout a pipe whose reader is gone before anything is written. */
function withClosedStdout(cwd: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd,
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout.destroy();
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

function older(id: string, release: string): InstanceRecord {
  return {
    id,
    appVersion: release,
    host: "web-old",
    pid: 6001,
    owner: "web-old/other-machine/ns/6001/abcd",
    startedAt: new Date().toISOString(),
  };
}

async function registry(project: Project): Promise<Adapter> {
  const adapter = await adapterFromUrl(`sqlite:${project.dir}/app.db`);
  await adapter.open({ create: false });
  return adapter;
}

describe("a closed stdout pipe (lockstep … | head -1)", () => {
  let project: Project;
  before(async () => {
    project = makeProject({
      "package.json": JSON.stringify({ name: "app", version: "1.1.0", type: "module" }),
      "lockstep.config.ts": CONFIG,
      // A step that writes output while it runs, after the reader is gone.
      "upgrades/1.1.0-slow.ts": markingStep(
        "1.1.0",
        "slow",
        `async prepare(ctx) { for (let i = 0; i < 50; i++) { ctx.log("line " + i); await new Promise((r) => setTimeout(r, 5)); } },`,
      ),
    });
    assert.equal((await project.run("init", "--version", "1.0.0")).code, 0);
  });
  after(() => project.cleanup());

  test("plan and status keep their own exit code, with no stack", async () => {
    const plan = await withClosedStdout(project.dir, ["plan"]);
    assert.equal(plan.code, 2, plan.stderr);
    assert.doesNotMatch(plan.stderr, /EPIPE|at .*\.js/);
    const status = await withClosedStdout(project.dir, ["status"]);
    assert.equal(status.code, 2, status.stderr);
    assert.doesNotMatch(status.stderr, /EPIPE|E_UNSETTLED/);
  });

  test("upgrade --yes finishes the running step: exit 0, history complete", async () => {
    const run = await withClosedStdout(project.dir, ["upgrade", "--yes"]);
    assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(run.stderr, /EPIPE|E_UNSETTLED/);
    assert.deepEqual(projectMarks(project), ["1.1.0/slow"]);
    const history = (await project.run("history", "--json")).json() as { action: string }[];
    assert.ok(history.some((e) => e.action === "step_succeeded"));
    const text = await withClosedStdout(project.dir, ["history"]);
    assert.equal(text.code, 0, text.stderr);
  });
});

describe("rolling wording, overrides and the floor (CLI, SQLite)", () => {
  let project: Project;
  let adapter: Adapter;
  before(async () => {
    project = makeProject({
      "package.json": JSON.stringify({ name: "app", version: "1.0.0", type: "module" }),
      "lockstep.config.ts": CONFIG,
      "upgrades/1.1.0-add-x.sql": "CREATE TABLE x (id integer);\n",
    });
    assert.equal((await project.run("init", "--version", "1.0.0")).code, 0);
  });
  after(async () => {
    await adapter?.close();
    project.cleanup();
  });

  test("a released SQL step marked expand later still explains the floor", async () => {
    const up = await project.run("upgrade", "--yes", "--app-version", "1.1.0");
    assert.equal(up.code, 0, up.stderr);
    const before = await project.run("status", "--app-version", "1.1.0");
    assert.match(before.stdout, /floor {5}1\.1\.0 \(set by 1\.1\.0\/add-x\)/);
    project.write("upgrades/1.1.0-add-x.sql", "-- lockstep-phase: expand\nCREATE TABLE x (id integer);\n");
    const now = await project.run("status", "--app-version", "1.1.0");
    assert.equal(now.code, 0, now.stderr);
    assert.match(now.stdout, /floor {5}1\.1\.0 \(set by 1\.1\.0\/add-x\)/);
  });

  test("deferred once, then applied by --contract: one 'deferred', status and the result say what happened", async () => {
    project.write("upgrades/1.2.0-drop-name.ts", markingStep("1.2.0", "drop-name", 'phase: "contract",'));
    adapter = await registry(project);
    await adapter.registerInstance(older("trial-old-1", "1.1.0"), 120_000);
    const up = await project.run("upgrade", "--yes", "--app-version", "1.2.0");
    assert.equal(up.code, 0, up.stderr);
    assert.match(
      up.stdout,
      /deferred contract step 1\.2\.0\/drop-name: older code runs \(1\.1\.0 ×1 on web-old\)/,
    );
    assert.doesNotMatch(up.stdout, /deferred contract step \S+ deferred/);
    await adapter.removeInstance("trial-old-1");
    const status = await project.run("status", "--app-version", "1.2.0");
    assert.match(status.stdout, /live {6}\(no instance registered\)/);
    assert.match(
      status.stdout,
      /deferred {2}1\.2\.0\/drop-name: deferred earlier; no older release is live now/,
    );
    assert.doesNotMatch(status.stdout, /deferred while older code runs/);
    const contract = await project.run("upgrade", "--contract", "--yes", "--app-version", "1.2.0");
    assert.equal(contract.code, 0, contract.stderr);
    assert.match(contract.stdout, /Applied 1 deferred contract step at 1\.2\.0\./);
    assert.match(contract.stdout, /Planned upgrade: at 1\.2\.0 \(steps at or below the stamp; it stays\)/);
    assert.doesNotMatch(contract.stdout, /upgraded 1\.2\.0 -> 1\.2\.0/);
  });

  test("--contract refused by older code lists the failing precondition; --ignore-live is named and shown in history", async () => {
    project.write(
      "upgrades/1.3.0-drop-more.ts",
      markingStep(
        "1.3.0",
        "drop-more",
        'phase: "contract", conditions: [{ description: "nothing uses more", skippable: true, check: async () => ({ message: "2 rows use more" }) }],',
      ),
    );
    await adapter.registerInstance(older("trial-old-2", "1.2.0"), 120_000);
    const up = await project.run("upgrade", "--yes", "--app-version", "1.3.0");
    assert.equal(up.code, 0, up.stderr);
    const refused = await project.run("upgrade", "--contract", "--yes", "--app-version", "1.3.0");
    assert.equal(refused.code, 3, refused.stderr);
    assert.match(refused.stderr, /E_OLDER_CODE_RUNNING/);
    assert.match(refused.stderr, /nothing uses more \(step 1\.3\.0\/drop-more\): 2 rows use more/);
    assert.match(refused.stderr, /--ignore-live/);
    assert.doesNotMatch(refused.stderr, /`--contract --force` applies/);
    // The data is fixed: the condition holds, the override is only for the older code.
    project.write("upgrades/1.3.0-drop-more.ts", markingStep("1.3.0", "drop-more", 'phase: "contract",'));
    const ignored = await project.run("upgrade", "--ignore-live", "--yes", "--app-version", "1.3.0");
    assert.equal(ignored.code, 0, ignored.stderr);
    assert.ok(projectMarks(project).includes("1.3.0/drop-more"));
    const history = await project.run("history", "--app-version", "1.3.0");
    assert.match(history.stdout, /override --ignore-live while older code ran: 1\.2\.0 ×1 on web-old/);
    assert.match(history.stdout, /override --ignore-live for 1\.3\.0\/drop-more while older code ran/);
  });
});

describe("lockstep new: phase and the config's precondition example", () => {
  test("--phase expand writes the phase; a SQL config gets noRowsWhere, a MongoDB one noDocumentsIn", async () => {
    const project = makeProject({
      "package.json": JSON.stringify({ name: "app", version: "1.0.0", type: "module" }),
      "lockstep.config.ts": CONFIG,
    });
    try {
      const run = await project.run("new", "1.4.0", "add-col", "--phase", "expand");
      assert.equal(run.code, 0, run.stderr);
      const text = readFileSync(join(project.dir, "upgrades", "1.4.0-add-col.ts"), "utf8");
      assert.match(text, /^ {2}phase: "expand",$/m);
      assert.match(text, /\/\/ conditions: \[noRowsWhere\(/);
      assert.doesNotMatch(text, /noDocumentsIn/);
      const plain = await project.run("new", "1.4.0", "fix");
      assert.equal(plain.code, 0, plain.stderr);
      const fix = readFileSync(join(project.dir, "upgrades", "1.4.0-fix.ts"), "utf8");
      assert.match(fix, /^ {2}\/\/ phase: "expand",/m);
      assert.match(fix, /"expand" = older releases keep working/);
      const bad = await project.run("new", "1.4.0", "oops", "--phase", "expnd");
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /E_USAGE/);
      project.write(
        "lockstep.config.ts",
        `export default { database: "mongodb://127.0.0.1:27017/x", steps: "./upgrades" };\n`,
      );
      await project.run("new", "1.5.0", "mongo-step");
      const mongo = readFileSync(join(project.dir, "upgrades", "1.5.0-mongo-step.ts"), "utf8");
      assert.match(mongo, /\/\/ conditions: \[noDocumentsIn\(/);
      assert.doesNotMatch(mongo, /noRowsWhere/);
    } finally {
      project.cleanup();
    }
  });
});
