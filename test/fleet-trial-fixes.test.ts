/**
 * A new user's trial of the fleet (issue 12), through the built CLI on SQLite files: `init
 * --targets` refuses to baseline steps that build the schema and names each target's warnings,
 * says "stamped"; an unusable run record folder is a coded error before anything is touched,
 * and one that breaks mid-run is a coded warning; the summary's next step fits each problem.
 * `npm run build` first.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import { nextSteps } from "../src/cli/fleet/fleet-summary.js";
import { resultOf } from "../src/fleet/target-result.js";
import { type CliRun, lockstep, makeProject, type Project } from "./support/cli.js";

const BUILDING_STEPS = {
  "upgrades/1.0.0-items.sql": "create table items (id integer primary key, name text);\n",
  "upgrades/2.0.0-extra.sql": "alter table items add column extra text;\n",
};

let project: Project;
let counter = 0;
before(() => {
  project = makeProject({
    "package.json": JSON.stringify({ name: "app", version: "2.0.0", type: "module" }),
    "lockstep.config.mjs": 'export default { steps: "./upgrades", lease: { ttlMs: 3000, pollMs: 20 } };\n',
    "building/lockstep.config.mjs":
      'export default { steps: "../upgrades", appVersion: "2.0.0", stepsBuildSchema: true };\n',
    ...BUILDING_STEPS,
  });
});
after(() => project.cleanup());

/** `names` new, empty SQLite files in a new folder, and a targets file listing them; returns both. */
function emptyTenants(...names: string[]): { folder: string; list: string } {
  const folder = `fleet-${++counter}`;
  for (const n of names) project.write(`${folder}/${n}.db`, "");
  const list = `${folder}.txt`;
  project.write(list, names.map((n) => `${n}=sqlite:${folder}/${n}.db`).join("\n"));
  return { folder, list };
}

/** The CLI in the project with LOCKSTEP_RUNS_DIR set to `runsDir` (relative to the project). */
function lockstepIn(args: string[], runsDir: string): Promise<CliRun> {
  return lockstep(project.dir, args, { LOCKSTEP_RUNS_DIR: join(project.dir, runsDir) });
}

function tables(folder: string, name: string): string[] {
  const db = new Database(join(project.dir, folder, `${name}.db`), { readonly: true });
  try {
    return (db.prepare("select name from sqlite_master where type = 'table'").all() as { name: string }[])
      .map((r) => r.name)
      .filter((t) => !t.startsWith("lockstep") && !t.startsWith("sqlite_"));
  } finally {
    db.close();
  }
}

describe("init --targets", () => {
  test("steps that build the schema: an empty tenant is refused (E_INIT_BUILDS_SCHEMA), nothing baselined", async () => {
    const { folder, list } = emptyTenants("n1", "n2");
    const config = ["--config", "building/lockstep.config.mjs"];
    const run = await project.run("init", "--targets", list, ...config, "--on-error", "continue");
    assert.equal(run.code, 3, run.stdout + run.stderr);
    assert.doesNotMatch(run.stderr, /n1 (upgraded|stamped)/);
    assert.match(run.stderr, /n1 refused.*E_INIT_BUILDS_SCHEMA/);
    assert.match(run.stdout, /lockstep upgrade --targets/);
    assert.deepEqual(tables(folder, "n1"), []);
    const json = await project.run("init", "--targets", list, ...config, "--json", "--on-error", "continue");
    assert.deepEqual(
      json.json().results.map((r: { status: string; error: { code: string } }) => [r.status, r.error.code]),
      [
        ["refused", "E_INIT_BUILDS_SCHEMA"],
        ["refused", "E_INIT_BUILDS_SCHEMA"],
      ],
    );
    const status = await project.run("status", "--targets", list, ...config);
    assert.doesNotMatch(status.stdout, /CURRENT/, status.stdout);
    const upgrade = await project.run("upgrade", "--targets", list, ...config, "--yes");
    assert.equal(upgrade.code, 0, upgrade.stdout + upgrade.stderr);
    assert.deepEqual(tables(folder, "n1"), ["items"]);
  });

  test("schema made elsewhere: each target's warning is shown with its name, and the line says stamped", async () => {
    const { list } = emptyTenants("e1", "e2");
    const run = await project.run("init", "--targets", list);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stderr, /e1 warning: the database is empty/);
    assert.match(run.stderr, /e2 warning: the database is empty/);
    assert.match(run.stderr, /e1 stamped \(unstamped\) → 2\.0\.0/);
    assert.doesNotMatch(run.stderr + run.stdout, /upgraded/);
    assert.match(run.stdout, /stamped\s+2/);
    assert.equal(
      (await project.run("init", "--targets", list, "--json")).json().results[0].error.code,
      "E_ALREADY_INITIALISED",
    );
  });
});

describe("the run record folder", () => {
  test("a file, or a path under a file: E_RUN_RECORD before any target is touched", async () => {
    const { folder, list } = emptyTenants("r1");
    project.write("not-a-folder", "x");
    for (const dir of ["not-a-folder", "not-a-folder/runs"]) {
      const run = await lockstepIn(["upgrade", "--targets", list, "--yes", "--json"], dir);
      assert.equal(run.code, 1, run.stdout + run.stderr);
      const { error } = run.json();
      assert.equal(error.code, "E_RUN_RECORD");
      assert.match(error.message, /not-a-folder/);
      assert.match(error.hint, /LOCKSTEP_RUNS_DIR/);
      const human = await lockstepIn(["upgrade", "--targets", list, "--yes"], dir);
      assert.doesNotMatch(human.stderr, /E_UNEXPECTED|please report/);
    }
    assert.deepEqual(tables(folder, "r1"), []);
  });

  test("a folder that breaks mid-run: the run finishes, prints its summary, warns E_RUN_RECORD, exits as its results say", async () => {
    const { folder, list } = emptyTenants("m1", "m2");
    const runs = "breaking/runs";
    // m1's step turns the runs folder into a file: every later write of the record fails.
    project.write(
      "breaking/lockstep.config.mjs",
      'export default { steps: "./upgrades", appVersion: "1.0.0", stepsBuildSchema: true };\n',
    );
    project.write(
      "breaking/upgrades/1.0.0-first.mjs",
      `import { rmSync, writeFileSync } from "node:fs";
import { upgrade } from "lockstep";
export default upgrade({
  version: "1.0.0",
  name: "first",
  run(ctx) {
    if (ctx.dryRun) return;
    ctx.db.exec("create table items (id integer)");
    rmSync(process.env.LOCKSTEP_RUNS_DIR, { recursive: true, force: true });
    writeFileSync(process.env.LOCKSTEP_RUNS_DIR, "");
  },
});
`,
    );
    const args = ["upgrade", "--targets", list, "--config", "breaking/lockstep.config.mjs", "--yes"];
    const human = await lockstepIn(args, runs);
    assert.equal(human.code, 0, human.stdout + human.stderr);
    assert.match(human.stderr, /warning E_RUN_RECORD: cannot write the run record/);
    assert.equal(human.stderr.match(/E_RUN_RECORD/g)?.length, 1, human.stderr);
    assert.match(human.stdout, /upgraded\s+2/);
    assert.match(human.stdout, /Run record: not written/);
    assert.deepEqual(tables(folder, "m2"), ["items"]);
    const again = emptyTenants("j1", "j2");
    const json = await lockstepIn(
      ["upgrade", "--targets", again.list, "--config", "breaking/lockstep.config.mjs", "--yes", "--json"],
      "breaking/runs2",
    );
    assert.equal(json.code, 0, json.stderr);
    assert.equal(json.json().record, null);
    assert.deepEqual(
      json.json().results.map((r: { status: string }) => r.status),
      ["upgraded", "upgraded"],
    );
    assert.ok(
      json.stderr
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .some((l) => JSON.parse(l).code === "E_RUN_RECORD"),
    );
  });
});

/** Tenants at 1.0.0 (items table); `broken` ones get the column 2.0.0 adds, so that step fails. */
async function tenantsAt100(names: string[], broken: string[]): Promise<string> {
  const { folder, list } = emptyTenants(...names);
  const fromNothing = ["--from-version", "0.0.0", "--app-version", "1.0.0", "--yes"];
  const made = await project.run("upgrade", "--targets", list, ...fromNothing);
  assert.equal(made.code, 0, made.stderr);
  for (const name of broken) {
    const db = new Database(join(project.dir, folder, `${name}.db`));
    db.exec("alter table items add column extra text");
    db.close();
  }
  return list;
}

describe("the summary's next steps", () => {
  test("a failed canary: the skipped say why, and only the failed one is told to fix and resume", async () => {
    const list = await tenantsAt100(["c1", "c2", "c3"], ["c1"]);
    const run = await project.run(
      "upgrade",
      "--targets",
      list,
      "--canary",
      "1",
      "--on-error",
      "continue",
      "--yes",
    );
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stdout, /c2\s+skipped\s+-\s+never started: canary c1 failed/);
    assert.match(
      run.stdout,
      /c1 \(failed\): fix the cause .*lockstep upgrade --resume \d{8}-\d{6}-[0-9a-f]{4}/,
    );
    assert.match(run.stdout, /c2, c3 \(skipped\)/);
    assert.doesNotMatch(run.stdout, /resolve|unlock/);
    // The problem rows' columns line up: the code column starts at one offset.
    const rows = run.stdout.split("\n").filter((l) => /^ {2}c\d +(failed|skipped) /.test(l));
    assert.equal(rows.length, 3);
    assert.equal(new Set(rows.map((l) => l.search(/E_STEP_FAILED|-\s+never/))).size, 1, rows.join("\n"));
    const stop = await project.run("upgrade", "--targets", list, "--yes");
    assert.match(stop.stdout, /c2\s+skipped\s+-\s+never started: stopped after c1 failed/);
  });

  test("an interrupted step: refused, and the next step is `lockstep resolve` on that database, which works", async () => {
    const { folder, list } = emptyTenants("k1");
    project.write(
      "interrupt/lockstep.config.mjs",
      'export default { steps: "./upgrades", appVersion: "1.0.0", stepsBuildSchema: true };\n',
    );
    project.write(
      "interrupt/upgrades/1.0.0-first.mjs",
      `import { upgrade } from "lockstep";
export default upgrade({
  version: "1.0.0",
  name: "first",
  transaction: false,
  run(ctx) {
    if (ctx.dryRun) return;
    if (process.env.KILL_ME === "1") process.kill(process.pid, "SIGKILL");
    ctx.db.exec("create table items (id integer)");
  },
});
`,
    );
    const config = ["--config", "interrupt/lockstep.config.mjs"];
    const killed = await lockstep(project.dir, ["upgrade", "--targets", list, ...config, "--yes"], {
      KILL_ME: "1",
    });
    assert.equal(killed.code, null);
    const run = await project.run("upgrade", "--targets", list, ...config, "--yes");
    assert.equal(run.code, 3, run.stdout + run.stderr);
    const next = run.stdout.split("\n").find((l) => l.includes("k1 (refused, E_INTERRUPTED)")) ?? "";
    assert.doesNotMatch(next, /--resume/);
    const resolve = /`(lockstep resolve 1\.0\.0\/first) --applied`.*with `(--database \S+)`/.exec(next);
    assert.ok(resolve, run.stdout);
    const database = (resolve[2] as string).slice("--database ".length);
    assert.equal(database, `sqlite:${folder}/k1.db`);
    const resolved = await project.run(
      "resolve",
      "1.0.0/first",
      "--rolled-back",
      "--database",
      database,
      ...config,
    );
    assert.equal(resolved.code, 0, resolved.stdout + resolved.stderr);
    const again = await project.run("upgrade", "--targets", list, ...config, "--yes");
    assert.equal(again.code, 0, again.stdout + again.stderr);
  });

  test("a held lease or an unreachable server: wait or unlock; check the server, then resume", () => {
    const target = { name: "acme", url: "postgres://u:pw@h/acme", baseDir: "/", origin: "x:1" };
    const run = { id: "20261126-051500-ab12", recordPath: null, cwd: "/", command: "upgrade" as const };
    const held = resultOf(target, {
      status: "refused",
      error: { code: "E_LOCK_HELD", message: "another upgrader holds the lease" },
    });
    const gone = resultOf(target, {
      status: "unreachable",
      error: { code: "E_DATABASE_UNREACHABLE", message: "cannot connect" },
    });
    // In the summary's order: failed, unreachable, refused, skipped.
    const [server, lock] = nextSteps([gone, held], run);
    assert.match(lock ?? "", /wait for it, or .*`lockstep unlock --database postgres:\/\/u:\*\*\*@h\/acme`/);
    assert.doesNotMatch(lock ?? "", /pw/);
    assert.match(server ?? "", /^acme \(unreachable\): check the server .*--resume 20261126-051500-ab12/);
  });
});

test("a throwing databases(): the --verbose advice is printed once", async () => {
  project.write(
    "catalog/lockstep.config.mjs",
    'export default { steps: "../upgrades", databases: async () => { throw new Error("catalog down") } };\n',
  );
  const run = await project.run("status", "--config", "catalog/lockstep.config.mjs");
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /E_TARGETS_INVALID/);
  assert.equal(run.stderr.match(/--verbose/g)?.length, 1, run.stderr);
});
