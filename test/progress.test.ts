import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import { CLI, makeProject, type Project } from "./support/cli.js";

/** A batched step over 3000 rows, 100 per page, slowed to ~60 pages/s so progress has time to show. */
const STEP = `import { upgrade } from "lockstep";
export default upgrade({
  version: "1.1.0",
  name: "double-values",
  batched: true,
  async run(ctx) {
    const result = await ctx.batch({ table: "things" }, (rows) => rows.map((r) => ({ key: r.id, set: { value: r.value * 2 } })), { pageSize: 100, pagesPerSecond: 60 });
    return { rows: result.read };
  },
});
`;

let project: Project;
function fresh(): void {
  const db = new Database(join(project.dir, "app.db"));
  db.exec("drop table if exists things; create table things (id integer primary key, value integer)");
  db.exec(
    "drop table if exists lockstep_state; drop table if exists lockstep_ledger; drop table if exists lockstep_markers",
  );
  const insert = db.prepare("insert into things (value) values (?)");
  db.transaction(() => {
    for (let i = 0; i < 3000; i++) insert.run(i);
  })();
  db.close();
  const init = spawnSync(process.execPath, [CLI, "init", "--version", "1.0.0"], {
    cwd: project.dir,
    encoding: "utf8",
  });
  assert.equal(init.status, 0, init.stderr);
}

before(() => {
  project = makeProject({
    "package.json": JSON.stringify({ version: "1.1.0" }),
    "lockstep.config.ts": `import { defineConfig } from "lockstep";\nexport default defineConfig({ database: "sqlite:./app.db", steps: "./upgrades" });\n`,
    "upgrades/1.1.0-double.ts": STEP,
  });
});
after(() => project.cleanup());

describe("upgrade progress", () => {
  test("without a TTY: plain lines with done/total, percentage, rate and ETA; no escape codes", () => {
    fresh();
    const run = spawnSync(process.execPath, [CLI, "upgrade", "--yes"], {
      cwd: project.dir,
      encoding: "utf8",
      env: { ...process.env, LOCKSTEP_PROGRESS_INTERVAL_MS: "200" },
    });
    assert.equal(run.status, 0, run.stderr);
    const lines = run.stderr.split("\n").filter((l) => l.includes("1.1.0/double-values:"));
    assert.ok(lines.length >= 3, `several progress lines, got:\n${run.stderr}`);
    for (const line of lines) assert.match(line, /\d+\/3000 \(\d+%\), \d+\/s, ETA (\d+ s|\?)/);
    assert.match(lines.at(-1)!, /3000\/3000 \(100%\)/);
    assert.ok(!(run.stderr + run.stdout).includes("\u001b["), "no escape codes");
  });

  test("on a TTY: a progress bar with percentage, count, rate and ETA", () => {
    fresh();
    // `script` gives the CLI a real pseudo-terminal.
    const command = `${process.execPath} ${CLI} upgrade --yes`;
    const run = spawnSync("script", ["-q", "-e", "-c", command, "/dev/null"], {
      cwd: project.dir,
      encoding: "utf8",
      env: { ...process.env, COLUMNS: "120" },
    });
    assert.equal(run.status, 0, run.stdout);
    assert.match(run.stdout, /[\u2588\u2591]{10,}/, "bar characters");
    assert.match(run.stdout, /\d+% \| \d+\/3000 \| \d+\/s \| ETA/);
    assert.match(run.stdout, /100% \| 3000\/3000/);
  });

  test("with --json: progress events as JSON lines on stderr, the result on stdout", () => {
    fresh();
    const run = spawnSync(process.execPath, [CLI, "upgrade", "--yes", "--json"], {
      cwd: project.dir,
      encoding: "utf8",
    });
    assert.equal(run.status, 0, run.stderr);
    const events = run.stderr
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { event: string; done?: number; total?: number });
    const progress = events.filter((e) => e.event === "step:progress");
    assert.ok(progress.length >= 30, "one event per page");
    assert.deepEqual(progress.at(-1), { ...progress.at(-1), done: 3000, total: 3000 });
    assert.equal(JSON.parse(run.stdout).results[0].counts.rows, 3000);
  });
});
