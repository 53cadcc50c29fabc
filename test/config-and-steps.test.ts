/**
 * The config and the steps folder as a new user meets them (issue 9 items 13, 16, 22-25,
 * 27, 28): the built CLI in temp projects, and the library where the boundary is a function.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import Database from "better-sqlite3";
import { loadDriver } from "../src/adapters/load-driver.js";
import { SqliteAdapter } from "../src/adapters/sqlite/index.js";
import { sqlFileStep } from "../src/config/sql-file-step.js";
import { isLockstepError } from "../src/core/errors.js";
import { checkDatabase } from "../src/guard/index.js";
import { lockstep, makeProject, markingStep, type Project } from "./support/cli.js";
import { loadFixtures } from "./support/fixtures.js";
import { describeFixture } from "./support/harness.js";

const PACKAGE = JSON.stringify({ name: "app", version: "1.1.0", type: "module" });
const CONFIG = `import { defineConfig } from "lockstep";
export default defineConfig({ database: "sqlite:./app.db", steps: "./upgrades" });
`;

const projects: Project[] = [];
after(() => {
  for (const project of projects) project.cleanup();
});
function project(files: Record<string, string>): Project {
  const made = makeProject({ "package.json": PACKAGE, ...files });
  projects.push(made);
  return made;
}

describe("a module whose top-level await never settles (item 13)", () => {
  const HANG = "await new Promise(() => {});\n";
  test("in a step file: status and upgrade exit 1 with E_UNSETTLED naming the file", async () => {
    const p = project({
      "lockstep.config.ts": CONFIG,
      "upgrades/1.1.0-hangs.ts": `${HANG}${markingStep("1.1.0", "hangs")}`,
    });
    for (const args of [["status"], ["upgrade", "--yes"]]) {
      const run = await p.run(...args, "--json");
      assert.equal(run.code, 1, `${args}: ${run.stderr}`);
      assert.equal(run.json().error.code, "E_UNSETTLED");
      assert.match(run.json().error.message, /1\.1\.0-hangs\.ts/);
    }
    const human = await p.run("status");
    assert.equal(human.code, 1);
    assert.match(human.stderr, /error E_UNSETTLED: .*1\.1\.0-hangs\.ts never finished loading/);
  });
  test("in the config: E_UNSETTLED naming the config", async () => {
    const p = project({ "lockstep.config.ts": `${HANG}${CONFIG}`, "upgrades/.keep": "" });
    const run = await p.run("status", "--json");
    assert.equal(run.code, 1);
    assert.equal(run.json().error.code, "E_UNSETTLED");
    assert.match(run.json().error.message, /lockstep\.config\.ts/);
  });
});

describe("a TypeScript config with a top-level await in a CommonJS project", () => {
  test("E_CONFIG_INVALID whose hint names the two ways out, not only the compiler's words", async () => {
    const made = makeProject({
      "lockstep.config.ts": `const steps = await Promise.resolve([]);\n${CONFIG}`,
      "upgrades/.keep": "",
    });
    projects.push(made);
    const run = await made.run("status", "--json");
    assert.equal(run.code, 1, run.stderr);
    const { error } = run.json();
    assert.equal(error.code, "E_CONFIG_INVALID");
    assert.match(error.hint, /lockstep\.config\.mts/);
    assert.match(error.hint, /"type": "module"/);
  });
});

describe("lockstep new in a fresh project (item 22)", () => {
  test("creates the config's steps folder and writes the step there", async () => {
    const p = project({ "lockstep.config.ts": CONFIG });
    const run = await p.run("new", "1.1.0", "first", "--json");
    assert.equal(run.code, 0, run.stderr + run.stdout);
    assert.ok(existsSync(join(p.dir, "upgrades", "1.1.0-first.ts")));
    const status = await p.run("status", "--json");
    assert.equal(status.json().error.code, "E_DATABASE_NOT_FOUND");
  });

  test("a step above the code version is written with a warning that plan and upgrade leave it out", async () => {
    const p = project({ "lockstep.config.ts": CONFIG });
    const above = await p.run("new", "1.4.0", "later");
    assert.equal(above.code, 0, above.stderr);
    assert.ok(existsSync(join(p.dir, "upgrades", "1.4.0-later.ts")));
    assert.match(
      above.stderr,
      /warning: 1\.4\.0 is above the code version 1\.1\.0 \("version" in .*package\.json\)/,
    );
    assert.match(above.stderr, /--app-version 1\.4\.0/);
    const atCode = await p.run("new", "1.1.0", "now");
    assert.equal(atCode.code, 0, atCode.stderr);
    assert.doesNotMatch(atCode.stderr, /warning/);
    const explicit = await p.run("new", "1.4.0", "later-too", "--app-version", "1.4.0");
    assert.doesNotMatch(explicit.stderr, /warning/);
  });
});

describe("misspelt names are coded with 'did you mean' (item 23)", () => {
  test("an unknown config key", async () => {
    const p = project({
      "lockstep.config.ts": CONFIG.replace('steps: "./upgrades"', 'steps: "./upgrades", appversion: "1.1.0"'),
      "upgrades/a.ts": markingStep("1.1.0", "a"),
    });
    const run = await p.run("status", "--json");
    assert.equal(run.code, 1);
    assert.equal(run.json().error.code, "E_CONFIG_INVALID");
    assert.match(run.json().error.message, /"appversion" \(did you mean "appVersion"\?\)/);
  });
  test("an unknown lease key", async () => {
    const p = project({
      "lockstep.config.json": JSON.stringify({
        database: "sqlite:./app.db",
        steps: [],
        lease: { ttl: 5000 },
      }),
    });
    const run = await p.run("status", "--json");
    assert.equal(run.json().error.code, "E_CONFIG_INVALID");
    assert.match(run.json().error.message, /"ttl" \(did you mean "ttlMs"\?\)/);
  });
  test("an unknown CLI option: E_USAGE with the closest option", async () => {
    const p = project({ "lockstep.config.ts": CONFIG });
    const run = await p.run("upgrade", "--forse");
    assert.equal(run.code, 1);
    assert.match(run.stderr, /error E_USAGE: unknown option '--forse'/);
    assert.match(run.stderr, /Did you mean --force\?/);
    assert.match(run.stderr, /→ run `lockstep upgrade --help`/);
  });
  test("usage errors with --json are JSON on stdout; an unknown command names --help", async () => {
    const p = project({ "lockstep.config.ts": CONFIG });
    const run = await p.run("upgrade", "--json", "--dry-rum");
    assert.equal(run.code, 1);
    assert.equal(run.json().error.code, "E_USAGE");
    assert.match(run.json().error.hint, /lockstep upgrade --help/);
    const wat = await p.run("xyzzy");
    assert.match(wat.stderr, /error E_USAGE: unknown command 'xyzzy'\n {2}→ run `lockstep --help`/);
  });
  test("a misspelt check policy is refused before anything is written", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lockstep-policy-"));
    try {
      const filename = join(dir, "app.db");
      new Database(filename).close();
      const adapter = new SqliteAdapter({ filename });
      await assert.rejects(
        checkDatabase({ adapter, appVersion: "1.0.0", steps: [], policy: "upgrad" as "upgrade" }),
        (error: unknown) =>
          isLockstepError(error, "E_INVALID_OPTION") && /did you mean "upgrade"/.test(error.message),
      );
      const db = new Database(filename, { readonly: true });
      const tables = db.prepare("select name from sqlite_master").all();
      db.close();
      assert.deepEqual(tables, [], "nothing stamped");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test("a missing driver's hint names the package, not the module subpath (item 24)", async () => {
  await assert.rejects(loadDriver("lockstep-no-such-driver/promise", "MySQL"), (error: unknown) => {
    assert.ok(isLockstepError(error, "E_DRIVER_MISSING"));
    assert.equal(error.hint, "npm install lockstep-no-such-driver");
    return true;
  });
});

describe("--verbose and LOCKSTEP_DEBUG=1 print the failing step's stack (item 25)", () => {
  const failing = `import { upgrade } from "lockstep";

function explode(): never {
  throw new Error("boom in a helper");
}
export default upgrade({ version: "1.1.0", name: "bad", run() { explode(); } });
`;
  test("the stack names the step file's line and shipped lockstep sources", async () => {
    const p = project({ "lockstep.config.ts": CONFIG, "upgrades/1.1.0-bad.ts": failing });
    assert.equal((await p.run("init", "--version", "1.0.0")).code, 0);
    const quiet = await p.run("upgrade", "--yes");
    assert.equal(quiet.code, 1);
    assert.doesNotMatch(quiet.stderr, /\n\s+at /);
    assert.match(quiet.stderr, /--verbose/);
    for (const run of [
      await p.run("upgrade", "--yes", "--verbose"),
      await lockstep(p.dir, ["upgrade", "--yes", "--json"], { LOCKSTEP_DEBUG: "1" }),
    ]) {
      assert.equal(run.code, 1);
      assert.match(run.stderr, /caused by: Error: boom in a helper/);
      assert.match(run.stderr, /at explode \(.*upgrades\/1\.1\.0-bad\.ts:4:9\)/);
      const frames = [...run.stderr.matchAll(/\((\/[^()]+\.[mc]?[jt]s):\d+:\d+\)/g)].map(
        (m) => m[1] as string,
      );
      const own = frames.filter((f) => f.includes("/src/core/"));
      assert.ok(own.length > 0, `lockstep frames map to its TypeScript sources:\n${run.stderr}`);
      for (const file of own) assert.ok(existsSync(file), `${file} exists`);
    }
  });
});

describe("the steps folder (items 16 and 27)", () => {
  test("a file it cannot load is refused, naming it", async () => {
    const p = project({
      "lockstep.config.ts": CONFIG,
      "upgrades/1.1.0-a.ts": markingStep("1.1.0", "a"),
      "upgrades/notes.txt": "todo",
    });
    const run = await p.run("status", "--json");
    assert.equal(run.code, 1);
    assert.equal(run.json().error.code, "E_CONFIG_INVALID");
    assert.match(run.json().error.message, /upgrades\/notes\.txt is not a step file/);
  });
  test("an SQL file not named <version>-<name>.sql is refused, naming it", async () => {
    const p = project({ "lockstep.config.ts": CONFIG, "upgrades/add-index.sql": "select 1;" });
    const run = await p.run("status", "--json");
    assert.equal(run.json().error.code, "E_INVALID_STEP");
    assert.match(run.json().error.message, /add-index\.sql/);
  });
  test("a step error names its file", async () => {
    const p = project({
      "lockstep.config.ts": CONFIG,
      "upgrades/a.ts": markingStep("1.1.0", "a"),
      "upgrades/b.ts": `export default { version: "1.1.0", title: "no run" };\n`,
    });
    const run = await p.run("status", "--json");
    assert.equal(run.json().error.code, "E_INVALID_STEP");
    assert.match(run.json().error.message, /upgrades\/b\.ts/);
    p.write("upgrades/b.ts", markingStep("1.1.0", "a"));
    const duplicate = await p.run("status", "--json");
    assert.equal(duplicate.json().error.code, "E_DUPLICATE_STEP");
    assert.match(duplicate.json().error.message, /upgrades\/a\.ts and .*upgrades\/b\.ts/);
  });
  test("a default-exported plain function is refused without being called; a class is a step", async () => {
    const p = project({
      "lockstep.config.ts": CONFIG,
      "upgrades/a.ts": `import { writeFileSync } from "node:fs";
export default function migrate() { writeFileSync("ran.txt", "the body ran"); }
`,
    });
    const run = await p.run("status", "--json");
    assert.equal(run.json().error.code, "E_INVALID_STEP");
    assert.match(run.json().error.message, /upgrades\/a\.ts: not a step: the function migrate/);
    assert.ok(!existsSync(join(p.dir, "ran.txt")), "the function was not called");
    p.write(
      "upgrades/a.ts",
      `import { registerUpgrade } from "lockstep";
export default class Steps {
  @registerUpgrade("1.1.0")
  first() {}
}
`,
    );
    const ok = await p.run("status", "--json", "--database", "sqlite:./other.db");
    assert.equal(ok.json().error.code, "E_DATABASE_NOT_FOUND", ok.stdout);
  });
  test('"steps" naming a file: E_CONFIG_INVALID', async () => {
    const p = project({
      "lockstep.config.ts": CONFIG.replace("./upgrades", "./steps.ts"),
      "steps.ts": markingStep("1.1.0", "a"),
    });
    const run = await p.run("status", "--json");
    assert.equal(run.json().error.code, "E_CONFIG_INVALID");
    assert.match(run.json().error.message, /steps\.ts, which is a file, not a folder/);
  });
  test("an SQL step's checksum follows its content", () => {
    const dir = mkdtempSync(join(tmpdir(), "lockstep-sql-"));
    try {
      const path = join(dir, "1.4.0-add-index.sql");
      writeFileSync(path, "create index a on t (a);\n");
      const first = sqlFileStep(path);
      assert.equal(first.version, "1.4.0");
      assert.equal(first.name, "add-index");
      writeFileSync(path, "create index a on t (a, b);\n");
      assert.notEqual(sqlFileStep(path).checksum, first.checksum);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

for (const fixture of await loadFixtures()) {
  await describeFixture(fixture, describe, () => {
    test("SQL-file steps run in the step's transaction, or are refused on MongoDB (item 27)", async () => {
      const database = await fixture.create();
      try {
        const sql = [
          ...(fixture.name === "sqlite"
            ? ["create table if not exists marks (id integer primary key autoincrement, mark text not null);"]
            : []),
          "-- two statements, each ending its line with ;",
          "insert into marks (mark) values ('sql-1');",
          "insert into marks (mark)",
          "  values ('sql-2');",
        ].join("\n");
        const p = project({ "lockstep.config.ts": CONFIG, "upgrades/1.1.0-marks.sql": sql });
        const init = await p.run("init", "--version", "1.0.0", "--database", database.url, "--json");
        assert.equal(init.code, 0, init.stdout + init.stderr);
        const run = await p.run("upgrade", "--yes", "--json", "--database", database.url);
        if (fixture.name === "mongodb") {
          assert.equal(run.code, 3, run.stdout + run.stderr);
          assert.equal(run.json().error.code, "E_PRECONDITION_FAILED");
          assert.match(run.json().error.message + JSON.stringify(run.json()), /does not run SQL/);
          return;
        }
        assert.equal(run.code, 0, run.stdout + run.stderr);
        assert.deepEqual(await database.marks(), ["sql-1", "sql-2"]);
        const status = await p.run("status", "--json", "--database", database.url);
        assert.equal(status.json().status, "CURRENT");
      } finally {
        await database.cleanup();
      }
    });
  });
}

describe("a relative SQLite path in the config (item 28)", () => {
  test("resolves against the config's folder; --database against the working directory", async () => {
    const p = project({
      "deploy/lockstep.config.ts": CONFIG,
      "deploy/upgrades/1.1.0-a.ts": markingStep("1.1.0", "a"),
    });
    const init = await p.run("init", "--config", "deploy/lockstep.config.ts");
    assert.equal(init.code, 0, init.stderr);
    assert.ok(existsSync(join(p.dir, "deploy", "app.db")));
    assert.ok(!existsSync(join(p.dir, "app.db")));
    const flag = await p.run(
      "init",
      "--config",
      "deploy/lockstep.config.ts",
      "--database",
      "sqlite:./here.db",
    );
    assert.equal(flag.code, 0, flag.stderr);
    assert.ok(existsSync(join(p.dir, "here.db")));
  });
});

describe("TypeScript files compiled once and kept by content hash (issue 13 item 4)", () => {
  const CACHE = join("node_modules", ".cache", "lockstep");
  const kept = (p: Project) => readdirSync(join(p.dir, CACHE)).filter((f) => f.endsWith(".mjs"));
  const helper = (name: string) => `export const stepName = ${JSON.stringify(name)};\n`;
  const step = `import { upgrade } from "lockstep";
import { stepName } from "./helpers/name.js";
export default upgrade({ version: "1.1.0", name: stepName, run() {} });
`;
  test("the kept copy serves a second run; an edit to the file or a local file it imports rebuilds it", async () => {
    const p = project({
      "lockstep.config.ts": CONFIG,
      "upgrades/1.1.0-step.ts": step,
      "upgrades/helpers/name.ts": helper("first"),
      "upgrades/1.2.0-alone.ts": markingStep("1.2.0", "alone"),
    });
    assert.equal((await p.run("init", "--version", "1.0.0")).code, 0);
    const first = await p.run("status", "--json", "--app-version", "1.2.0");
    assert.deepEqual(first.json().pending, ["1.1.0/first", "1.2.0/alone"], first.stderr);
    const files = kept(p);
    assert.deepEqual(
      files.map((f) => f.replace(/-\w+-\w+\.mjs$/, "")).sort(),
      ["1.1.0-step", "1.2.0-alone", "lockstep.config", "name"],
      `the config, both steps and the helper the first imports are kept: ${files}`,
    );
    assert.deepEqual((await p.run("status", "--json")).json().pending, ["1.1.0/first"]);
    assert.deepEqual(kept(p), files, "nothing rebuilt");
    for (const file of files) {
      assert.equal(statSync(join(p.dir, CACHE, file)).mode & 0o777, 0o600, `${file} is the user's alone`);
    }
    assert.equal(statSync(join(p.dir, CACHE)).mode & 0o777, 0o700);

    p.write("upgrades/helpers/name.ts", helper("second"));
    assert.deepEqual((await p.run("status", "--json")).json().pending, ["1.1.0/second"]);
    p.write("upgrades/1.2.0-alone.ts", markingStep("1.2.0", "renamed"));
    const edited = await p.run("status", "--json", "--app-version", "1.2.0");
    assert.deepEqual(edited.json().pending, ["1.1.0/second", "1.2.0/renamed"]);
    // An earlier copy stays (another importer's kept copy may still import it): both are there.
    assert.equal(kept(p).length, 6, "each edited file has its earlier copy and the new one");
  });
  test("checksums are the same through the kept copies for steps tsx compiled (clashing names, namespaces, a computed import)", async () => {
    const twin = (name: string) => `import { upgrade } from "lockstep";
import { join } from "node:path";
const table = ${JSON.stringify(name)};
export default upgrade({ version: "1.1.0", name: table, async run() { return { counts: { n: join(table, "x").length } }; } });
`;
    const p = project({
      "lockstep.config.ts": `import { defineConfig } from "lockstep";
import a from "./steps/a.ts";
import b from "./steps/b.ts";
export default defineConfig({ database: "sqlite:./app.db", steps: [a, b] });
`,
      "steps/a.ts": twin("a"),
      "steps/b.ts": twin("b"),
    });
    const folder = project({
      "lockstep.config.ts": CONFIG,
      "upgrades/1.1.0-a.ts": twin("a"),
      "upgrades/1.1.0-computed.ts": `import { upgrade } from "lockstep";
const which = "./data/" + "names.ts";
const { names } = await import(which);
export default upgrade({ version: "1.1.0", name: names[0], run() {} });
`,
      "upgrades/data/names.ts": 'export const names = ["computed"];\n',
      // A namespace import: bundle mode would rename the local join (join2), tsx does not.
      "upgrades/1.1.0-ns.ts": `import { upgrade } from "lockstep";
import * as path from "node:path";
export default upgrade({ version: "1.1.0", name: "ns", async run() { const join = (a: string) => a; return { counts: { n: path.join(join("a"), "x").length } }; } });
`,
    });
    for (const q of [p, folder]) {
      q.write("node_modules/.cache", "");
      assert.equal((await q.run("init", "--version", "1.0.0")).code, 0);
      const applied = await q.run("upgrade", "--yes");
      assert.equal(applied.code, 0, applied.stderr);
      rmSync(join(q.dir, "node_modules", ".cache"));
      const status = await q.run("status", "--json", "--strict");
      assert.equal(status.code, 0, status.stdout + status.stderr);
      assert.deepEqual(status.json().checksumMismatches, []);
    }
    assert.deepEqual(
      kept(p)
        .map((f) => f.replace(/-\w+-\w+\.mjs$/, ""))
        .sort(),
      ["a", "b", "lockstep.config"],
      "the config and the two step files it imports (clashing names and all) are kept, each on its own",
    );
    assert.deepEqual(
      kept(folder)
        .map((f) => f.replace(/-\w+-\w+\.mjs$/, ""))
        .sort(),
      ["1.1.0-a", "lockstep.config"],
      "the steps with a computed import() or a namespace import are left to tsx",
    );
  });
  test("a step applied through tsx has the same checksum through the kept copy", async () => {
    const p = project({
      "lockstep.config.ts": CONFIG,
      "upgrades/1.1.0-mark.ts": markingStep("1.1.0", "mark", "// a comment\n  transaction: true,"),
    });
    // A file where the cache folder would go: nothing can be kept, so tsx loads the files.
    p.write("node_modules/.cache", "");
    assert.equal((await p.run("init", "--version", "1.0.0")).code, 0);
    assert.equal((await p.run("upgrade", "--yes")).code, 0);
    rmSync(join(p.dir, "node_modules", ".cache"));
    const status = await p.run("status", "--json", "--strict");
    assert.equal(status.code, 0, status.stdout);
    assert.deepEqual(status.json().checksumMismatches, []);
    assert.equal(kept(p).length, 2, "both files were kept this time");
  });
  test("kept copies share a local module as tsx does; an edit two imports down rebuilds; a cycle goes to tsx", async () => {
    const seenBy = (name: string) => `import { upgrade } from "lockstep";
import { seen } from "./shared/seen.ts";
seen.push(${JSON.stringify(name)});
export default upgrade({ version: "1.1.0", name: \`${name}-\${seen.length}\`, run() {} });
`;
    const p = project({
      "lockstep.config.ts": `import { defineConfig } from "lockstep";
import first from "./steps/first.ts";
import more from "./more.ts";
export default defineConfig({ database: "sqlite:./app.db", steps: [first, ...more] });
`,
      "more.ts": 'import b from "./steps/b.ts";\nexport default [b];\n',
      "steps/first.ts": `import { upgrade } from "lockstep";
import { label } from "./deep/label.ts";
export default upgrade({ version: "1.1.0", name: label, run() {} });
`,
      "steps/deep/label.ts": 'import { word } from "./word.ts";\nexport const label = "first-" + word;\n',
      "steps/deep/word.ts": 'export const word = "one";\n',
      "steps/a.ts": seenBy("a"),
      "steps/b.ts": seenBy("b"),
      "steps/shared/seen.ts": "export const seen: string[] = [];\n",
      "upgrades/.keep": "",
    });
    assert.equal((await p.run("init", "--version", "1.0.0")).code, 0);
    const pending = async () => (await p.run("status", "--json")).json().pending as string[];
    assert.deepEqual(await pending(), ["1.1.0/first-one", "1.1.0/b-1"]);
    p.write("steps/deep/word.ts", 'export const word = "two";\n');
    assert.deepEqual(await pending(), ["1.1.0/first-two", "1.1.0/b-1"], "an edit two imports down is seen");
    p.write("steps/deep/word.ts", 'export const word = "one";\n');
    assert.deepEqual(
      await pending(),
      ["1.1.0/first-one", "1.1.0/b-1"],
      "and back: the earlier copies are still there",
    );
    p.write("steps/deep/word.ts", 'export const word = "two";\n');
    // Two step files importing one module share it, as under tsx.
    p.write(
      "more.ts",
      'import a from "./steps/a.ts";\nimport b from "./steps/b.ts";\nexport default [a, b];\n',
    );
    assert.deepEqual(await pending(), ["1.1.0/first-two", "1.1.0/a-1", "1.1.0/b-2"]);
    // A cycle: first imports cycle.ts, which imports first.
    p.write(
      "steps/cycle.ts",
      'import first from "./first.ts";\nexport const cycled = first !== undefined;\n',
    );
    p.write("steps/deep/word.ts", 'import "../cycle.ts";\nexport const word = "three";\n');
    assert.deepEqual((await pending())[0], "1.1.0/first-three", "a cycle loads through tsx");
    const names = kept(p).map((f) => f.replace(/-\w+-\w+\.mjs$/, ""));
    for (const name of ["more", "a", "b", "seen"])
      assert.ok(names.includes(name), `${name} is kept: ${names}`);
  });

  test("a file that reads its own location (import.meta.url) is left to tsx and sees its own URL", async () => {
    const p = project({
      "lockstep.config.ts": CONFIG,
      "upgrades/1.1.0-here.ts": `import { upgrade } from "lockstep";
if (!new URL(import.meta.url).pathname.endsWith("/upgrades/1.1.0-here.ts")) throw new Error(\`import.meta.url is \${import.meta.url}\`);
export default upgrade({ version: "1.1.0", name: "here", run() {} });
`,
    });
    assert.equal((await p.run("init", "--version", "1.0.0")).code, 0);
    const run = await p.run("status", "--json");
    assert.deepEqual(run.json().pending, ["1.1.0/here"], run.stdout);
    assert.deepEqual(
      kept(p).map((f) => f.replace(/-\w+-\w+\.mjs$/, "")),
      ["lockstep.config"],
    );
  });
  test("a syntax error in a kept config's source is E_CONFIG_INVALID naming the file", async () => {
    const p = project({ "lockstep.config.ts": CONFIG, "upgrades/.keep": "" });
    assert.equal((await p.run("init", "--version", "1.0.0")).code, 0, "the config loads and is kept");
    p.write("lockstep.config.ts", `${CONFIG}export const broken = ;\n`);
    const run = await p.run("status", "--json");
    assert.equal(run.code, 1);
    assert.equal(run.json().error.code, "E_CONFIG_INVALID");
    assert.match(
      run.json().error.message,
      /cannot load config .*lockstep\.config\.ts: .*lockstep\.config\.ts:3/s,
    );
  });
});
