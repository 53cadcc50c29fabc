/**
 * The password reaches pg_dump through PGPASSWORD only: never its command line (which `ps`
 * shows every user), never the output, the manifest or the history. A `pg_dump` placed first
 * on PATH records what it was given, then runs the real one.
 */
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import pg from "pg";
import { wholeDatabase } from "./support/backup-databases.js";
import { lockstep, makeProject } from "./support/cli.js";
import { fixtureNamed, TEST_RUN_PREFIX } from "./support/fixtures.js";
import { describeFixture } from "./support/harness.js";

const SECRET = "Sekr1t-pw-4711";

/** The database's URL carrying the password: in the userinfo, or as libpq's `?password=`. */
type WithSecret = (url: string) => string;

const inUserinfo: WithSecret = (raw) => {
  const url = new URL(raw);
  url.password = SECRET;
  return url.href;
};
const inQuery: WithSecret = (raw) => {
  const url = new URL(raw);
  url.searchParams.set("password", SECRET);
  return url.href;
};

await describeFixture(await fixtureNamed("postgres"), describe, () => {
  it("pg_dump gets the password in PGPASSWORD, never in argv; no output or file holds it", () =>
    backupWithSecret(inUserinfo));
  it("a ?password= query parameter goes to PGPASSWORD too, never on pg_dump's command line", () =>
    backupWithSecret(inQuery));
});

async function backupWithSecret(withSecret: WithSecret): Promise<void> {
  {
    const db = await wholeDatabase("postgres");
    const shim = mkdtempSync(join(tmpdir(), `${TEST_RUN_PREFIX}shim-`));
    const project = makeProject({
      "package.json": JSON.stringify({ name: "app", version: "1.0.0", type: "module" }),
      "lockstep.config.ts": `export default { database: "sqlite:./app.db", steps: [] };\n`,
    });
    try {
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      await client.query(
        "create table t (id int primary key, v text); insert into t values (1, 'a'), (2, 'b')",
      );
      await client.end();
      const log = join(shim, "log");
      writeFileSync(
        join(shim, "pg_dump"),
        `#!/bin/sh\nprintf '%s\\n' "$@" > '${log}'\nprintf 'PGPASSWORD=%s\\n' "$PGPASSWORD" >> '${log}'\nexec "$(PATH='${process.env.PATH}' command -v pg_dump)" "$@"\n`,
      );
      chmodSync(join(shim, "pg_dump"), 0o755);
      const url = { href: withSecret(db.url) };
      const run = await lockstep(project.dir, ["backup", "--to", "bk", "--database", url.href], {
        PATH: `${shim}:${process.env.PATH}`,
      });
      assert.equal(run.code, 0, run.stdout + run.stderr);
      const lines = readFileSync(log, "utf8").trim().split("\n");
      assert.equal(lines.pop(), `PGPASSWORD=${SECRET}`);
      assert.ok(lines.includes("-Fc"), "the shim ran");
      assert.ok(!lines.some((l) => l.includes(SECRET)), lines.join(" "));
      assert.ok(!(run.stdout + run.stderr).includes(SECRET));
      for (const name of readdirSync(join(project.dir, "bk")).filter((n) => n.endsWith(".json")))
        assert.ok(!readFileSync(join(project.dir, "bk", name), "utf8").includes(SECRET));
      const history = await lockstep(project.dir, ["history", "--json", "--database", url.href]);
      assert.equal(history.json().filter((e: { action: string }) => e.action === "backup").length, 1);
      assert.ok(!history.stdout.includes(SECRET));
    } finally {
      project.cleanup();
      rmSync(shim, { recursive: true, force: true });
      await db.drop();
    }
  }
}
