/**
 * `lockstep rehearse` on SQLite: the datalab example at 0.1.0, copied with the backup API into
 * a temp file, upgraded there, the file removed; the source file's bytes never change. Also the
 * Markdown report and a named `--scratch` file.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { it } from "node:test";
import { rehearse } from "../src/rehearse/rehearse.js";
import { DATALAB_STEPS, rehearseSuite } from "./support/rehearse-suite.js";

await rehearseSuite("sqlite", {
  items: 300,
  extra(context) {
    it("--markdown prints a table of the steps for a pull request", async () => {
      const { rehearse } = context();
      const run = await rehearse(["--markdown"]);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.match(run.stdout, /^### lockstep rehearsal: passed/m);
      assert.match(run.stdout, /^\| step \| status \| duration \| counts \| error \|$/m);
      for (const step of DATALAB_STEPS)
        assert.match(run.stdout, new RegExp(`^\\| \`${step}\` \\| applied \\| `, "m"));
      assert.match(run.stdout, /^- copy: SQLite backup API, /m);
      assert.match(run.stdout, /^- final status of the copy: CURRENT at 0\.5\.0$/m);
    });

    it("a stop asked for before the copy ends drops the scratch and says so (library)", async () => {
      const { source, project } = context();
      const stop = new AbortController();
      stop.abort("SIGINT");
      let ran = false;
      await assert.rejects(
        rehearse({
          source: source.url,
          baseDir: project.dir,
          cwd: project.dir,
          env: process.env,
          tmpDir: source.env.TMPDIR!,
          signal: stop.signal,
          run: async () => {
            ran = true;
          },
        }),
        (error: { code?: string; signal?: string }) =>
          error.code === "E_INTERRUPTED_BY_SIGNAL" && error.signal === "SIGINT",
      );
      assert.equal(ran, false, "nothing runs on a copy that was stopped");
    });

    it("a --budget that is no duration, or zero, is E_USAGE, before anything is copied", async () => {
      for (const budget of ["soon", "0s", "0"]) {
        const run = await context().rehearse(["--json", "--budget", budget]);
        assert.equal(run.code, 1, `${budget}: ${run.stdout}${run.stderr}`);
        assert.equal(run.json().error.code, "E_USAGE", budget);
      }
    });

    it("a named --scratch file is created, then removed", async () => {
      const { rehearse, project } = context();
      const scratch = join(project.dir, "scratch.db");
      const run = await rehearse(["--json", "--scratch", scratch]);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.equal(run.json().database.scratch, scratch);
      assert.ok(!existsSync(scratch) && !existsSync(`${scratch}-wal`));
    });
  },
});
