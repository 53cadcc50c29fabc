/**
 * On every database: the datalab example seeded at 0.1.0, `upgrade --backup`, then `restore`
 * into an empty database gives the pre-upgrade data (every table/collection's checksum) and
 * the stamp it had; the manifest's sha256 matches the file; `backup --verify` leaves no
 * scratch database behind.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { generateItems } from "../examples/datalab/model.js";
import { storeFor } from "../examples/datalab/stores/store.js";
import { engineFor } from "../src/backup/engine.js";
import { readManifest, sha256File } from "../src/backup/manifest.js";
import { listDatabases, wholeDatabase } from "./support/backup-databases.js";
import { lockstep, REPO } from "./support/cli.js";
import { fixtureNamed, TEST_RUN_PREFIX } from "./support/fixtures.js";
import { describeFixture } from "./support/harness.js";

const CONFIG = join(REPO, "examples", "datalab", "lockstep.config.ts");

for (const kind of ["sqlite", "postgres", "mysql", "mongodb"]) {
  const fixture = await fixtureNamed(kind);
  await describeFixture(fixture, describe, () => {
    it("upgrade --backup, then restore into an empty database: the pre-upgrade data and stamp", async () => {
      const store = await storeFor(kind);
      const source = await wholeDatabase(kind);
      const empty = await wholeDatabase(kind);
      const dir = mkdtempSync(join(tmpdir(), `${TEST_RUN_PREFIX}backups-`));
      try {
        const url = store.lockstepUrl?.(source.url) ?? source.url;
        const args = ["--config", CONFIG, "--database", url];
        await store.seed(source.url, generateItems(120, { danglingRate: 0.05 }));
        if (store.seedStamp === undefined) {
          const init = await lockstep(REPO, ["init", "--version", "0.1.0", ...args]);
          assert.equal(init.code, 0, init.stderr);
        }
        const engine = await engineFor(source.url, REPO);
        const before = await engine.checksums();
        assert.ok(
          before.some((t) => t.rows >= 100),
          "the items are in a table/collection",
        );

        const run = await lockstep(REPO, ["upgrade", "--yes", "--json", `--backup=${dir}`, ...args]);
        assert.equal(run.code, 0, run.stdout + run.stderr);
        const result = run.json();
        assert.equal(result.outcome, "upgraded");
        assert.equal(result.backup.reused, false);
        assert.notDeepEqual(await engine.checksums(), before, "the upgrade changed the data");

        const manifest = readManifest(result.backup.manifestPath);
        assert.equal(manifest.stampBefore, "0.1.0");
        assert.equal(manifest.target, "0.5.0");
        assert.equal(manifest.kind, kind);
        assert.deepEqual(manifest.tables, before);
        assert.equal(statSync(manifest.file).size, manifest.bytes);
        assert.equal(await sha256File(manifest.file), manifest.sha256);
        assert.equal(statSync(manifest.file).mode & 0o777, 0o600);
        assert.equal(statSync(result.backup.manifestPath).mode & 0o777, 0o600);

        const history = await lockstep(REPO, ["history", "--json", ...args]);
        const entry = history.json().find((e: { action: string }) => e.action === "backup");
        assert.equal(entry?.details.id, manifest.id);

        const emptyUrl = store.lockstepUrl?.(empty.url) ?? empty.url;
        const restored = await lockstep(REPO, [
          "restore",
          result.backup.manifestPath,
          "--json",
          "--database",
          empty.url,
        ]);
        assert.equal(restored.code, 0, restored.stdout + restored.stderr);
        assert.deepEqual(await (await engineFor(empty.url, REPO)).checksums(), before);
        const status = await lockstep(REPO, ["status", "--json", "--config", CONFIG, "--database", emptyUrl]);
        assert.equal(status.json().stamp, "0.1.0", status.stdout + status.stderr);

        // Not into a database that holds data, unless forced.
        const again = await lockstep(REPO, [
          "restore",
          result.backup.manifestPath,
          "--json",
          "--database",
          empty.url,
        ]);
        assert.equal(again.code, 3);
        assert.equal(again.json().error.code, "E_RESTORE_NOT_EMPTY");
        const forced = await lockstep(REPO, [
          "restore",
          result.backup.manifestPath,
          "--force",
          "--yes",
          "--json",
          "--database",
          source.url,
        ]);
        assert.equal(forced.code, 0, forced.stdout + forced.stderr);
        assert.deepEqual(await engine.checksums(), before, "--force put the source back as it was");
      } finally {
        rmSync(dir, { recursive: true, force: true });
        await source.drop();
        await empty.drop();
      }
    });

    it("backup --verify restores into a scratch database, compares, and drops it", async () => {
      const source = await wholeDatabase(kind);
      const dir = mkdtempSync(join(tmpdir(), `${TEST_RUN_PREFIX}backups-`));
      try {
        const store = await storeFor(kind);
        await store.seed(source.url, generateItems(30));
        const url = store.lockstepUrl?.(source.url) ?? source.url;
        const run = await lockstep(REPO, [
          "backup",
          "--verify",
          "--json",
          "--to",
          dir,
          "--config",
          CONFIG,
          "--database",
          url,
        ]);
        assert.equal(run.code, 0, run.stdout + run.stderr);
        assert.equal(run.json().verified.ok, true);
        assert.deepEqual(await scratchLeftovers(kind, source.url), []);
        assert.equal(readdirSync(dir).length, 2, "the backup and its manifest");
      } finally {
        rmSync(dir, { recursive: true, force: true });
        await source.drop();
      }
    });
  });
}

/** Scratch databases (`…_lockstep_verify_…`) left beside `url`'s. */
async function scratchLeftovers(kind: string, url: string): Promise<string[]> {
  if (kind === "sqlite") {
    const dir = url.slice("sqlite:".length).replace(/\/[^/]*$/, "");
    return readdirSync(dir).filter((n) => n.includes("lockstep-verify"));
  }
  return (await listDatabases(kind)).filter((n) => n.includes("_lockstep_verify_"));
}
