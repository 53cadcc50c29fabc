/**
 * A new-user trial of the rolling-deploy features, fixed in the engine (SQLite; nothing here
 * is adapter-specific): `ignoreLiveInstances` overrides only the older code; a refused
 * contract step names the failing preconditions `force` would skip; forced preconditions
 * that fail are still reported; hints name the CLI flag and the library option; unknown
 * step keys and misspelt SQL directives are refused.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { sqlFileStep, sqlStepPhase } from "../src/config/sql-file-step.js";
import type { Adapter, InstanceRecord } from "../src/core/adapter.js";
import { condition } from "../src/core/conditions.js";
import { DEFAULT_INSTANCE_TTL_MS } from "../src/core/instances.js";
import { registerUpgrade, StepRegistry, upgrade } from "../src/core/registry.js";
import { rejectsWith } from "./support/assertions.js";
import { fixtureNamed } from "./support/fixtures.js";
import { type Harness, harnessTest, markStep } from "./support/harness.js";

const sqlite = await fixtureNamed("sqlite");
const test = harnessTest(sqlite);

async function registerOlder(adapter: Adapter, release: string): Promise<void> {
  const record: InstanceRecord = {
    id: `trial-${process.pid}-${release}`,
    appVersion: release,
    host: "web-old",
    pid: 4321,
    owner: "web-old/other-machine/ns/4321/abcd",
    startedAt: new Date().toISOString(),
  };
  await adapter.registerInstance(record, DEFAULT_INSTANCE_TTL_MS);
}

/** 1.0.0 live; 1.1.0 drop-name (contract) guarded by a failing skippable precondition, deferred. */
async function deferredBehindFailingPrecondition(h: Harness) {
  const init = await h.upgrader("1.0.0", []);
  await init.init();
  await init.close();
  await registerOlder(await h.adapter(), "1.0.0");
  const guarded = condition(
    "no name is still needed",
    async () => ({ message: "3 rows still use name", count: 3 }),
    { skippable: true },
  );
  const steps = [markStep(h.db, "1.1.0", "drop-name", { phase: "contract", conditions: [guarded] })];
  const u = await h.upgrader("1.1.0", steps);
  const deferred = await u.upgrade();
  assert.deepEqual(
    deferred.deferred.map((d) => d.step),
    ["1.1.0/drop-name"],
  );
  return u;
}

describe("rolling overrides (SQLite)", () => {
  test("upgrade --contract refused by older code also names the failing precondition --force would skip", async (h) => {
    const u = await deferredBehindFailingPrecondition(h);
    const error = await rejectsWith(u.upgrade({ contract: true }), "E_OLDER_CODE_RUNNING");
    assert.match(error.message, /1\.0\.0 ×1 on web-old/);
    assert.match(
      error.message,
      /1 precondition\(s\) fail:\n {2}- no name is still needed \(step 1\.1\.0\/drop-name\): 3 rows still use name/,
    );
    assert.match(error.hint ?? "", /`--force` would skip these/);
    assert.match(error.hint ?? "", /`--ignore-live` \(CLI\) \/ `ignoreLiveInstances: true`/);
    assert.doesNotMatch(error.hint ?? "", /--contract --force/);
    // The plan says the same before anything runs.
    const plan = await u.plan({ contract: true });
    assert.deepEqual(
      plan.preconditions.map((p) => [p.step, p.status]),
      [["1.1.0/drop-name", "failed"]],
    );
    assert.deepEqual(await h.marks(), []);
  });

  test("ignoreLiveInstances overrides only the older code: the failing precondition still refuses", async (h) => {
    const u = await deferredBehindFailingPrecondition(h);
    await rejectsWith(u.upgrade({ contract: true, ignoreLiveInstances: true }), "E_PRECONDITION_FAILED");
    assert.deepEqual(await h.marks(), []);
  });

  test("ignoreLiveInstances applies the contract step once its precondition holds, recorded in history", async (h) => {
    const init = await h.upgrader("1.0.0", []);
    await init.init();
    await init.close();
    await registerOlder(await h.adapter(), "1.0.0");
    const u = await h.upgrader("1.1.0", [markStep(h.db, "1.1.0", "drop-name", { phase: "contract" })]);
    await u.upgrade();
    assert.deepEqual(await h.marks(), []);
    const result = await u.upgrade({ ignoreLiveInstances: true });
    assert.deepEqual(
      result.results.map((r) => r.step),
      ["1.1.0/drop-name"],
    );
    const started = (await u.history()).find((e) => e.action === "step_started");
    assert.equal(started?.details?.override, "--ignore-live");
    assert.match(JSON.stringify(started?.details?.olderCodeRunning), /web-old/);
  });

  test("--contract --force still works, and the precondition it skipped is reported as failing, with a warning", async (h) => {
    const u = await deferredBehindFailingPrecondition(h);
    const warnings: string[] = [];
    u.on("warning", (w) => warnings.push(w.message));
    const result = await u.upgrade({ contract: true, force: true });
    assert.deepEqual(await h.marks(), ["1.1.0/drop-name"]);
    assert.deepEqual(
      result.preconditions.map((p) => [p.status, p.message]),
      [["skipped", "3 rows still use name"]],
    );
    assert.ok(
      warnings.some((w) =>
        /no name is still needed.*fails \(3 rows still use name\) and was skipped by force/.test(w),
      ),
      warnings.join("\n"),
    );
  });

  test("a step without a phase refused by the library names allowDowntime as well as --allow-downtime", async (h) => {
    const init = await h.upgrader("1.0.0", []);
    await init.init();
    await init.close();
    await registerOlder(await h.adapter(), "1.0.0");
    const u = await h.upgrader("1.1.0", [markStep(h.db, "1.1.0", "rewrite")]);
    const error = await rejectsWith(u.upgrade(), "E_OLDER_CODE_RUNNING");
    assert.match(error.hint ?? "", /`--allow-downtime` \(CLI\) \/ `allowDowntime: true`/);
  });
});

describe("step definitions: unknown keys and SQL directives", () => {
  const run = () => undefined;

  it("upgrade({ phaze }) is refused with E_INVALID_STEP and the closest key", () => {
    assert.throws(
      () => new StepRegistry([upgrade({ version: "1.2.0", name: "x", run, phaze: "expand" } as never)]),
      (e: { code?: string; message: string }) =>
        e.code === "E_INVALID_STEP" &&
        /step 1\.2\.0\/x: unknown option `phaze` \(did you mean "phase"\?\)/.test(e.message),
    );
  });

  it("@registerUpgrade(version, { phaze }) is refused the same way", () => {
    class Steps {
      @registerUpgrade("1.3.0", { phaze: "contract" } as never)
      dropOld() {}
    }
    assert.throws(
      () => new StepRegistry([Steps]),
      /step 1\.3\.0\/dropOld: unknown option `phaze` \(did you mean "phase"\?\)/,
    );
  });

  it("SQL directives: any case is read; misspelt, block, late and conflicting ones are refused naming file and line", () => {
    assert.equal(sqlStepPhase("-- Lockstep-Phase: Expand\nSELECT 1;\n").phase, "expand");
    assert.equal(sqlStepPhase("-- note\n-- lockstep-phase: contract\n\nSELECT 1;\n").phase, "contract");
    assert.equal(sqlStepPhase("-- lockstep note: prose, not a directive\nSELECT 1;\n").phase, undefined);
    const refused: [string, RegExp][] = [
      [
        "-- lockstep-phaze: expand\nSELECT 1;\n",
        /f\.sql:1: unknown directive `lockstep-phaze` \(did you mean "lockstep-phase"\?\)/,
      ],
      ["/* lockstep-phase: expand */\nSELECT 1;\n", /f\.sql:1: .*block comment/],
      [
        "-- lockstep phase: expand\nSELECT 1;\n",
        /f\.sql:1: unknown directive `lockstep phase` \(did you mean "lockstep-phase"\?\)/,
      ],
      ["SELECT 1;\n-- lockstep-phase: expand\n", /f\.sql:2: .*after the first statement/],
      [
        "-- lockstep-phase: expand\n-- lockstep-phase: contract\nSELECT 1;\n",
        /f\.sql:2: `lockstep-phase: contract` contradicts `lockstep-phase: expand` on line 1/,
      ],
    ];
    for (const [sql, message] of refused) {
      assert.throws(
        () => sqlStepPhase(sql, "f.sql"),
        (e: { code?: string; message: string }) => e.code === "E_INVALID_STEP" && message.test(e.message),
        sql,
      );
    }
  });

  it("a SQL file's directive error names the file; the phase line stays out of the checksum", () => {
    const dir = mkdtempSync(join(tmpdir(), "lockstep-directive-"));
    try {
      const path = join(dir, "1.1.0-add-x.sql");
      writeFileSync(path, "SELECT 1;\n");
      const plain = sqlFileStep(path).checksum;
      writeFileSync(path, "-- LOCKSTEP-PHASE: expand\nSELECT 1;\n");
      assert.equal(sqlFileStep(path).checksum, plain);
      assert.equal(sqlFileStep(path).phase, "expand");
      writeFileSync(path, "-- lockstep-phaze: expand\nSELECT 1;\n");
      assert.throws(
        () => sqlFileStep(path),
        new RegExp(`${path.replaceAll(".", "\\.")}:1: unknown directive`),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
