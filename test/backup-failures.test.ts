/**
 * A backup that cannot be taken aborts `upgrade --backup` with a coded error, and nothing is
 * written to the database: the tool missing from PATH, an unwritable folder, a disk that fills
 * up (a file size limit, `ulimit -f`, on the CLI process and the tools it runs), and the
 * free-space check against the last backup's size.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { generateItems } from "../examples/datalab/model.js";
import { storeFor } from "../examples/datalab/stores/store.js";
import { redactUrl } from "../src/adapters/url.js";
import { engineFor } from "../src/backup/engine.js";
import { wholeDatabase } from "./support/backup-databases.js";
import { CLI, type CliRun, collectRun, lockstep, REPO } from "./support/cli.js";
import { fixtureNamed, TEST_RUN_PREFIX } from "./support/fixtures.js";
import { describeFixture } from "./support/harness.js";

const CONFIG = join(REPO, "examples", "datalab", "lockstep.config.ts");

/** `lockstep args…` under `sh`, with a file size limit of `blocks` × 512 bytes and SIGXFSZ ignored (writes fail with EFBIG). */
function lockstepLimited(blocks: number, args: readonly string[]): Promise<CliRun> {
  const quoted = [process.execPath, CLI, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
  return collectRun(
    spawn("sh", ["-c", `trap '' XFSZ; ulimit -f ${blocks}; exec ${quoted}`], {
      cwd: REPO,
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
}

const TOOL: Record<string, string> = { postgres: "postgresql-client", mysql: "mariadb-client" };

for (const kind of ["sqlite", "postgres", "mysql", "mongodb"]) {
  const fixture = await fixtureNamed(kind);
  await describeFixture(fixture, describe, () => {
    /** A datalab database at 0.1.0; `fn` gets the CLI's args; afterwards nothing may have changed. */
    async function failingBackup(
      fn: (args: string[], dir: string, url: string) => Promise<CliRun>,
      code: string,
    ) {
      const store = await storeFor(kind);
      const db = await wholeDatabase(kind);
      const dir = mkdtempSync(join(tmpdir(), `${TEST_RUN_PREFIX}backups-`));
      try {
        await store.seed(db.url, generateItems(60));
        const args = ["--config", CONFIG, "--database", store.lockstepUrl?.(db.url) ?? db.url];
        if (store.seedStamp === undefined) {
          assert.equal((await lockstep(REPO, ["init", "--version", "0.1.0", ...args])).code, 0);
        }
        const engine = await engineFor(db.url, REPO);
        const before = await engine.checksums();
        const run = await fn(args, dir, args[3]!);
        assert.equal(run.code, 1, run.stdout + run.stderr);
        assert.equal(run.json().error.code, code, run.stdout);
        assert.deepEqual(await engine.checksums(), before, "nothing was written: no step, no history entry");
        return { dir, run };
      } finally {
        rmSync(dir, { recursive: true, force: true });
        await db.drop();
      }
    }

    // The folder and free-space checks run before any database work: SQLite and PostgreSQL
    // are enough. A full disk is met by three different writers: SQLite's backup API, a tool
    // (pg_dump), lockstep's gzip stream (MongoDB).
    const only = (kinds: string[]) => (kinds.includes(kind) ? it : () => undefined);
    only(["sqlite", "postgres"])("an unwritable backup folder: E_BACKUP_DIR_UNWRITABLE", async () => {
      await failingBackup(async (args, dir) => {
        writeFileSync(join(dir, "a-file"), "");
        return lockstep(REPO, [
          "upgrade",
          "--yes",
          "--json",
          `--backup=${join(dir, "a-file", "backups")}`,
          ...args,
        ]);
      }, "E_BACKUP_DIR_UNWRITABLE");
    });

    only(["sqlite", "postgres", "mongodb"])(
      "a disk that fills up (ulimit -f): E_BACKUP_NO_SPACE, the partial file removed",
      async () => {
        let left: string[] = [];
        await failingBackup(async (args, dir) => {
          const run = await lockstepLimited(2, ["upgrade", "--yes", "--json", `--backup=${dir}`, ...args]);
          left = readdirSync(dir);
          return run;
        }, "E_BACKUP_NO_SPACE");
        assert.deepEqual(left, []);
      },
    );

    only(["sqlite", "postgres"])(
      "less free space than the last backup took: E_BACKUP_NO_SPACE before dumping",
      async () => {
        await failingBackup(async (args, dir, url) => {
          writeFileSync(
            join(dir, "earlier.manifest.json"),
            JSON.stringify(fakeManifest(kind, redactUrl(url), Number.MAX_SAFE_INTEGER)),
          );
          const run = await lockstep(REPO, ["upgrade", "--yes", "--json", `--backup=${dir}`, ...args]);
          assert.match(run.json().error.message, /the last backup of this database took/);
          return run;
        }, "E_BACKUP_NO_SPACE");
      },
    );

    const tool = TOOL[kind];
    if (tool !== undefined) {
      it("the dump tool missing from PATH: E_BACKUP_TOOL_MISSING naming the package", async () => {
        const empty = mkdtempSync(join(tmpdir(), `${TEST_RUN_PREFIX}path-`));
        try {
          await failingBackup(async (args, dir) => {
            const run = await lockstep(REPO, ["upgrade", "--yes", "--json", `--backup=${dir}`, ...args], {
              PATH: empty,
            });
            assert.match(run.json().error.hint, new RegExp(`apt-get install ${tool}`));
            return run;
          }, "E_BACKUP_TOOL_MISSING");
        } finally {
          rmSync(empty, { recursive: true, force: true });
        }
      });
    }
  });
}

function fakeManifest(kind: string, database: string, bytes: number) {
  return {
    manifestVersion: 1,
    id: "earlier",
    file: "/nonexistent",
    bytes,
    sha256: "0".repeat(64),
    kind,
    format: "sqlite-file",
    tool: "-",
    server: "-",
    database,
    databaseName: "-",
    stampBefore: "0.0.9",
    target: "0.1.0",
    lockstepVersion: "0.1.0",
    startedAt: "2020-01-01T00:00:00.000Z",
    finishedAt: "2020-01-01T00:00:01.000Z",
    tables: [],
    verified: null,
    restore: { lockstep: "-", native: "-" },
  };
}
