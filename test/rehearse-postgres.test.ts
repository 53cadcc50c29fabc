/**
 * `lockstep rehearse` on PostgreSQL, the source a database of its own: copied by CREATE
 * DATABASE … TEMPLATE when nobody else is connected, by pg_dump | pg_restore while a session
 * is; the scratch database is dropped every time and the source's rows never change.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import pg from "pg";
import { DATALAB_STEPS, rehearseSuite } from "./support/rehearse-suite.js";

await rehearseSuite("postgres", {
  items: 300,
  extra(context) {
    it("copies by TEMPLATE when the source has no session", async () => {
      const run = await context().rehearse(["--json"]);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.match(run.json().copy.method, /TEMPLATE/);
    });

    it("copies by pg_dump | pg_restore while another session is connected to the source", async () => {
      const { source, rehearse } = context();
      const session = new pg.Client({ connectionString: source.url });
      await session.connect();
      try {
        const run = await rehearse(["--json"]);
        assert.equal(run.code, 0, run.stdout + run.stderr);
        const report = run.json();
        assert.match(report.copy.method, /pg_dump \| pg_restore/);
        assert.deepEqual(
          report.upgrade.steps.map((s: any) => s.status),
          DATALAB_STEPS.map(() => "applied"),
        );
      } finally {
        await session.end();
      }
    });
  },
});
