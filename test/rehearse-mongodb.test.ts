/**
 * `lockstep rehearse` on MongoDB (FerretDB by default): datalab's own database, stamped by its
 * seed, copied collection by collection (documents and indexes) through the driver into a
 * scratch database, upgraded there, dropped. FerretDB is slow: a small data set.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { rehearseSuite } from "./support/rehearse-suite.js";

await rehearseSuite("mongodb", {
  items: 40,
  extra(context) {
    it("copies the indexes too: the rehearsal's 0.3.0 unique index builds on the copy", async () => {
      const run = await context().rehearse(["--json"]);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      const report = run.json();
      assert.equal(report.copy.method, "documents and indexes through the driver");
      assert.equal(report.upgrade.steps[1].status, "applied");
    });
  },
});
