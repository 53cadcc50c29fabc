/**
 * Bounded disk on SQLite: `backup: { keep: 2 }` prunes the oldest backups of one database and
 * only of that one; a crash-looping `upgrade --backup` takes no second backup for the same
 * (stamp, target) while the first one still matches its sha256, and takes a new one once it
 * does not; no backup is taken while another upgrader holds the lease.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { basename, join } from "node:path";
import { describe, test } from "node:test";
import Database from "better-sqlite3";
import { adapterFromUrl } from "../src/adapters/from-url.js";
import { MANIFEST_SUFFIX, readManifest } from "../src/backup/manifest.js";
import { makeProject, markingStep } from "./support/cli.js";

const config = (keep: string) => `import { defineConfig } from "lockstep";
export default defineConfig({ database: "sqlite:./app.db", steps: "./upgrades", backup: { dir: "bk"${keep} } });
`;

const BOOM = `import { upgrade } from "lockstep";
export default upgrade({ version: "1.1.0", name: "boom", run() { throw new Error("boom"); } });
`;

function manifests(dir: string) {
  return readdirSync(dir)
    .filter((n) => n.endsWith(MANIFEST_SUFFIX))
    .map((n) => readManifest(join(dir, n)))
    .sort((a, b) => a.startedAt.localeCompare(b.startedAt));
}

describe("backup retention", () => {
  test("keep: 2 prunes the oldest backups of this database, not another database's", async () => {
    const project = makeProject({
      "package.json": JSON.stringify({ name: "app", version: "1.0.0", type: "module" }),
      "lockstep.config.ts": config(", keep: 2"),
      "upgrades/1.0.0-first.ts": markingStep("1.0.0", "first"),
    });
    try {
      assert.equal((await project.run("init")).code, 0);
      assert.equal((await project.run("init", "--database", "sqlite:./other.db")).code, 0);
      assert.equal((await project.run("backup", "--database", "sqlite:./other.db")).code, 0);
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const run = await project.run("backup", "--json");
        assert.equal(run.code, 0, run.stdout + run.stderr);
        ids.push(run.json().id);
        if (i === 2) assert.equal(run.json().pruned.length, 1);
      }
      const left = manifests(join(project.dir, "bk"));
      const mine = left.filter((m) => m.database === "sqlite:./app.db").map((m) => m.id);
      assert.deepEqual(mine, ids.slice(1), "the oldest is gone");
      assert.equal(
        left.filter((m) => m.database === "sqlite:./other.db").length,
        1,
        "another database's backup stays",
      );
      assert.equal(readdirSync(join(project.dir, "bk")).length, 6, "three backups, three manifests");
      const history = (await project.run("history", "--json")).json() as {
        action: string;
        details: { id: string };
      }[];
      assert.deepEqual(
        history.filter((e) => e.action === "backup").map((e) => e.details.id),
        ids,
      );
      // A forced restore over a database that holds data asks first; without a terminal, --yes.
      const newest = left.filter((m) => m.database === "sqlite:./app.db").at(-1)!;
      const manifestPath = join(project.dir, "bk", `${basename(newest.file, ".sqlite")}${MANIFEST_SUFFIX}`);
      const unasked = await project.run("restore", manifestPath, "--force", "--json");
      assert.equal(unasked.json().error.code, "E_CONFIRMATION_REQUIRED");
      const forced = await project.run("restore", manifestPath, "--force", "--yes", "--json");
      assert.equal(forced.code, 0, forced.stdout + forced.stderr);
      assert.equal(forced.json().wiped, true);
      // The database is now as the newest backup found it: before that backup's own history entry.
      const restored = (await project.run("history", "--json")).json() as { action: string }[];
      assert.equal(restored.filter((e) => e.action === "backup").length, 2);
    } finally {
      project.cleanup();
    }
  });

  test("a crash-looping upgrade --backup reuses the backup of the same (stamp, target)", async () => {
    const project = makeProject({
      "package.json": JSON.stringify({ name: "app", version: "1.1.0", type: "module" }),
      "lockstep.config.ts": config(""),
      "upgrades/1.0.0-first.ts": markingStep("1.0.0", "first"),
      "upgrades/1.1.0-boom.ts": BOOM,
    });
    try {
      assert.equal((await project.run("init", "--version", "1.0.0")).code, 0);
      const dir = join(project.dir, "bk");
      const first = await project.run("upgrade", "--yes");
      assert.equal(first.code, 1, first.stdout + first.stderr);
      assert.match(first.stderr, /E_STEP_FAILED/);
      const second = await project.run("upgrade", "--yes");
      assert.equal(second.code, 1);
      assert.match(second.stdout, /already exists and matches its sha256: reused, none taken/);
      assert.equal(manifests(dir).length, 1);
      const [taken] = manifests(dir);
      assert.equal(taken?.stampBefore, "1.0.0");
      assert.equal(taken?.target, "1.1.0");

      // A backup that no longer matches its sha256 is not trusted: the next run takes a new one.
      appendFileSync(taken!.file, "x");
      const manifestPath = join(dir, `${basename(taken!.file).replace(/\.sqlite$/, "")}${MANIFEST_SUFFIX}`);
      const corrupt = await project.run("restore", manifestPath, "--json", "--database", "sqlite:./fresh.db");
      assert.equal(corrupt.code, 1);
      assert.equal(corrupt.json().error.code, "E_BACKUP_CORRUPT");
      assert.ok(!existsSync(join(project.dir, "fresh.db")), "nothing restored from a damaged backup");
      const third = await project.run("upgrade", "--yes");
      assert.equal(third.code, 1);
      assert.doesNotMatch(third.stdout, /reused/);
      assert.equal(manifests(dir).length, 2);
      const history = (await project.run("history", "--json")).json() as {
        action: string;
        details: { id: string; reused?: boolean };
      }[];
      const backups = history.filter((e) => e.action === "backup");
      assert.deepEqual(
        backups.map((e) => e.details.reused === true),
        [false, true, false],
      );
    } finally {
      project.cleanup();
    }
  });

  test("the app wrote since the backup of the same (stamp, target): a new backup, never the stale one", async () => {
    const project = makeProject({
      "package.json": JSON.stringify({ name: "app", version: "1.1.0", type: "module" }),
      "lockstep.config.ts": config(""),
      "upgrades/1.0.0-first.ts": markingStep("1.0.0", "first"),
      "upgrades/1.1.0-boom.ts": BOOM,
    });
    try {
      assert.equal((await project.run("init", "--version", "1.0.0")).code, 0);
      assert.equal((await project.run("upgrade", "--yes")).code, 1);
      // The app keeps serving on 1.0.0 and writes, then the release is retried.
      const db = new Database(join(project.dir, "app.db"));
      db.exec(
        "create table notes (id integer primary key, text text); insert into notes (text) values ('new')",
      );
      db.close();
      const retry = await project.run("upgrade", "--yes");
      assert.equal(retry.code, 1);
      assert.doesNotMatch(retry.stdout, /reused/);
      assert.equal(manifests(join(project.dir, "bk")).length, 2);
    } finally {
      project.cleanup();
    }
  });

  test("the manifest's native restore command works as written, with a space in the path", async () => {
    const project = makeProject({
      "package.json": JSON.stringify({ name: "app", version: "1.0.0", type: "module" }),
      "lockstep.config.ts": `export default { database: "sqlite:./sp ace/app.db", steps: [] };\n`,
    });
    try {
      mkdirSync(join(project.dir, "sp ace"));
      assert.equal((await project.run("init", "--version", "1.0.0")).code, 0);
      const backup = await project.run("backup", "--to", "bk", "--json");
      assert.equal(backup.code, 0, backup.stdout + backup.stderr);
      const [manifest] = manifests(join(project.dir, "bk"));
      rmSync(join(project.dir, "sp ace", "app.db"));
      const native = spawnSync("sh", ["-c", manifest!.restore.native], {
        cwd: project.dir,
        encoding: "utf8",
      });
      assert.equal(native.status, 0, native.stderr);
      const status = await project.run("status", "--json");
      assert.equal(status.json().stamp, "1.0.0", status.stdout + status.stderr);
    } finally {
      project.cleanup();
    }
  });

  test("no backup while another upgrader holds the lease: E_LOCK_HELD, nothing written", async () => {
    const project = makeProject({
      "package.json": JSON.stringify({ name: "app", version: "1.0.0", type: "module" }),
      "lockstep.config.ts": config(""),
      "upgrades/1.0.0-first.ts": markingStep("1.0.0", "first"),
    });
    const adapter = await adapterFromUrl(`sqlite:${join(project.dir, "app.db")}`);
    try {
      assert.equal((await project.run("init")).code, 0);
      await adapter.open({ create: false });
      const attempt = await adapter.tryAcquireLease({
        owner: "another-upgrader",
        host: "elsewhere",
        pid: 1,
        user: "ops",
        ttlMs: 60_000,
      });
      assert.ok("lease" in attempt);
      const run = await project.run("backup", "--json");
      assert.equal(run.code, 3, run.stdout + run.stderr);
      assert.equal(run.json().error.code, "E_LOCK_HELD");
      assert.ok(!existsSync(join(project.dir, "bk")) || readdirSync(join(project.dir, "bk")).length === 0);
      await attempt.lease.release();
      assert.equal((await project.run("backup")).code, 0);
    } finally {
      await adapter.close();
      project.cleanup();
    }
  });
});
