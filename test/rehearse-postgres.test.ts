/**
 * `lockstep rehearse` on PostgreSQL, the source a database of its own: copied by CREATE
 * DATABASE … TEMPLATE when nobody else is connected, by pg_dump | pg_restore while a session
 * is; the scratch database is dropped every time and the source's rows never change.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import pg from "pg";
import { DATALAB_STEPS, rehearseSuite, runCli, toolShims } from "./support/rehearse-suite.js";

const PASSWORD = "s3cret-rehearsal-pw";

await rehearseSuite("postgres", {
  items: 300,
  extra(context) {
    it("copies by TEMPLATE when the source has no session", async () => {
      const run = await context().rehearse(["--json"]);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.match(run.json().copy.method, /TEMPLATE/);
    });

    it("SIGINT during the dump: exit 130, the tools killed, the scratch dropped", async () => {
      const { source, project } = context();
      const session = new pg.Client({ connectionString: source.url });
      await session.connect();
      const shims = mkdtempSync(join(tmpdir(), "lockstep-shims-"));
      // A slow dump (not for `--version`), the sleep kept off the pipe so a kill closes it.
      toolShims(
        shims,
        ["pg_dump"],
        "PGPASSWORD",
        '[ "$1" = "--version" ] || sleep 30 >/dev/null 2>&1 </dev/null',
      );
      let sent = false;
      try {
        const started = Date.now();
        const run = await runCli(
          project,
          ["rehearse", "--json", "--database", source.url],
          { PATH: `${shims}:${process.env.PATH}` },
          (stderr, child) => {
            if (!sent && stderr.includes('"phase":"copy"')) {
              sent = true;
              setTimeout(() => child.kill("SIGINT"), 500);
            }
          },
        );
        assert.ok(sent, run.stderr);
        assert.equal(run.code, 130, run.stdout + run.stderr);
        assert.equal(run.json().error.code, "E_INTERRUPTED_BY_SIGNAL");
        assert.ok(Date.now() - started < 20_000, "the dump was killed, not waited for");
      } finally {
        await session.end();
        rmSync(shims, { recursive: true, force: true });
      }
    });

    it("without pg_dump on PATH the dump copy is E_REHEARSAL_COPY naming the package, the scratch dropped", async () => {
      const { source, project } = context();
      const session = new pg.Client({ connectionString: source.url });
      await session.connect();
      try {
        const run = await runCli(project, ["rehearse", "--json", "--database", source.url], {
          PATH: "/nonexistent",
        });
        assert.equal(run.code, 1, run.stdout + run.stderr);
        const { error } = run.json();
        assert.equal(error.code, "E_REHEARSAL_COPY");
        assert.match(error.hint, /postgresql-client/);
      } finally {
        await session.end();
      }
    });

    it("copies by pg_dump | pg_restore while a session is connected; the password only in PGPASSWORD", async () => {
      const { source, project } = context();
      const session = new pg.Client({ connectionString: source.url });
      await session.connect();
      const shims = mkdtempSync(join(tmpdir(), "lockstep-shims-"));
      const log = toolShims(shims, ["pg_dump", "pg_restore"], "PGPASSWORD");
      // The test server trusts 127.0.0.1: the password is carried, not checked.
      const withPassword = source.url.replace("://postgres@", `://postgres:${PASSWORD}@`);
      try {
        const run = await runCli(project, ["rehearse", "--json", "--database", withPassword], {
          PATH: `${shims}:${process.env.PATH}`,
        });
        assert.equal(run.code, 0, run.stdout + run.stderr);
        const report = run.json();
        assert.match(report.copy.method, /pg_dump \| pg_restore/);
        for (const tool of ["pg_dump", "pg_restore"]) {
          const calls = log(tool);
          assert.match(calls, new RegExp(`^secret: ${PASSWORD}$`, "m"), `${tool} got PGPASSWORD`);
          assert.doesNotMatch(
            calls
              .split("\n")
              .filter((l) => l.startsWith("argv"))
              .join("\n"),
            new RegExp(PASSWORD),
          );
        }
        assert.doesNotMatch(run.stdout + run.stderr, new RegExp(PASSWORD), "the report redacts it");
        assert.deepEqual(
          report.upgrade.steps.map((s: any) => s.status),
          DATALAB_STEPS.map(() => "applied"),
        );
      } finally {
        await session.end();
        rmSync(shims, { recursive: true, force: true });
      }
    });
  },
});
