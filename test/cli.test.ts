import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import { lockstep, makeProject, markingStep, type Project, projectMarks, REPO } from "./support/cli.js";

const CONFIG = `import { defineConfig } from "lockstep";
export default defineConfig({ database: "sqlite:./app.db", steps: "./upgrades" });
`;

const marks = projectMarks;

describe("lockstep --help", () => {
  const commands = [
    "status",
    "plan",
    "upgrade",
    "init",
    "history",
    "unlock",
    "resolve",
    "new",
    "check",
    "wait",
    "rehearse",
  ];
  test("the program lists every command and the exit codes", async () => {
    const run = await lockstep(REPO, ["--help"]);
    assert.equal(run.code, 0);
    for (const command of commands) assert.match(run.stdout, new RegExp(`\\b${command}\\b`));
    assert.match(run.stdout, /Exit codes/);
  });
  for (const command of commands) {
    test(`${command} --help describes its options`, async () => {
      const run = await lockstep(REPO, [command, "--help"]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, new RegExp(`Usage: lockstep ${command}`));
      for (const option of ["--config", "--database", "--json"])
        assert.ok(run.stdout.includes(option), option);
    });
  }
  test("init keeps the seed's name as an alias", async () => {
    const run = await lockstep(REPO, ["initialise-schema-version", "--help"]);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /--version <version>/);
  });
  test("--version prints lockstep's version", async () => {
    const run = await lockstep(REPO, ["--version"]);
    const { version } = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { version: string };
    assert.equal(run.stdout.trim(), version);
  });
});

describe("a project's life through the CLI", () => {
  let project: Project;
  before(() => {
    project = makeProject({
      "package.json": JSON.stringify({ name: "app", version: "1.0.0", type: "module" }),
      "lockstep.config.ts": CONFIG,
      "upgrades/1.0.0-first.ts": markingStep("1.0.0", "first"),
    });
  });
  after(() => project.cleanup());

  test("status on a database that does not exist: E_DATABASE_NOT_FOUND, nothing created", async () => {
    const run = await project.run("status", "--json");
    assert.equal(run.code, 1);
    assert.equal(run.json().error.code, "E_DATABASE_NOT_FOUND");
    assert.match(run.json().error.hint, /lockstep init/);
    assert.ok(!readdirSync(project.dir).includes("app.db"));
  });

  test("upgrade on an existing unstamped database refuses (never guess) with exit 3", async () => {
    const missing = await project.run("upgrade", "--yes", "--json");
    assert.equal(missing.json().error.code, "E_DATABASE_NOT_FOUND");
    const db = new Database(join(project.dir, "app.db"));
    db.exec("create table users (name text)");
    db.close();
    const run = await project.run("upgrade", "--yes", "--json");
    assert.equal(run.code, 3);
    assert.equal(run.json().error.code, "E_UNINITIALISED");
    const status = await project.run("status", "--json");
    assert.equal(status.code, 3);
    assert.equal(status.json().status, "UNINITIALISED");
  });

  test("init stamps the package.json version and runs nothing", async () => {
    const run = await project.run("init", "--json");
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.json().version, "1.0.0");
    const status = await project.run("status", "--json");
    assert.equal(status.code, 0);
    assert.equal(status.json().status, "CURRENT");
    assert.equal(status.json().database.server.startsWith("SQLite"), true);
    assert.deepEqual(marks(project), []);
  });

  test("init again refuses with exit 3 unless --force", async () => {
    const run = await project.run("init", "--json");
    assert.equal(run.code, 3);
    assert.equal(run.json().error.code, "E_ALREADY_INITIALISED");
    const forced = await project.run("init", "--force", "--version", "1.0.0", "--json");
    assert.equal(forced.code, 0);
  });

  test("new writes a step file from the template, and it loads", async () => {
    const run = await project.run("new", "1.1.0", "add-thing", "--json");
    assert.equal(run.code, 0, run.stderr);
    const file = run.json().file as string;
    assert.equal(file, join(project.dir, "upgrades", "1.1.0-add-thing.ts"));
    assert.match(readFileSync(file, "utf8"), /version: "1\.1\.0"/);
    const again = await project.run("new", "1.1.0", "add-thing", "--json");
    assert.equal(again.code, 1);
    assert.equal(again.json().error.code, "E_STEP_FILE_EXISTS");
    const bad = await project.run("new", "1.1", "x", "--json");
    assert.equal(bad.json().error.code, "E_INVALID_VERSION");
    // Replace the template's body with a marking step for the next tests.
    writeFileSync(file, markingStep("1.1.0", "add-thing"));
    writeFileSync(
      join(project.dir, "package.json"),
      JSON.stringify({ name: "app", version: "1.1.0", type: "module" }),
    );
  });

  test("status and plan exit 2 when work is pending, with the plan as JSON", async () => {
    const status = await project.run("status", "--json");
    assert.equal(status.code, 2);
    assert.equal(status.json().status, "UPGRADE_PENDING");
    assert.deepEqual(status.json().pending, ["1.1.0/add-thing"]);
    const plan = await project.run("plan", "--json");
    assert.equal(plan.code, 2);
    assert.deepEqual(
      plan.json().steps.map((s: { id: string }) => s.id),
      ["1.1.0/add-thing"],
    );
    assert.equal(plan.json().steps[0].atomic, true);
    const human = await project.run("plan");
    assert.match(human.stdout, /Planned upgrade: 1\.0\.0 -> 1\.1\.0/);
    assert.ok(!human.stdout.includes("\u001b["), "no colour without a TTY");
  });

  test("upgrade without a TTY needs --yes, and writes nothing without it", async () => {
    const run = await project.run("upgrade", "--json");
    assert.equal(run.code, 1);
    assert.equal(run.json().error.code, "E_CONFIRMATION_REQUIRED");
    assert.deepEqual(marks(project), []);
  });

  test("upgrade --dry-run writes nothing", async () => {
    const before = readFileSync(join(project.dir, "app.db"));
    const run = await project.run("upgrade", "--dry-run", "--json");
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.json().outcome, "dry-run");
    assert.deepEqual(readFileSync(join(project.dir, "app.db")), before);
  });

  test("upgrade --yes applies the step and reports it per step", async () => {
    const run = await project.run("upgrade", "--yes", "--json");
    assert.equal(run.code, 0, run.stderr);
    const result = run.json();
    assert.equal(result.outcome, "upgraded");
    assert.deepEqual(
      result.results.map((r: { step: string; status: string }) => [r.step, r.status]),
      [["1.1.0/add-thing", "applied"]],
    );
    assert.deepEqual(result.results[0].counts, { marked: 1 });
    assert.deepEqual(marks(project), ["1.1.0/add-thing"]);
    const status = await project.run("status", "--json");
    assert.equal(status.json().status, "CURRENT");
    assert.equal(status.json().stamp, "1.1.0");
  });

  test("a second upgrade is a no-op with exit 0", async () => {
    const run = await project.run("upgrade", "--yes", "--json");
    assert.equal(run.code, 0);
    assert.equal(run.json().outcome, "current");
    assert.deepEqual(marks(project), ["1.1.0/add-thing"]);
  });

  test("history lists every action with who and where", async () => {
    const run = await project.run("history", "--json");
    assert.equal(run.code, 0);
    const entries = run.json() as { action: string; host: string; pid: number; lockstepVersion: string }[];
    assert.deepEqual(
      entries.map((e) => e.action),
      ["init", "init", "step_started", "step_succeeded", "upgrade_finished"],
    );
    for (const e of entries) {
      assert.ok(e.host && e.pid > 0 && e.lockstepVersion);
    }
    const human = await project.run("history", "--limit", "1");
    assert.match(human.stdout, /upgrade_finished/);
    assert.doesNotMatch(human.stdout, /step_started/);
  });

  test("unlock with no lease, and resolve with nothing interrupted", async () => {
    const unlock = await project.run("unlock", "--json");
    assert.equal(unlock.code, 0);
    assert.equal(unlock.json().broken, null);
    const resolve = await project.run("resolve", "1.1.0/add-thing", "--applied", "--json");
    assert.equal(resolve.code, 1);
    assert.equal(resolve.json().error.code, "E_NOT_INTERRUPTED");
    // A missing flag is a usage error, like commander's own, not a config problem.
    const neither = await project.run("resolve", "1.1.0/add-thing", "--json");
    assert.equal(neither.json().error.code, "E_USAGE");
    assert.equal(neither.code, 1);
  });

  test("a database ahead of the code: status and upgrade exit 3 with E_AHEAD", async () => {
    assert.equal((await project.run("init", "--force", "--version", "2.0.0")).code, 0);
    const status = await project.run("status", "--json");
    assert.equal(status.code, 3);
    assert.equal(status.json().status, "AHEAD");
    const run = await project.run("upgrade", "--yes", "--json");
    assert.equal(run.code, 3);
    assert.equal(run.json().error.code, "E_AHEAD");
    assert.equal((await project.run("init", "--force", "--version", "1.1.0")).code, 0);
  });

  test("a held lease: upgrade --no-wait exits 3 with E_LOCK_HELD; unlock refuses a live lease", async () => {
    writeFileSync(
      join(project.dir, "package.json"),
      JSON.stringify({ name: "app", version: "1.2.0", type: "module" }),
    );
    const db = new Database(join(project.dir, "app.db"));
    db.prepare(
      "insert into lockstep_lease (id, owner, host, pid, os_user, acquired_at, expires_at) values (1, 'elsewhere/1/1/x', 'elsewhere', 1, 'ops', ?, ?)",
    ).run(new Date().toISOString(), Date.now() + 600_000);
    db.close();
    const status = await project.run("status", "--json");
    assert.equal(status.json().status, "UPGRADING");
    assert.equal(status.code, 3);
    const run = await project.run("upgrade", "--yes", "--no-wait", "--json");
    assert.equal(run.code, 3);
    assert.equal(run.json().error.code, "E_LOCK_HELD");
    const unlock = await project.run("unlock", "--json");
    assert.equal(unlock.code, 3);
    assert.equal(unlock.json().error.code, "E_LOCK_HELD");
    const forced = await project.run("unlock", "--force", "--json");
    assert.equal(forced.code, 0);
    assert.equal(forced.json().broken.owner, "elsewhere/1/1/x");
    const history = (await project.run("history", "--json")).json() as { action: string }[];
    assert.equal(history.at(-1)?.action, "unlock");
  });
});

describe("errors a user can cause", () => {
  test("no config: E_CONFIG_NOT_FOUND naming the files looked for", async () => {
    const project = makeProject({});
    try {
      const run = await project.run("status", "--json");
      assert.equal(run.code, 1);
      assert.equal(run.json().error.code, "E_CONFIG_NOT_FOUND");
      assert.match(run.json().error.message, /lockstep\.config\.ts/);
      const human = await project.run("status");
      assert.match(human.stderr, /error E_CONFIG_NOT_FOUND/);
      assert.match(human.stderr, /→/);
    } finally {
      project.cleanup();
    }
  });

  test("a config with a syntax error: E_CONFIG_INVALID", async () => {
    const project = makeProject({ "lockstep.config.ts": "export default {{ broken" });
    try {
      const run = await project.run("status", "--json");
      assert.equal(run.code, 1);
      assert.equal(run.json().error.code, "E_CONFIG_INVALID");
    } finally {
      project.cleanup();
    }
  });

  test("a malformed version: E_INVALID_VERSION naming the string and where it came from", async () => {
    const project = makeProject({
      "package.json": JSON.stringify({ version: "1.0" }),
      "lockstep.config.ts": CONFIG,
      "upgrades/a.ts": markingStep("1.0.0", "a"),
    });
    try {
      const run = await project.run("status", "--json");
      assert.equal(run.json().error.code, "E_INVALID_VERSION");
      assert.match(run.json().error.message, /"1\.0"/);
      assert.match(run.json().error.message, /appVersion/);
      project.write("package.json", JSON.stringify({ version: "1.0.0" }));
      project.write("upgrades/b.ts", markingStep("one", "b"));
      const step = await project.run("status", "--json");
      assert.equal(step.json().error.code, "E_INVALID_VERSION");
      assert.match(step.json().error.message, /step "b"/);
    } finally {
      project.cleanup();
    }
  });

  test("two steps with one identity: E_DUPLICATE_STEP", async () => {
    const project = makeProject({
      "package.json": JSON.stringify({ version: "1.0.0" }),
      "lockstep.config.ts": CONFIG,
      "upgrades/a.ts": markingStep("1.0.0", "same"),
      "upgrades/b.ts": markingStep("v1.0.0", "same"),
    });
    try {
      const run = await project.run("status", "--json");
      assert.equal(run.code, 1);
      assert.equal(run.json().error.code, "E_DUPLICATE_STEP");
    } finally {
      project.cleanup();
    }
  });

  test("a file that is not an SQLite database: E_DATABASE_UNREADABLE, file untouched", async () => {
    const project = makeProject({
      "package.json": JSON.stringify({ version: "1.0.0" }),
      "lockstep.config.ts": CONFIG,
      "upgrades/a.ts": markingStep("1.0.0", "a"),
      "app.db": "this is not a database, it is a text file that happens to be called app.db\n".repeat(20),
    });
    try {
      const before = readFileSync(join(project.dir, "app.db"));
      for (const args of [["status"], ["upgrade", "--yes"]]) {
        const run = await project.run(...args, "--json");
        assert.equal(run.code, 1);
        assert.equal(run.json().error.code, "E_DATABASE_UNREADABLE");
      }
      assert.deepEqual(readFileSync(join(project.dir, "app.db")), before);
    } finally {
      project.cleanup();
    }
  });

  test("an unknown database scheme: E_DATABASE_URL, with the password redacted", async () => {
    const project = makeProject({
      "package.json": JSON.stringify({ version: "1.0.0" }),
      "lockstep.config.ts": CONFIG,
    });
    try {
      const run = await project.run("status", "--json", "--database", "oracle://admin:hunter2@db/x");
      assert.equal(run.json().error.code, "E_DATABASE_URL");
      assert.doesNotMatch(run.stdout + run.stderr, /hunter2/);
    } finally {
      project.cleanup();
    }
  });

  test("a step that throws: exit 1, E_STEP_FAILED naming the step, per-step results", async () => {
    const project = makeProject({
      "package.json": JSON.stringify({ version: "1.2.0" }),
      "lockstep.config.ts": CONFIG,
      "upgrades/a.ts": markingStep("1.1.0", "good"),
      "upgrades/b.ts": `import { upgrade } from "lockstep";
export default upgrade({ version: "1.2.0", name: "bad", run() { throw new Error("boom: column missing"); } });
`,
    });
    try {
      assert.equal((await project.run("init", "--version", "1.0.0")).code, 0);
      const run = await project.run("upgrade", "--yes", "--json");
      assert.equal(run.code, 1);
      const error = run.json().error;
      assert.equal(error.code, "E_STEP_FAILED");
      assert.match(error.message, /1\.2\.0\/bad/);
      assert.match(error.message, /boom: column missing/);
      assert.deepEqual(
        error.results.map((r: { step: string; status: string }) => [r.step, r.status]),
        [
          ["1.1.0/good", "applied"],
          ["1.2.0/bad", "failed"],
        ],
      );
      const status = (await project.run("status", "--json")).json();
      assert.equal(status.stamp, "1.1.0");
      assert.deepEqual(status.pending, ["1.2.0/bad"]);
    } finally {
      project.cleanup();
    }
  });

  test("a failed precondition: the plan is printed, exit 3 before any prompt, nothing written", async () => {
    const project = makeProject({
      "package.json": JSON.stringify({ version: "1.1.0" }),
      "lockstep.config.ts": CONFIG,
      "upgrades/a.ts": markingStep(
        "1.1.0",
        "needs-clean-data",
        `conditions: [noRowsWhere("sqlite_master", "name = 'lockstep_state'", { skippable: true })],`,
      ).replace('import { upgrade } from "lockstep";', 'import { noRowsWhere, upgrade } from "lockstep";'),
    });
    try {
      assert.equal((await project.run("init", "--version", "1.0.0")).code, 0);
      const run = await project.run("upgrade");
      assert.equal(run.code, 3);
      assert.match(run.stdout, /Planned upgrade/);
      assert.match(run.stdout, /FAILED/);
      assert.match(run.stderr, /E_PRECONDITION_FAILED/);
      assert.match(run.stderr, /--force/);
      const forced = await project.run("upgrade", "--yes", "--force", "--json");
      assert.equal(forced.code, 0, forced.stderr);
      assert.equal(forced.json().preconditions[0].status, "skipped");
    } finally {
      project.cleanup();
    }
  });
});
