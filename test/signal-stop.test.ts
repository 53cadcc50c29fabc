/**
 * Issue 9 item 14: SIGINT/SIGTERM during `lockstep upgrade` (the built CLI, a real process).
 * The upgrade stops at a safe point: the running step's transaction rolls back (atomic) or its
 * marker stays (MySQL: INTERRUPTED naming it), no further step starts, the lease is released at
 * once, history records the outcome, the CLI prints the state and exits 130/143, and a second
 * run completes. A second signal exits at once.
 */
import assert from "node:assert/strict";
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { describe, it } from "node:test";
import type { Adapter, DatabaseState, HistoryEntry } from "../src/core/adapter.js";
import { CLI, makeProject, type Project } from "./support/cli.js";
import { type AdapterFixture, loadFixtures, type TestDatabase } from "./support/fixtures.js";
import { describeFixture } from "./support/harness.js";

const SLOW = "1.1.0/slow";
const AFTER = "1.2.0/after";

/** Marks through the step's own handle (so a rolled-back step leaves no mark), then, with SLOW=1, sleeps. */
function markingStep(version: string, name: string, slow: boolean): string {
  return `import { upgrade } from "lockstep";
export default upgrade({
  version: "${version}",
  name: "${name}",
  async run(ctx) {
    const mark = "${version}/${name}";
    if (ctx.databaseKind === "sqlite") {
      ctx.db.exec("create table if not exists marks (id integer primary key autoincrement, mark text not null)");
      ctx.db.prepare("insert into marks (mark) values (?)").run(mark);
    } else {
      await ctx.db.query(ctx.databaseKind === "postgres" ? "insert into marks (mark) values ($1)" : "insert into marks (mark) values (?)", [mark]);
    }
    ${slow ? `if (process.env.SLOW === "1") { ctx.log("STEP_RUNNING"); for (let i = 0; i < 600; i++) await new Promise((r) => setTimeout(r, 100)); }` : ""}
  },
});
`;
}

/** A batched step over 40 rows, 2 per page, 4 pages a second: a long walk. */
const BATCHED_STEP = `import { upgrade } from "lockstep";
export default upgrade({
  version: "1.1.0",
  name: "walk",
  batched: true,
  async run(ctx) {
    const result = await ctx.batch({ table: "things" }, (rows) => rows.map((r) => ({ key: r.id, set: { value: r.value + 1 } })), { pageSize: 2, pagesPerSecond: Number(process.env.PAGES_PER_SECOND ?? 1000) });
    return { rows: result.read };
  },
});
`;

interface Running {
  readonly child: ChildProcessWithoutNullStreams;
  readonly stderr: () => string;
  readonly exited: Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** Resolves once stderr contains `text`. */
  waitFor(text: string): Promise<void>;
}

function startUpgrade(project: Project, env: Record<string, string>): Running {
  const child = spawn(process.execPath, [CLI, "upgrade", "--yes"], {
    cwd: project.dir,
    env: { ...process.env, NO_COLOR: "1", ...env },
  });
  let stdout = "";
  let stderr = "";
  const waiters: (() => void)[] = [];
  child.stdout.setEncoding("utf8").on("data", (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding("utf8").on("data", (d: string) => {
    stderr += d;
    for (const wake of waiters.splice(0)) wake();
  });
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on("close", (code) => resolve({ code, stdout, stderr })),
  );
  return {
    child,
    stderr: () => stderr,
    exited,
    async waitFor(text) {
      const deadline = Date.now() + 60_000;
      while (!stderr.includes(text)) {
        if (child.exitCode !== null || Date.now() > deadline)
          throw new Error(`no "${text}" from the upgrade:\n${stdout}\n${stderr}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 200);
        });
      }
    },
  };
}

async function readAll(db: TestDatabase): Promise<{ state: DatabaseState; history: HistoryEntry[] }> {
  const adapter: Adapter<any> = await db.adapter();
  await adapter.open({ create: false });
  try {
    return { state: await adapter.readState(), history: await adapter.readHistory({}) };
  } finally {
    await adapter.close();
  }
}

function project(db: TestDatabase, steps: Record<string, string>): Project {
  return makeProject({
    "package.json": JSON.stringify({ name: "app", version: "1.2.0", type: "module" }),
    "lockstep.config.ts": `import { defineConfig } from "lockstep";\nexport default defineConfig({ database: ${JSON.stringify(db.url)}, steps: "./upgrades" });\n`,
    ...steps,
  });
}

function signalTests(fixture: AdapterFixture) {
  // MySQL's DDL commits implicitly: its steps run behind a marker and stay INTERRUPTED.
  const atomic = fixture.name !== "mysql";
  const cases: [NodeJS.Signals, number][] =
    fixture.name === "sqlite"
      ? [
          ["SIGINT", 130],
          ["SIGTERM", 143],
        ]
      : [["SIGINT", 130]];

  for (const [signal, exitCode] of cases) {
    it(`${signal} inside a step stops there, releases the lease, records it and exits ${exitCode}`, async () => {
      const db = await fixture.create();
      const p = project(db, {
        "upgrades/1.1.0-slow.ts": markingStep("1.1.0", "slow", true),
        "upgrades/1.2.0-after.ts": markingStep("1.2.0", "after", false),
      });
      try {
        assert.equal((await p.run("init", "--version", "1.0.0")).code, 0);
        const run = startUpgrade(p, { SLOW: "1" });
        await run.waitFor("STEP_RUNNING");
        run.child.kill(signal);
        const exit = await run.exited;
        assert.equal(exit.code, exitCode, exit.stderr);
        assert.match(exit.stderr, new RegExp(`${signal}: stopping at the next safe point`));
        assert.match(exit.stderr, /error E_INTERRUPTED_BY_SIGNAL: upgrade stopped by/);
        assert.match(exit.stderr, atomic ? /Database is now UPGRADE_PENDING/ : /Database is now INTERRUPTED/);
        assert.match(exit.stderr, /next: /);

        const { state, history } = await readAll(db);
        assert.equal(state.lease, null, "the lease is free at once");
        assert.equal(state.stamp, "1.0.0");
        assert.deepEqual(await db.marks(), [], "the step's writes were rolled back");
        if (atomic) assert.deepEqual(state.interrupted, []);
        else
          assert.deepEqual(
            state.interrupted.map((m) => `${m.version}/${m.name}`),
            [SLOW],
          );
        const failed = history.filter((e) => e.action === "step_failed");
        assert.deepEqual(
          failed.map((e) => [e.step, e.details?.signal]),
          [["slow", signal]],
        );
        const stopped = history.filter((e) => e.action === "upgrade_interrupted");
        assert.equal(stopped.length, 1);
        assert.equal(stopped[0]?.details?.signal, signal);
        assert.deepEqual(stopped[0]?.details?.pending, [SLOW, AFTER]);
        assert.ok(!history.some((e) => e.action === "step_started" && e.step === "after"), "no step after");

        if (!atomic) assert.equal((await p.run("resolve", SLOW, "--rolled-back")).code, 0);
        const rerun = await p.run("upgrade", "--yes", "--no-wait");
        assert.equal(rerun.code, 0, rerun.stderr);
        assert.deepEqual(await db.marks(), [SLOW, AFTER]);
        assert.equal((await p.run("status")).code, 0);
      } finally {
        p.cleanup();
        await db.cleanup();
      }
    });
  }

  if (fixture.name !== "sqlite") return;

  it("a batched step stops between pages and resumes; a second signal exits at once", async () => {
    const db = await fixture.create();
    const p = project(db, { "upgrades/1.1.0-walk.ts": BATCHED_STEP });
    try {
      const { default: Database } = await import("better-sqlite3");
      const file = db.url.replace(/^sqlite:/, "");
      const raw = new Database(file);
      raw.exec("create table things (id integer primary key, value integer)");
      for (let i = 0; i < 40; i++) raw.prepare("insert into things (value) values (0)").run();
      raw.close();
      assert.equal((await p.run("init", "--version", "1.0.0")).code, 0);

      const run = startUpgrade(p, { PAGES_PER_SECOND: "4" });
      await run.waitFor("[1/1] 1.1.0/walk");
      await new Promise((resolve) => setTimeout(resolve, 600));
      run.child.kill("SIGINT");
      const exit = await run.exited;
      assert.equal(exit.code, 130, exit.stderr);
      assert.match(exit.stderr, /Database is now INTERRUPTED/);
      const { state, history } = await readAll(db);
      assert.equal(state.lease, null);
      assert.equal(state.interrupted.length, 1, "the batched step keeps its checkpoint");
      const checkpoint = state.interrupted[0]?.checkpoint as { read: number } | null;
      assert.ok(checkpoint && checkpoint.read > 0 && checkpoint.read < 40, JSON.stringify(checkpoint));
      assert.ok(history.some((e) => e.action === "step_failed" && e.details?.signal === "SIGINT"));

      // A second signal while the first is being handled: the process exits at once.
      const twice = startUpgrade(p, { PAGES_PER_SECOND: "0.5" });
      await twice.waitFor("resuming interrupted batched step");
      await twice.waitFor("[1/1] 1.1.0/walk");
      twice.child.kill("SIGINT");
      await twice.waitFor("stopping at the next safe point");
      twice.child.kill("SIGINT");
      const second = await twice.exited;
      assert.equal(second.code, 130);
      assert.match(second.stderr, /SIGINT again: exiting at once/);

      const rerun = await p.run("upgrade", "--yes");
      assert.equal(rerun.code, 0, rerun.stderr);
      const check = new Database(file, { readonly: true });
      const rows = check.prepare("select value from things").all() as { value: number }[];
      check.close();
      assert.ok(
        rows.every((r) => r.value === 1),
        "every row walked exactly once across the three runs",
      );
    } finally {
      p.cleanup();
      await db.cleanup();
    }
  });
}

for (const fixture of (await loadFixtures()).filter((f) => f.name !== "mongodb")) {
  await describeFixture(fixture, describe, () => signalTests(fixture));
}
