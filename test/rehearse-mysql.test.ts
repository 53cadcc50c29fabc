/**
 * `lockstep rehearse` on MariaDB (MySQL): the source schema dumped with
 * `mariadb-dump --single-transaction` into a scratch schema, upgraded there, dropped; the
 * source's rows and table definitions never change.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { rehearseSuite } from "./support/rehearse-suite.js";

await rehearseSuite("mysql", {
  items: 300,
  extra(context) {
    it("copies with the dump tool in one transaction", async () => {
      const run = await context().rehearse(["--json"]);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.match(run.json().copy.method, /(mariadb-dump|mysqldump) --single-transaction/);
    });
  },
});
