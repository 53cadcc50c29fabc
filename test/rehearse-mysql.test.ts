/**
 * `lockstep rehearse` on MariaDB (MySQL): the source schema dumped with
 * `mariadb-dump --single-transaction` into a scratch schema, upgraded there, dropped; the
 * source's rows and table definitions never change. A user with a password shows it reaches
 * the tools through MYSQL_PWD only.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { TEST_RUN_PREFIX } from "./support/fixtures.js";
import { withMysql } from "./support/mysql-fixture.js";
import { rehearseSuite, runCli, toolShims } from "./support/rehearse-suite.js";

const PASSWORD = "s3cret-rehearsal-pw";

await rehearseSuite("mysql", {
  items: 300,
  extra(context) {
    it("copies with the dump tool in one transaction; the password only in MYSQL_PWD", async () => {
      const { source, project } = context();
      const user = `${TEST_RUN_PREFIX}u`.slice(0, 80);
      const shims = mkdtempSync(join(tmpdir(), "lockstep-shims-"));
      const tools = ["mariadb-dump", "mariadb", "mysqldump", "mysql"];
      const log = toolShims(shims, tools, "MYSQL_PWD");
      await withMysql(async (c) => {
        await c.query("create user ?@'%' identified by ?", [user, PASSWORD]);
        await c.query("grant all privileges on *.* to ?@'%'", [user]);
      });
      try {
        const url = source.url.replace("://root@", `://${user}:${PASSWORD}@`);
        const run = await runCli(project, ["rehearse", "--json", "--database", url], {
          PATH: `${shims}:${process.env.PATH}`,
        });
        assert.equal(run.code, 0, run.stdout + run.stderr);
        const report = run.json();
        assert.match(report.copy.method, /(mariadb-dump|mysqldump) --single-transaction/);
        const [dump, client] = report.copy.method.split(/ --single-transaction \| /);
        for (const tool of [dump, client]) {
          const calls = log(tool);
          assert.match(calls, new RegExp(`^secret: ${PASSWORD}$`, "m"), `${tool} got MYSQL_PWD`);
          const argv = calls.split("\n").filter((l) => l.startsWith("argv"));
          assert.ok(argv.some((l) => l.includes(`--user=${user}`)));
          assert.doesNotMatch(argv.join("\n"), new RegExp(PASSWORD));
        }
        assert.doesNotMatch(run.stdout + run.stderr, new RegExp(PASSWORD), "the report redacts it");
      } finally {
        await withMysql((c) => c.query("drop user if exists ?@'%'", [user]));
        rmSync(shims, { recursive: true, force: true });
      }
    });
  },
});
