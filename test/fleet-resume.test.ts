/**
 * `upgrade --resume <id>` through the built CLI, on SQLite files: a target the run left behind
 * and the targets no longer list is reported failed (never dropped), the run's own options
 * (--target-version, --backup …) are applied again and a conflicting one refused, and the
 * targets are read again from the folder the run was started in. `npm run build` first.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import { type CliRun, lockstep, makeProject, type Project } from "./support/cli.js";

let project: Project;
let counter = 0;
before(() => {
  project = makeProject({
    "package.json": JSON.stringify({ name: "app", version: "1.2.0", type: "module" }),
    "lockstep.config.mjs": 'export default { steps: "./upgrades", lease: { ttlMs: 3000, pollMs: 20 } };\n',
    "upgrades/1.0.0-items.sql": "create table items (id integer primary key, name text);\n",
    "upgrades/1.1.0-extra.sql": "alter table items add column extra text;\n",
    "upgrades/1.2.0-more.sql": "alter table items add column more text;\n",
  });
});
after(() => project.cleanup());

/** Tenants t1…t`count` at 1.0.0 in a folder of their own, listed in `<folder>/list.txt`. */
async function tenants(count: number): Promise<{ folder: string; list: string }> {
  const folder = `resume-${++counter}`;
  const names = Array.from({ length: count }, (_, i) => `t${i + 1}`);
  for (const n of names) project.write(`${folder}/${n}.db`, "");
  const list = `${folder}/list.txt`;
  project.write(list, names.map((n) => `sqlite:${folder}/${n}.db`).join("\n"));
  const run = await project.run(
    "upgrade",
    "--targets",
    list,
    "--from-version",
    "0.0.0",
    "--target-version",
    "1.0.0",
    "--yes",
  );
  assert.equal(run.code, 0, run.stderr);
  return { folder, list };
}

function sqlite(folder: string, name: string, sql: string): void {
  const db = new Database(join(project.dir, folder, `${name}.db`));
  db.exec(sql);
  db.close();
}

/** Makes tenant `name`'s 1.1.0 step fail (its column exists already), or mends it. */
const breakTenant = (folder: string, name: string) =>
  sqlite(folder, name, "alter table items add column extra text");
const mendTenant = (folder: string, name: string) =>
  sqlite(folder, name, "alter table items drop column extra");

function table(run: CliRun): string[] {
  return run.json().results.map((r: { name: string; status: string; to: string | null }) => {
    return `${r.name}:${r.status}:${r.to}`;
  });
}

describe("upgrade --resume", () => {
  test("a target added to the targets after the run is left alone, with a warning", async () => {
    const { folder, list } = await tenants(2);
    breakTenant(folder, "t2");
    const first = await project.run("upgrade", "--targets", list, "--yes", "--json");
    assert.equal(first.code, 1, first.stderr);
    mendTenant(folder, "t2");
    project.write(`${folder}/new.db`, "");
    project.write(list, `${readFileSync(join(project.dir, list), "utf8")}\nsqlite:${folder}/new.db\n`);
    const resumed = await project.run("upgrade", "--resume", first.json().run, "--yes", "--json");
    assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
    assert.deepEqual(table(resumed), ["t1:upgraded:1.2.0", "t2:upgraded:1.2.0"]);
    assert.match(resumed.stderr, /not in run \S+, left alone: new/);
    const fresh = new Database(join(project.dir, folder, "new.db"), { readonly: true });
    const tables = fresh.prepare("select name from sqlite_master where type = 'table'").all();
    fresh.close();
    assert.deepEqual(tables, [], "nothing was written to the database the run never had");
  });

  test("the run's canary still gates a resume: a canary that did not succeed runs first, even a refused one", async () => {
    const { folder, list } = await tenants(4);
    // t2, a canary, is ahead of the code: refused (E_AHEAD), so the canary failed.
    const ahead = await project.run(
      "init",
      "--database",
      `sqlite:${folder}/t2.db`,
      "--force",
      "--version",
      "9.0.0",
    );
    assert.equal(ahead.code, 0, ahead.stderr);
    const first = await project.run(
      "upgrade",
      "--targets",
      list,
      "--canary",
      "2",
      "--on-error",
      "continue",
      "--yes",
      "--json",
    );
    assert.equal(first.code, 3, first.stderr);
    assert.deepEqual(table(first), [
      "t1:upgraded:1.2.0",
      "t2:refused:null",
      "t3:skipped:null",
      "t4:skipped:null",
    ]);
    const resumed = await project.run("upgrade", "--resume", first.json().run, "--yes", "--json");
    assert.notEqual(resumed.code, 0, resumed.stdout);
    const byName = new Map(
      resumed.json().results.map((r: { name: string; status: string; resumed: boolean }) => [r.name, r]),
    );
    assert.equal((byName.get("t2") as { resumed: boolean }).resumed, true, "the refused canary ran again");
    assert.equal((byName.get("t2") as { status: string }).status, "refused");
    for (const name of ["t3", "t4"]) {
      assert.equal(
        (byName.get(name) as { status: string }).status,
        "skipped",
        `${name} waits for the canary`,
      );
    }
  });

  test("a target left failed or skipped that the targets no longer list is reported failed, exit 1", async () => {
    const { folder, list } = await tenants(3);
    breakTenant(folder, "t2");
    const first = await project.run("upgrade", "--targets", list, "--yes", "--json");
    assert.equal(first.code, 1, first.stderr);
    assert.deepEqual(table(first), ["t1:upgraded:1.2.0", "t2:failed:1.2.0", "t3:skipped:null"]);
    const id = first.json().run;
    // t2 and t3 taken off the list: neither is upgraded, and the resume must say so.
    project.write(list, `sqlite:${folder}/t1.db\n`);
    const resumed = await project.run("upgrade", "--resume", id, "--yes", "--json");
    assert.equal(resumed.code, 1, resumed.stdout + resumed.stderr);
    const results = resumed.json().results;
    assert.deepEqual(
      results.map((r: { name: string; status: string }) => `${r.name}:${r.status}`),
      ["t1:upgraded", "t2:failed", "t3:failed"],
    );
    for (const r of results.slice(1)) {
      assert.equal(r.error.code, "E_TARGETS_INVALID");
      assert.match(r.error.message, new RegExp(`"${r.name}".*run ${id}.*add it back.*fresh run`));
    }
    const record = JSON.parse(readFileSync(resumed.json().record, "utf8"));
    assert.deepEqual(
      record.results.map((r: { name: string; status: string }) => `${r.name}:${r.status}`),
      ["t1:upgraded", "t2:failed", "t3:failed"],
    );
    const human = await project.run("upgrade", "--resume", id, "--yes");
    assert.equal(human.code, 1);
    assert.match(human.stdout, /t2\b.*E_TARGETS_INVALID/);
    assert.match(human.stdout, /t3\b.*E_TARGETS_INVALID/);
  });
});

describe("upgrade --resume applies its run's options again", () => {
  test("--target-version and --backup: the resumed targets stop where the run's others did, each backed up", async () => {
    const { folder, list } = await tenants(3);
    breakTenant(folder, "t2");
    const backups = `${folder}/bk`;
    const first = await project.run(
      "upgrade",
      "--targets",
      list,
      "--target-version",
      "1.1.0",
      `--backup=${backups}`,
      "--yes",
      "--json",
    );
    assert.equal(first.code, 1, first.stderr);
    assert.deepEqual(table(first), ["t1:upgraded:1.1.0", "t2:failed:1.1.0", "t3:skipped:null"]);
    const id = first.json().run;
    mendTenant(folder, "t2");

    for (const [args, given, recorded] of [
      [["--target-version", "1.2.0"], /--target-version 1\.2\.0/, /--target-version 1\.1\.0/],
      [["--force"], /--force/, /no --force/],
      [["--backup=elsewhere"], /--backup elsewhere/, new RegExp(`--backup ${backups}`)],
    ] as const) {
      const refused = await project.run("upgrade", "--resume", id, ...args, "--yes", "--json");
      assert.equal(refused.code, 1, args.join(" "));
      const { error } = refused.json();
      assert.equal(error.code, "E_USAGE", args.join(" "));
      assert.match(error.message, given);
      assert.match(error.message, recorded);
      assert.match(error.message, new RegExp(id));
    }
    // Given again with the same value: no conflict.
    const resumed = await project.run(
      "upgrade",
      "--resume",
      id,
      "--target-version",
      "1.1.0",
      "--yes",
      "--json",
    );
    assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
    assert.deepEqual(table(resumed), ["t1:upgraded:1.1.0", "t2:upgraded:1.1.0", "t3:upgraded:1.1.0"]);
    const manifests = readdirSync(join(project.dir, backups)).filter((f) => f.endsWith(".manifest.json"));
    assert.deepEqual(manifests.map((f) => f.split("-")[0]).sort(), ["t1", "t2", "t3"]);
    const record = JSON.parse(readFileSync(resumed.json().record, "utf8"));
    assert.equal(record.options.targetVersion, "1.1.0");
    assert.equal(record.options.backup, backups);
  });

  test("a run on older code (--app-version) is finished at that version, with a warning", async () => {
    const { folder, list } = await tenants(2);
    breakTenant(folder, "t1");
    const first = await project.run(
      "upgrade",
      "--targets",
      list,
      "--app-version",
      "1.1.0",
      "--yes",
      "--json",
    );
    assert.equal(first.code, 1, first.stderr);
    assert.deepEqual(table(first), ["t1:failed:1.1.0", "t2:skipped:null"]);
    mendTenant(folder, "t1");
    // The code is 1.2.0 now; the run was taking its databases to 1.1.0.
    const resumed = await project.run("upgrade", "--resume", first.json().run, "--yes", "--json");
    assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
    assert.deepEqual(table(resumed), ["t1:upgraded:1.1.0", "t2:upgraded:1.1.0"]);
    assert.match(resumed.stderr, /ran code 1\.1\.0, this is 1\.2\.0/);
  });
});

test("--resume from another folder reads a relative --targets from the folder the run ran in", async () => {
  const { folder, list } = await tenants(2);
  breakTenant(folder, "t1");
  const first = await project.run("upgrade", "--targets", list, "--yes", "--json");
  assert.equal(first.code, 1, first.stderr);
  assert.equal(JSON.parse(readFileSync(first.json().record, "utf8")).cwd, project.dir);
  mendTenant(folder, "t1");
  const elsewhere = join(project.dir, folder);
  const resumed = await lockstep(
    elsewhere,
    ["upgrade", "--resume", first.json().run, "--config", "../lockstep.config.mjs", "--yes", "--json"],
    { LOCKSTEP_RUNS_DIR: join(project.dir, ".lockstep", "runs") },
  );
  assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
  assert.deepEqual(table(resumed), ["t1:upgraded:1.2.0", "t2:upgraded:1.2.0"]);
  assert.ok(!existsSync(join(elsewhere, folder)), "nothing made under the other folder");
});
