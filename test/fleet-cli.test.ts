/**
 * Fleets through the built CLI: the rollout flags (--concurrency, --canary, --on-error) on a
 * handful of SQLite files and one PostgreSQL schema, the run record (0600, no credential),
 * --resume, --json's shape, the exit codes, init/status/plan with targets, the config's
 * `databases`. `npm run build` first.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import { CLI, type CliRun, collectRun, makeProject, type Project } from "./support/cli.js";
import type { TestDatabase } from "./support/fixtures.js";
import { fixtureNamed, notSelected } from "./support/fixtures.js";

const STEPS = {
  "upgrades/1.0.0-items.sql": "create table items (id integer primary key, name text);\n",
  "upgrades/1.1.0-extra.sql": "alter table items add column extra text;\n",
};
const PASSWORD = "Sup3rSecretPw";

let project: Project;
let counter = 0;
before(() => {
  project = makeProject({
    "package.json": JSON.stringify({ name: "app", version: "1.1.0", type: "module" }),
    "lockstep.config.mjs": 'export default { steps: "./upgrades", lease: { ttlMs: 3000, pollMs: 20 } };\n',
    ...STEPS,
  });
});
after(() => project.cleanup());

/** `count` new SQLite tenants at 1.0.0 in their own folder; returns the folder. */
async function tenants(count: number): Promise<string> {
  const folder = `fleet-${++counter}`;
  for (let i = 1; i <= count; i++) project.write(`${folder}/t${i}.db`, "");
  const run = await project.run(
    "upgrade",
    "--targets",
    `${folder}/*.db`,
    "--from-version",
    "0.0.0",
    "--app-version",
    "1.0.0",
    "--yes",
  );
  assert.equal(run.code, 0, run.stderr);
  return folder;
}

/** Makes tenant `name`'s 1.1.0 step fail (its column exists already). */
function breakTenant(folder: string, name: string): void {
  const db = new Database(join(project.dir, folder, `${name}.db`));
  db.exec("alter table items add column extra text");
  db.close();
}

function mendTenant(folder: string, name: string): void {
  const db = new Database(join(project.dir, folder, `${name}.db`));
  db.exec("alter table items drop column extra");
  db.close();
}

/** `upgrade --targets '<folder>/*.db' --yes --json …extra`. */
function upgradeAll(folder: string, ...extra: string[]): Promise<CliRun> {
  return project.run("upgrade", "--targets", `${folder}/*.db`, "--yes", "--json", ...extra);
}

function statuses(run: CliRun): Record<string, string> {
  return Object.fromEntries(
    run.json().results.map((r: { name: string; status: string }) => [r.name, r.status]),
  );
}

describe("upgrade with --targets", () => {
  test("--on-error stop (the default): the first failure starts no more; the rest are skipped, exit 1", async () => {
    const folder = await tenants(5);
    breakTenant(folder, "t3");
    const run = await upgradeAll(folder);
    assert.equal(run.code, 1, run.stderr);
    assert.deepEqual(statuses(run), {
      t1: "upgraded",
      t2: "upgraded",
      t3: "failed",
      t4: "skipped",
      t5: "skipped",
    });
    const [t1, , t3, t4] = run.json().results;
    assert.deepEqual(
      { ...t1, durationMs: 0 },
      {
        name: "t1",
        database: `sqlite:${folder}/t1.db`,
        status: "upgraded",
        from: "1.0.0",
        to: "1.1.0",
        stepsApplied: 1,
        durationMs: 0,
        error: null,
      },
    );
    assert.equal(t3.error.code, "E_STEP_FAILED");
    assert.equal(t3.from, "1.0.0");
    assert.deepEqual([t4.error, t4.stepsApplied, t4.from], [null, 0, null]);
    // stderr: JSON events, one target:done per finished target.
    const events = run.stderr
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      events.filter((e) => e.event === "target:done").map((e) => `${e.name}:${e.status}`),
      ["t1:upgraded", "t2:upgraded", "t3:failed"],
    );
  });

  test("--on-error continue with --concurrency 3: every other target upgraded, exit 1", async () => {
    const folder = await tenants(6);
    breakTenant(folder, "t2");
    const run = await upgradeAll(folder, "--on-error", "continue", "--concurrency", "3");
    assert.equal(run.code, 1, run.stderr);
    assert.deepEqual(statuses(run), {
      t1: "upgraded",
      t2: "failed",
      t3: "upgraded",
      t4: "upgraded",
      t5: "upgraded",
      t6: "upgraded",
    });
    assert.equal(run.json().run, run.json().results.length === 6 ? run.json().run : null);
  });

  test("a failed canary skips the rest whatever --on-error says", async () => {
    const folder = await tenants(5);
    breakTenant(folder, "t1");
    const run = await upgradeAll(folder, "--canary", "2", "--on-error", "continue");
    assert.equal(run.code, 1, run.stderr);
    // Within the canary --on-error continue goes on to t2; after it nothing starts.
    assert.deepEqual(statuses(run), {
      t1: "failed",
      t2: "upgraded",
      t3: "skipped",
      t4: "skipped",
      t5: "skipped",
    });
  });

  test("canaries that succeed let the rest start; a second run finds every target current", async () => {
    const folder = await tenants(4);
    const run = await project.run(
      "upgrade",
      "--targets",
      `${folder}/*.db`,
      "--yes",
      "--canary",
      "2",
      "--concurrency",
      "2",
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /upgraded\s+4\b/);
    assert.match(run.stderr, /\[4\/4\] t\d upgraded 1\.0\.0 → 1\.1\.0, 1 step/);
    const again = await upgradeAll(folder);
    assert.equal(again.code, 0);
    assert.deepEqual(Object.values(statuses(again)), ["current", "current", "current", "current"]);
  });

  test("a refused target (AHEAD) and none failed: exit 3", async () => {
    const folder = await tenants(3);
    const stamp = await project.run(
      "init",
      "--database",
      `sqlite:${folder}/t2.db`,
      "--version",
      "2.0.0",
      "--force",
    );
    assert.equal(stamp.code, 0, stamp.stderr);
    const run = await upgradeAll(folder, "--on-error", "continue");
    assert.equal(run.code, 3, run.stderr);
    assert.deepEqual(statuses(run), { t1: "upgraded", t2: "refused", t3: "upgraded" });
    assert.equal(run.json().results[1].error.code, "E_AHEAD");
  });

  test("bad rollout values, --database with --targets, rollout flags without targets: E_USAGE", async () => {
    const folder = await tenants(1);
    for (const args of [
      ["--concurrency", "0"],
      ["--canary", "-1"],
      ["--on-error", "maybe"],
      ["--database", "sqlite:x.db"],
    ]) {
      const run = await upgradeAll(folder, ...args);
      assert.equal(run.code, 1, args.join(" "));
      assert.equal(run.json().error.code, "E_USAGE", args.join(" "));
    }
    const alone = await project.run(
      "upgrade",
      "--database",
      `sqlite:${folder}/t1.db`,
      "--concurrency",
      "2",
      "--json",
    );
    assert.equal(alone.json().error.code, "E_USAGE");
    const empty = await project.run("upgrade", "--targets", "nothing/*.db", "--yes", "--json");
    assert.equal(empty.json().error.code, "E_TARGETS_EMPTY");
  });
});

describe("the run record and --resume (SQLite and PostgreSQL)", () => {
  let pg: TestDatabase | undefined;
  before(async () => {
    if (notSelected("postgres") !== null) return;
    const fixture = await fixtureNamed("postgres");
    if ((await fixture.unavailable()) === null) pg = await fixture.create();
  });
  after(() => pg?.cleanup());

  test("0600, no credential, written per target; --resume runs only the failed and skipped ones", async (t) => {
    if (!pg) return t.skip("no PostgreSQL");
    const folder = `fleet-${++counter}`;
    for (const n of [1, 2, 3]) project.write(`${folder}/t${n}.db`, "");
    const pgUrl = pg.url.replace("postgres://postgres@", `postgres://postgres:${PASSWORD}@`);
    const list = `${folder}/targets.txt`;
    project.write(
      list,
      `# the fleet\n${["t1", "t2", "t3"].map((n) => `sqlite:${folder}/${n}.db`).join("\n")}\npg=${pgUrl}\n`,
    );
    const base = await project.run(
      "upgrade",
      "--targets",
      list,
      "--from-version",
      "0.0.0",
      "--app-version",
      "1.0.0",
      "--yes",
      "--json",
    );
    assert.equal(base.code, 0, base.stdout + base.stderr);
    breakTenant(folder, "t2");

    const failed = await project.run("upgrade", "--targets", list, "--yes", "--json");
    assert.equal(failed.code, 1);
    const { run: id, record } = failed.json();
    assert.match(id, /^\d{8}-\d{6}-[0-9a-f]{8}$/);
    assert.equal(record, join(project.dir, ".lockstep", "runs", `${id}.json`));
    assert.equal(statSync(record).mode & 0o777, 0o600);
    const text = readFileSync(record, "utf8");
    assert.ok(!text.includes(PASSWORD), "the record holds the password");
    assert.ok(!failed.stdout.includes(PASSWORD) && !failed.stderr.includes(PASSWORD));
    const saved = JSON.parse(text);
    assert.deepEqual(saved.source, { targets: list });
    assert.equal(saved.command, "upgrade");
    assert.equal(saved.appVersion, "1.1.0");
    assert.ok(saved.finishedAt);
    assert.deepEqual(saved.results, failed.json().results);
    assert.deepEqual(statuses(failed), { t1: "upgraded", t2: "failed", t3: "skipped", pg: "skipped" });
    assert.match(saved.results[3].database, /postgres:\/\/postgres:\*\*\*@/);

    mendTenant(folder, "t2");
    const resumed = await project.run("upgrade", "--resume", id, "--yes", "--json");
    assert.equal(resumed.code, 0, resumed.stderr);
    const out = resumed.json();
    assert.notEqual(out.run, id);
    assert.equal(out.resumes, id);
    assert.deepEqual(
      out.results.map((r: { name: string; status: string; resumed: boolean }) => [
        r.name,
        r.status,
        r.resumed,
      ]),
      [
        ["t1", "upgraded", false],
        ["t2", "upgraded", true],
        ["t3", "upgraded", true],
        ["pg", "upgraded", true],
      ],
    );
    // Only those three ran: one target:done event each.
    const done = resumed.stderr
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l))
      .filter((e) => e.event === "target:done");
    assert.deepEqual(
      done.map((e) => e.name),
      ["t2", "t3", "pg"],
    );
    assert.equal(JSON.parse(readFileSync(out.record, "utf8")).resumes, id);

    const status = await project.run("status", "--targets", list, "--json");
    assert.equal(status.code, 0, status.stdout);
    assert.deepEqual(status.json().histogram, [{ stamp: "1.1.0", count: 4 }]);
  });

  test("--resume of an unknown run: E_RUN_NOT_FOUND naming the recent runs", async () => {
    const run = await project.run("upgrade", "--resume", "20990101-000000-beef", "--yes");
    assert.equal(run.code, 1);
    assert.match(run.stderr, /E_RUN_NOT_FOUND/);
    assert.match(run.stderr, /recent runs: \d{8}-/);
  });
});

describe("status, plan and init with targets", () => {
  test("status: problems first, a histogram by stamp, exit 2 pending and 3 with one unreachable", async () => {
    const folder = await tenants(3);
    await project.run("upgrade", "--database", `sqlite:${folder}/t3.db`, "--yes");
    const list = `${folder}/list.txt`;
    project.write(list, `t1=sqlite:${folder}/t1.db\nt2=sqlite:${folder}/t2.db\nt3=sqlite:${folder}/t3.db\n`);
    const pending = await project.run("status", "--targets", list, "--json");
    assert.equal(pending.code, 2, pending.stdout);
    assert.deepEqual(
      pending.json().results.map((r: { name: string; status: string }) => `${r.name}:${r.status}`),
      ["t1:UPGRADE_PENDING", "t2:UPGRADE_PENDING", "t3:CURRENT"],
    );
    assert.deepEqual(pending.json().histogram, [
      { stamp: "1.1.0", count: 1 },
      { stamp: "1.0.0", count: 2 },
    ]);
    writeFileSync(join(project.dir, list), `gone=postgres://u:${PASSWORD}@127.0.0.1:9/nope\n`, { flag: "a" });
    const human = await project.run("status", "--targets", list);
    assert.equal(human.code, 3);
    assert.match(human.stdout.split("\n")[1] ?? "", /gone\s+UNREACHABLE/);
    assert.ok(!human.stdout.includes(PASSWORD));
    const plan = await project.run("plan", "--targets", list, "--json");
    assert.equal(plan.code, 3);
    assert.deepEqual(
      plan.json().groups.map((g: { stamp: string; targets: string[] }) => [g.stamp, g.targets]),
      [
        ["1.0.0", ["t1", "t2"]],
        ["1.1.0", ["t3"]],
      ],
    );
  });

  test("init stamps new, empty tenants and refuses one holding data or already stamped", async () => {
    const folder = `fleet-${++counter}`;
    for (const n of ["a", "b", "c"]) project.write(`${folder}/${n}.db`, "");
    const db = new Database(join(project.dir, folder, "b.db"));
    db.exec("create table customers (id integer)");
    db.close();
    const run = await project.run("init", "--targets", `${folder}/*.db`, "--on-error", "continue", "--json");
    assert.equal(run.code, 3, run.stderr);
    assert.deepEqual(statuses(run), { a: "upgraded", b: "refused", c: "upgraded" });
    assert.equal(run.json().results[1].error.code, "E_INIT_NOT_EMPTY");
    assert.equal(run.json().results[0].to, "1.1.0");
    const again = await project.run(
      "init",
      "--targets",
      `${folder}/*.db`,
      "--on-error",
      "continue",
      "--json",
    );
    assert.equal(again.json().results[0].error.code, "E_ALREADY_INITIALISED");
  });
});

describe("the config's databases", () => {
  test("an async databases() is the fleet; --database picks one; a throwing one is E_TARGETS_INVALID", async () => {
    const folder = await tenants(2);
    const dir = `cfg-${counter}`;
    project.write(
      `${dir}/lockstep.config.mjs`,
      `export default { steps: "../upgrades", appVersion: "1.1.0", databases: async () => ["sqlite:../${folder}/t1.db", { name: "second", url: "sqlite:../${folder}/t2.db" }] };\n`,
    );
    const run = await project.run("upgrade", "--config", `${dir}/lockstep.config.mjs`, "--yes", "--json");
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.deepEqual(statuses(run), { t1: "upgraded", second: "upgraded" });
    assert.deepEqual(JSON.parse(readFileSync(run.json().record, "utf8")).source, { config: true });
    const one = await project.run(
      "history",
      "--config",
      `${dir}/lockstep.config.mjs`,
      "--database",
      `sqlite:${folder}/t1.db`,
    );
    assert.equal(one.code, 0, one.stderr);
    project.write(
      `${dir}/broken.config.mjs`,
      `export default { steps: "../upgrades", databases: () => { throw new Error("catalog is down"); } };\n`,
    );
    const broken = await project.run("status", "--config", `${dir}/broken.config.mjs`, "--json");
    assert.equal(broken.code, 1);
    assert.equal(broken.json().error.code, "E_TARGETS_INVALID");
    assert.match(broken.json().error.message, /catalog is down/);
  });
});

test("--help of status, plan, upgrade and init names the fleet options", async () => {
  for (const command of ["status", "plan", "upgrade", "init"]) {
    const run = await project.run(command, "--help");
    assert.match(run.stdout, /--targets <file\|glob>/, command);
    assert.match(run.stdout, /--concurrency <n>/, command);
    assert.match(run.stdout, /Many databases/, command);
    if (command === "upgrade" || command === "init") {
      assert.match(run.stdout, /--canary <n>/);
      assert.match(run.stdout, /--on-error <stop\|continue>/);
    }
  }
  assert.match((await project.run("upgrade", "--help")).stdout, /--resume <run-id>/);
});

test("a target failing at its second step counts the first as applied (it stays applied)", async () => {
  const dir = `partial-${++counter}`;
  project.write(`${dir}/steps/1.0.0-a-table.sql`, "create table a (x integer);\n");
  project.write(`${dir}/steps/1.0.0-b-broken.sql`, "insert into nowhere values (1);\n");
  project.write(`${dir}/new.db`, "");
  project.write(
    `${dir}/lockstep.config.mjs`,
    'export default { steps: "./steps", appVersion: "1.0.0", stepsBuildSchema: true, databases: ["sqlite:./new.db"] };\n',
  );
  const run = await project.run("upgrade", "--config", `${dir}/lockstep.config.mjs`, "--yes", "--json");
  assert.equal(run.code, 1, run.stderr);
  const [result] = run.json().results;
  assert.deepEqual(
    [result.name, result.status, result.from, result.to, result.stepsApplied, result.error.code],
    ["new", "failed", null, "1.0.0", 1, "E_STEP_FAILED"],
  );
});

test("SIGINT during a fleet upgrade starts no more databases: the rest skipped, the record finished, exit 130", async () => {
  const dir = `sigint-${++counter}`;
  const step = (name: string, ms: number) =>
    `import { upgrade } from "lockstep";
export default upgrade({ version: "1.0.0", name: "${name}", async run() { await new Promise((r) => setTimeout(r, ${ms})); } });
`;
  project.write(`${dir}/steps/1.0.0-a-quick.mjs`, step("a-quick", 0));
  project.write(`${dir}/steps/1.0.0-b-slow.mjs`, step("b-slow", 800));
  for (const n of [1, 2, 3, 4]) project.write(`${dir}/t${n}.db`, "");
  project.write(
    `${dir}/lockstep.config.mjs`,
    'export default { steps: "./steps", appVersion: "1.0.0", stepsBuildSchema: true };\n',
  );
  const child = spawn(process.execPath, [CLI, "upgrade", "--targets", "*.db", "--yes", "--json"], {
    cwd: join(project.dir, dir),
    env: { ...process.env, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let sent = false;
  const run = await collectRun(child, (stderr, proc) => {
    if (!sent && stderr.includes('"event":"target:done"')) {
      sent = true;
      // t2 has applied its quick step and sleeps in its slow one.
      setTimeout(() => proc.kill("SIGINT"), 250);
    }
  });
  assert.equal(run.code, 130, run.stderr);
  const out = run.json();
  assert.deepEqual(statuses(run), { t1: "upgraded", t2: "failed", t3: "skipped", t4: "skipped" });
  // In flight: stopped at its safe point, its first step applied (and kept).
  assert.deepEqual([out.results[1].error.code, out.results[1].stepsApplied], ["E_INTERRUPTED_BY_SIGNAL", 1]);
  const record = JSON.parse(readFileSync(out.record, "utf8"));
  assert.ok(record.finishedAt);
  assert.deepEqual(record.results, out.results);
});

test("check on a config of many databases: the steps checked, a list's entries checked, databases() never called", async () => {
  const dir = `check-${++counter}`;
  project.write(
    `${dir}/list.config.mjs`,
    'export default { steps: "../upgrades", databases: ["sqlite:./a.db", { name: "b", url: "postgres://u:pw@h/b" }] };\n',
  );
  project.write(
    `${dir}/catalog.config.mjs`,
    'export default { steps: "../upgrades", databases: async () => { throw new Error("the catalog was queried"); } };\n',
  );
  project.write(
    `${dir}/bad.config.mjs`,
    'export default { steps: "../upgrades", databases: ["ftp://h/x"] };\n',
  );
  const list = await project.run("check", "--config", `${dir}/list.config.mjs`, "--json");
  assert.equal(list.code, 0, list.stdout);
  assert.equal(list.json().database, "2 databases");
  assert.deepEqual(list.json().steps, ["1.0.0/items", "1.1.0/extra"]);
  const catalog = await project.run("check", "--config", `${dir}/catalog.config.mjs`, "--json");
  assert.equal(catalog.code, 0, catalog.stdout);
  const bad = await project.run("check", "--config", `${dir}/bad.config.mjs`, "--json");
  assert.equal(bad.code, 1);
  assert.equal(bad.json().problems[0].code, "E_TARGETS_INVALID");
});

test("a target's warning names the target (a line; a warning event with --json)", async () => {
  const dir = `warn-${++counter}`;
  project.write(`${dir}/steps/1.0.0-a.sql`, "create table a (x integer);\n");
  project.write(`${dir}/w1.db`, "");
  project.write(
    `${dir}/lockstep.config.mjs`,
    'export default { steps: "./steps", appVersion: "1.1.0", stepsBuildSchema: true, databases: ["sqlite:./w1.db"] };\n',
  );
  const config = `${dir}/lockstep.config.mjs`;
  assert.equal((await project.run("upgrade", "--config", config, "--yes")).code, 0);
  // A step below the stamp that never ran: the upgrade warns it is skipped (out of order).
  project.write(`${dir}/steps/1.0.5-late.sql`, "create table late (x integer);\n");
  const human = await project.run("upgrade", "--config", config, "--yes", "--app-version", "1.2.0");
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stderr, /w1 warning: step 1\.0\.5\/late is below the stamp/);
  const json = await project.run("upgrade", "--config", config, "--yes", "--app-version", "1.3.0", "--json");
  const events = json.stderr
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.ok(
    events.some((e) => e.event === "warning" && e.name === "w1" && /1\.0\.5\/late/.test(e.message)),
    json.stderr,
  );
});

test("upgrade --targets --backup=DIR backs up each database before its first write", async () => {
  const folder = await tenants(2);
  const run = await upgradeAll(folder, `--backup=${folder}/backups`);
  assert.equal(run.code, 0, run.stderr);
  const manifests = readdirSync(join(project.dir, folder, "backups")).filter((f) =>
    f.endsWith(".manifest.json"),
  );
  assert.deepEqual(manifests.map((f) => f.split("-")[0]).sort(), ["t1", "t2"]);
  for (const f of manifests) {
    const manifest = JSON.parse(readFileSync(join(project.dir, folder, "backups", f), "utf8"));
    assert.equal(manifest.stampBefore, "1.0.0");
  }
});
