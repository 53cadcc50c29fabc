/**
 * The `lockstep rehearse` suite, run on each database by test/rehearse-<db>.test.ts: the datalab
 * example seeded at 0.1.0 is rehearsed through the CLI binary; after every test the source's
 * checksum is what it was and no scratch is left, also after a failing step, a SIGINT half-way
 * and an exceeded budget.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, afterEach, before, describe, it } from "node:test";
import { CLI, type CliRun, collectRun, makeProject, type Project } from "./cli.js";
import { fixtureNamed } from "./fixtures.js";
import { describeFixture } from "./harness.js";
import { makeSource, type RehearseSource } from "./rehearse-sources.js";

const UPGRADES = join(new URL("../..", import.meta.url).pathname, "examples", "datalab", "upgrades");

/**
 * The datalab config: its step files linked into the project's `upgrades/` (so they load as
 * in the example), plus a 0.6.0 step when REHEARSE_TEST_STEP says so: `sleep` (a minute, for a
 * SIGINT or a budget to land in) or `fail` (throws).
 */
const CONFIG = `import { defineConfig } from "lockstep";
export default defineConfig({
  appVersion: process.env.REHEARSE_TEST_STEP ? "0.6.0" : "0.5.0",
  database: "sqlite:./unused.db",
  mongodb: { app: "datalab" },
  steps: "./upgrades",
});
`;

const EXTRA_STEP = `import { upgrade } from "lockstep";
const extra = process.env.REHEARSE_TEST_STEP;
export default extra === "sleep"
  ? [upgrade({ version: "0.6.0", name: "sleep", async run(ctx) {
      if (!ctx.dryRun) await new Promise((resolve) => setTimeout(resolve, 60_000));
    } })]
  : extra === "fail"
    ? [upgrade({ version: "0.6.0", name: "fail", run() { throw new Error("this step fails on purpose"); } })]
    : [];
`;

/** The test project: the config, the datalab steps (linked) and the extra step. */
function datalabProject(): Project {
  const project = makeProject({ "lockstep.config.ts": CONFIG, "upgrades/0.6.0-extra.ts": EXTRA_STEP });
  for (const file of readdirSync(UPGRADES))
    symlinkSync(join(UPGRADES, file), join(project.dir, "upgrades", file));
  return project;
}

/** The datalab steps, in order. */
export const DATALAB_STEPS = [
  "0.2.0/relationships-to-refcode",
  "0.3.0/index-items-by-refcode",
  "0.4.0/item-titles",
  "0.5.0/drop-item-names",
];

/** A CLI run: exit code, output, and stdout as JSON. */
export type RehearseRun = CliRun;

/**
 * Runs the CLI in `project` with `env`; `onStderr` sees stderr as it comes and may signal the
 * child (the SIGINT test).
 */
export function runCli(
  project: Project,
  args: readonly string[],
  env: Record<string, string>,
  onStderr?: (text: string, child: ChildProcess) => void,
): Promise<RehearseRun> {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: project.dir,
    env: { ...process.env, NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return collectRun(child, onStderr);
}

/** What a database's suite varies. */
export interface RehearseSuiteOptions {
  /** Datalab items to seed (FerretDB is slow: few). */
  readonly items: number;
  /** More tests, given the seeded source and the project. */
  readonly extra?: (context: () => { source: RehearseSource; project: Project; rehearse: Rehearse }) => void;
}

/** Runs `lockstep rehearse args…` on the source. */
export type Rehearse = (args: readonly string[], step?: "sleep" | "fail") => Promise<RehearseRun>;

/** Declares the rehearse suite for the database `kind`. */
export async function rehearseSuite(kind: string, options: RehearseSuiteOptions): Promise<void> {
  const fixture = await fixtureNamed(kind);
  await describeFixture(fixture, describe, () => {
    let source: RehearseSource;
    let project: Project;
    let checksum: string;
    const rehearse: Rehearse = (args, step) =>
      runCli(project, ["rehearse", "--database", source.url, ...args], {
        ...source.env,
        ...(step !== undefined && { REHEARSE_TEST_STEP: step }),
      });

    before(async () => {
      project = datalabProject();
      source = await makeSource(kind, options.items, async (url) => {
        const init = await runCli(project, ["init", "--version", "0.1.0", "--database", url], {});
        assert.equal(init.code, 0, init.stderr);
      });
      checksum = await source.checksum();
    });
    after(async () => {
      await source?.cleanup();
      project?.cleanup();
    });
    afterEach(async () => {
      assert.equal(await source.checksum(), checksum, "the source is unchanged");
      assert.deepEqual(await source.leftovers(), [], "no scratch is left behind");
    });

    it("rehearses the datalab upgrade on a copy and reports each step", async () => {
      const run = await rehearse(["--json"]);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      const report = run.json();
      assert.equal(report.outcome, "passed");
      assert.equal(report.database.kind, kind);
      assert.deepEqual(
        report.upgrade.steps.map((s: any) => [s.step, s.status]),
        DATALAB_STEPS.map((s) => [s, "applied"]),
      );
      for (const s of report.upgrade.steps) assert.equal(typeof s.durationMs, "number");
      const [rewrite] = report.upgrade.steps;
      // The step's own counts, as the real upgrade reports them (a small seed may have no dangling link).
      assert.ok(rewrite.counts.items > 0 && "dangling" in rewrite.counts, JSON.stringify(rewrite.counts));
      assert.deepEqual(report.finalStatus, { status: "CURRENT", stamp: "0.5.0" });
      assert.equal(report.upgrade.from, "0.1.0");
      assert.ok(report.upgrade.preconditions.every((p: any) => p.status === "passed"));
      assert.equal(report.drop.dropped, true);
      assert.doesNotMatch(run.stdout + run.stderr, /:[^@/\s]+@/, "no password printed");
    });

    it("a failing step: exit 1, the report names it, the copy is dropped", async () => {
      const run = await rehearse(["--json"], "fail");
      assert.equal(run.code, 1, run.stdout + run.stderr);
      const report = run.json();
      assert.equal(report.outcome, "failed");
      assert.equal(report.upgrade.error.code, "E_STEP_FAILED");
      const fail = report.upgrade.steps.find((s: any) => s.step === "0.6.0/fail");
      assert.equal(fail?.status, "failed");
      assert.match(fail.error, /fails on purpose/);
      assert.equal(report.drop.dropped, true);
    });

    it("SIGINT half-way: exit 130 once the copy is dropped", async () => {
      let sent = false;
      const run = await runCli(
        project,
        ["rehearse", "--json", "--database", source.url],
        { ...source.env, REHEARSE_TEST_STEP: "sleep" },
        (stderr, child) => {
          if (!sent && stderr.includes('"step:started","step":"0.6.0/sleep"')) {
            sent = true;
            child.kill("SIGINT");
          }
        },
      );
      assert.ok(sent, run.stderr);
      assert.equal(run.code, 130, run.stdout + run.stderr);
      const report = run.json();
      assert.equal(report.outcome, "stopped");
      assert.equal(report.upgrade.error.code, "E_INTERRUPTED_BY_SIGNAL");
      // The way on is another rehearsal, never the real upgrade.
      assert.match(report.upgrade.error.hint, /lockstep rehearse/);
      assert.doesNotMatch(report.upgrade.error.hint, /lockstep upgrade/);
      assert.equal(report.drop.dropped, true);
      assert.deepEqual(
        report.upgrade.steps.filter((s: any) => s.status === "applied").map((s: any) => s.step),
        DATALAB_STEPS,
      );
    });

    it("over --budget: exit 5 with E_REHEARSAL_BUDGET, the copy dropped", async () => {
      const run = await rehearse(["--json", "--budget", "1s"], "sleep");
      assert.equal(run.code, 5, run.stdout + run.stderr);
      const report = run.json();
      assert.equal(report.outcome, "over-budget");
      assert.equal(report.upgrade.error.code, "E_REHEARSAL_BUDGET");
      assert.equal(report.upgrade.budgetMs, 1000);
      assert.equal(report.drop.dropped, true);
    });

    it("refuses a scratch that is the source or already holds data, and touches neither", async () => {
      const self = await rehearse(["--json", "--scratch", source.sourceName]);
      assert.equal(self.code, 3, self.stdout + self.stderr);
      assert.equal(self.json().error.code, "E_REHEARSAL_TARGET");
      const occupied = await source.occupied();
      try {
        const full = await rehearse(["--json", "--scratch", occupied.name]);
        assert.equal(full.code, 3, full.stdout + full.stderr);
        assert.equal(full.json().error.code, "E_REHEARSAL_TARGET");
        assert.ok(await occupied.stillThere(), "the occupied scratch is not dropped");
      } finally {
        await occupied.cleanup();
      }
    });

    options.extra?.(() => ({ source, project, rehearse }));
  });
}

/**
 * A folder of shims for `tools`: each records its arguments and `secretVar` (appending, one
 * line per call, to `<dir>/<tool>.log`), runs the shell line `before`, then the real tool. Put
 * the folder first on PATH.
 */
export function toolShims(
  dir: string,
  tools: readonly string[],
  secretVar: string,
  before = "",
): (tool: string) => string {
  for (const tool of tools) {
    const real = execFileSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).trim();
    const script = `#!/bin/sh\necho "argv: $*" >> "${dir}/${tool}.log"\necho "secret: $${secretVar}" >> "${dir}/${tool}.log"\n${before}\nexec ${real} "$@"\n`;
    writeFileSync(join(dir, tool), script, { mode: 0o755 });
  }
  return (tool) =>
    existsSync(join(dir, `${tool}.log`)) ? readFileSync(join(dir, `${tool}.log`), "utf8") : "";
}
