/**
 * Rolling deploys through the built CLI on SQLite: `plan` shows phases and what older code
 * running does to each step, `status` the floor, deferred steps and live instances,
 * `upgrade --contract` and `--allow-downtime` with their exit codes. An older instance is
 * registered through the SQLite adapter's registry (needs the adapters' floor and registry).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { adapterFromUrl } from "../src/adapters/from-url.js";
import type { Adapter, InstanceRecord } from "../src/core/adapter.js";
import { makeProject, markingStep, type Project, projectMarks } from "./support/cli.js";

const CONFIG = `import { defineConfig } from "lockstep";
export default defineConfig({ database: "sqlite:./app.db", steps: "./upgrades" });
`;

async function openRegistry(project: Project): Promise<Adapter> {
  const adapter = await adapterFromUrl(`sqlite:${project.dir}/app.db`);
  await adapter.open({ create: false });
  return adapter;
}

function older(release: string, n: number): InstanceRecord {
  return {
    id: `cli-older-${n}`,
    appVersion: release,
    host: "web-old",
    pid: 5000 + n,
    owner: `web-old/other-machine/ns/${5000 + n}/abcd`,
    startedAt: new Date().toISOString(),
  };
}

describe("rolling deploy through the CLI (SQLite)", () => {
  let project: Project;
  let registry: Adapter;
  before(async () => {
    project = makeProject({
      "package.json": JSON.stringify({ name: "app", version: "1.0.0", type: "module" }),
      "lockstep.config.ts": CONFIG,
      "upgrades/1.1.0-add-col.ts": markingStep("1.1.0", "add-col", 'phase: "expand",'),
      "upgrades/1.2.0-drop-old.ts": markingStep("1.2.0", "drop-old", 'phase: "contract",'),
    });
    const init = await project.run("init", "--version", "1.0.0");
    assert.equal(init.code, 0, init.stderr);
    registry = await openRegistry(project);
    await registry.registerInstance(older("1.0.0", 1), 120_000);
  });
  after(async () => {
    await registry?.close();
    project.cleanup();
  });

  test("plan shows each step's phase and the contract step deferred by the live 1.0.0", async () => {
    const run = await project.run("plan", "--app-version", "1.2.0");
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stdout, /1\.1\.0\/add-col \(phase expand/);
    assert.match(run.stdout, /1\.2\.0\/drop-old \(phase contract/);
    assert.match(run.stdout, /deferred: older code runs \(1\.0\.0 ×1 on web-old\)/);
    const json = (await project.run("plan", "--app-version", "1.2.0", "--json")).json();
    assert.deepEqual(
      json.steps.map((s: { id: string; phase: string; decision: string }) => [s.id, s.phase, s.decision]),
      [
        ["1.1.0/add-col", "expand", "apply"],
        ["1.2.0/drop-old", "contract", "defer"],
      ],
    );
  });

  test("upgrade applies the expand step and reports the deferred contract step", async () => {
    const run = await project.run("upgrade", "--yes", "--app-version", "1.2.0", "--json");
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(
      run.json().deferred.map((d: { step: string }) => d.step),
      ["1.2.0/drop-old"],
    );
    assert.deepEqual(projectMarks(project), ["1.1.0/add-col"]);
  });

  test("status --json: CURRENT with the floor, the deferred step and the live instances", async () => {
    const run = await project.run("status", "--app-version", "1.2.0", "--json");
    assert.equal(run.code, 0, run.stderr);
    const report = run.json();
    assert.equal(report.status, "CURRENT");
    assert.equal(report.floor, "1.0.0");
    assert.deepEqual(report.deferred, ["1.2.0/drop-old"]);
    assert.deepEqual(
      report.instances.map((g: { release: string; count: number }) => [g.release, g.count]),
      [["1.0.0", 1]],
    );
    const text = await project.run("status", "--app-version", "1.2.0");
    assert.match(text.stdout, /live {6}1\.0\.0 ×1, last seen \d+ s ago on web-old/);
    assert.match(text.stdout, /deferred {2}1\.2\.0\/drop-old: .*\(1\.0\.0 ×1 on web-old\)/);
    assert.match(text.stdout, /floor {5}1\.0\.0 \(set by /);
  });

  test("older code on the expanded database: AHEAD_COMPATIBLE, exit 0", async () => {
    const run = await project.run("status", "--app-version", "1.0.0");
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /AHEAD_COMPATIBLE/);
    assert.match(run.stdout, /floor {5}1\.0\.0/);
  });

  test("upgrade --contract is refused while 1.0.0 runs (exit 3), applied once it is gone", async () => {
    const refused = await project.run("upgrade", "--contract", "--yes", "--app-version", "1.2.0");
    assert.equal(refused.code, 3, refused.stderr);
    assert.match(refused.stderr, /E_OLDER_CODE_RUNNING/);
    assert.match(refused.stderr, /1\.0\.0 ×1 on web-old/);
    assert.deepEqual(projectMarks(project), ["1.1.0/add-col"]);
    await registry.removeInstance?.("cli-older-1");
    const run = await project.run("upgrade", "--contract", "--yes", "--app-version", "1.2.0");
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(projectMarks(project), ["1.1.0/add-col", "1.2.0/drop-old"]);
    const ahead = await project.run("status", "--app-version", "1.0.0");
    assert.equal(ahead.code, 3);
    assert.match(ahead.stdout, /AHEAD: .*floor is 1\.2\.0.*1\.2\.0\/drop-old/);
  });

  test("a step without a phase: plan and upgrade refuse (exit 3) while older code runs; --allow-downtime applies it", async () => {
    project.write("upgrades/1.3.0-rewrite.ts", markingStep("1.3.0", "rewrite"));
    await registry.registerInstance(older("1.2.0", 2), 120_000);
    const plan = await project.run("plan", "--app-version", "1.3.0");
    assert.equal(plan.code, 3, plan.stderr);
    assert.match(plan.stdout, /1\.3\.0\/rewrite \(phase —/);
    assert.match(plan.stdout, /refused \(E_OLDER_CODE_RUNNING\): older code runs \(1\.2\.0 ×1 on web-old\)/);
    const refused = await project.run("upgrade", "--yes", "--app-version", "1.3.0");
    assert.equal(refused.code, 3);
    assert.match(refused.stderr, /E_OLDER_CODE_RUNNING/);
    assert.deepEqual(projectMarks(project), ["1.1.0/add-col", "1.2.0/drop-old"]);
    const run = await project.run("upgrade", "--yes", "--allow-downtime", "--app-version", "1.3.0");
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(projectMarks(project), ["1.1.0/add-col", "1.2.0/drop-old", "1.3.0/rewrite"]);
  });
});
