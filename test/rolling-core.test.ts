/**
 * Rolling deploys on real databases (every fixture): the floor written by init, --from-version,
 * steps and auto-stamps; contract steps deferred while an older instance is registered, and
 * applied by `upgrade --contract` once it is gone; no-phase steps refused; overrides recorded.
 * Older instances are registered through the adapter's own registry (another host, so they
 * are judged by their time to live). Needs the adapters' floor and registry (issue 10).
 */
import assert from "node:assert/strict";
import { describe } from "node:test";
import type { Adapter, HistoryEntry, InstanceRecord } from "../src/core/adapter.js";
import { condition } from "../src/core/conditions.js";
import { DEFAULT_INSTANCE_TTL_MS } from "../src/core/instances.js";
import type { StepDefinition, StepPhase } from "../src/core/step.js";
import { findStoreDamage } from "../src/core/store-damage.js";
import { checkDatabase } from "../src/guard/index.js";
import { rejectsWith, takeLease } from "./support/assertions.js";
import { type AdapterFixture, loadFixtures } from "./support/fixtures.js";
import { describeFixture, type Harness, harnessTest, markStep } from "./support/harness.js";
import { leaseRequestFrom } from "./support/lease-fixtures.js";

let instances = 0;

/** Registers a copy of `release` running on another host: live until its TTL runs out. */
async function registerOlder(adapter: Adapter, release: string, host = "web-old"): Promise<InstanceRecord> {
  const record: InstanceRecord = {
    id: `test-instance-${process.pid}-${++instances}`,
    appVersion: release,
    host,
    pid: 4000 + instances,
    owner: `${host}/other-machine/ns/${4000 + instances}/abcd`,
    startedAt: new Date().toISOString(),
  };
  await adapter.registerInstance(record, DEFAULT_INSTANCE_TTL_MS);
  return record;
}

const entries = (history: readonly HistoryEntry[], action: HistoryEntry["action"]) =>
  history.filter((e) => e.action === action);

function rolling(fixture: AdapterFixture) {
  const test = harnessTest(fixture);

  const step = (h: Harness, id: string, phase?: StepPhase, extra: Partial<StepDefinition> = {}) => {
    const [version, name] = id.split("/") as [string, string];
    return markStep(h.db, version, name, { ...(phase && { phase }), ...extra });
  };
  /** 1.1.0 adds (expand), 1.2.0 drops (contract). */
  const release12 = (h: Harness) => [
    step(h, "1.1.0/add-col", "expand"),
    step(h, "1.2.0/drop-old", "contract"),
  ];

  async function initAt(h: Harness, version: string) {
    const u = await h.upgrader(version, []);
    await u.init();
    await u.close();
  }

  test("init --version X and --from-version X record X as the floor", async (h) => {
    await initAt(h, "1.0.0");
    let state = await h.state();
    assert.deepEqual([state.stamp, state.floor, state.floorRecorded], ["1.0.0", "1.0.0", true]);
    const u = await h.upgrader("1.0.0", []);
    await u.init({ version: "0.9.0", force: true });
    state = await h.state();
    assert.deepEqual([state.stamp, state.floor], ["0.9.0", "0.9.0"]);
  });

  test("upgrade --from-version X on an unstamped database records X as the floor", async (h) => {
    const u = await h.upgrader("1.1.0", [step(h, "1.0.0/old"), step(h, "1.1.0/add-col", "expand")]);
    await u.upgrade({ fromVersion: "1.0.0" });
    const state = await h.state();
    assert.deepEqual([state.stamp, state.floor, state.floorRecorded], ["1.1.0", "1.0.0", true]);
    assert.deepEqual(await h.marks(), ["1.1.0/add-col"]);
  });

  test("an upgrader that raised the floor holds the lease: older code at the stamp is refused, not let through", async (h) => {
    await initAt(h, "1.0.0");
    const adapter = await h.adapter();
    await adapter.ensureStore();
    // What a 1.1.0 upgrader does before a contract step: the lease, then the floor raised.
    const lease = takeLease(
      await adapter.tryAcquireLease(leaseRequestFrom("web-new", "web-new/m/1/99/abcd")),
    );
    try {
      await adapter.write(lease, (writer) => writer.setFloor("1.1.0"));
      const guard = checkDatabase({
        database: h.db.url,
        appVersion: "1.0.0",
        steps: [],
        policy: "refuse",
        autoKeepAlive: false,
      });
      await rejectsWith(guard, "E_LOCK_HELD");
    } finally {
      await lease.release();
    }
  });

  test("older instance live: expand applied, contract deferred naming it, stamp at the target", async (h) => {
    await initAt(h, "1.0.0");
    const adapter = await h.adapter();
    await registerOlder(adapter, "1.0.0");
    const u = await h.upgrader("1.2.0", release12(h));
    const result = await u.upgrade();
    assert.deepEqual(
      result.results.map((r) => `${r.step}:${r.status}`),
      ["1.1.0/add-col:applied"],
    );
    assert.deepEqual(
      result.deferred.map((d) => [d.step, d.heldBy.map((g) => `${g.release}×${g.count}@${g.hosts}`)]),
      [["1.2.0/drop-old", ["1.0.0×1@web-old"]]],
    );
    assert.deepEqual(await h.marks(), ["1.1.0/add-col"]);
    const state = await h.state();
    assert.deepEqual([state.stamp, state.floor], ["1.2.0", "1.0.0"]);
    const status = await u.status({ instances: true });
    assert.equal(status.status, "CURRENT");
    assert.deepEqual(status.deferred, ["1.2.0/drop-old"]);
    assert.deepEqual(
      status.instances?.map((g) => g.release),
      ["1.0.0"],
    );
    // A deferred step below the stamp is no lost step: judging the store reads no history.
    let historyReads = 0;
    const counted = new Proxy(adapter, {
      get(target, key) {
        if (key === "readHistory") historyReads++;
        const value = Reflect.get(target, key, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    assert.equal(await findStoreDamage(counted, await h.state(), u.steps), null);
    assert.equal(historyReads, 0);
    const finished = entries(await h.history(), "upgrade_finished").at(-1);
    assert.deepEqual(
      ((finished?.details?.deferred ?? []) as { step: string }[]).map((d) => d.step),
      ["1.2.0/drop-old"],
    );
    // A restarted 1.0.0 copy can serve: compatible, never writing.
    const old = await h.upgrader("1.0.0", []);
    assert.equal((await old.status()).status, "AHEAD_COMPATIBLE");
    const check = await old.check({ policy: "refuse" });
    assert.equal(check.status, "AHEAD_COMPATIBLE");
    assert.equal(check.warnings.length, 1);
  });

  test("--contract is refused while older code runs, then applied once it is gone: the floor rises, 1.0.0 is AHEAD", async (h) => {
    await initAt(h, "1.0.0");
    const adapter = await h.adapter();
    const older = await registerOlder(adapter, "1.0.0");
    const u = await h.upgrader("1.2.0", release12(h));
    await u.upgrade();
    const error = await rejectsWith(u.upgrade({ contract: true }), "E_OLDER_CODE_RUNNING");
    assert.match(error.message, /1\.0\.0 ×1 on web-old/);
    assert.deepEqual(await h.marks(), ["1.1.0/add-col"]);
    assert.equal((await h.state()).floor, "1.0.0");
    await adapter.removeInstance?.(older.id);
    const result = await u.upgrade({ contract: true });
    assert.deepEqual(
      result.results.map((r) => r.step),
      ["1.2.0/drop-old"],
    );
    assert.deepEqual(result.deferred, []);
    assert.deepEqual(await h.marks(), ["1.1.0/add-col", "1.2.0/drop-old"]);
    const state = await h.state();
    assert.deepEqual([state.stamp, state.floor], ["1.2.0", "1.2.0"]);
    const old = await h.upgrader("1.0.0", []);
    const status = await old.status();
    assert.equal(status.status, "AHEAD");
    assert.deepEqual(status.floorSetBy, ["1.2.0/drop-old"]);
    await rejectsWith(old.check({ policy: "refuse" }), "E_AHEAD");
  });

  test("--contract --force applies while older code runs, recorded in history", async (h) => {
    await initAt(h, "1.0.0");
    await registerOlder(await h.adapter(), "1.0.0");
    const u = await h.upgrader("1.2.0", release12(h));
    await u.upgrade();
    await u.upgrade({ contract: true, force: true });
    assert.deepEqual(await h.marks(), ["1.1.0/add-col", "1.2.0/drop-old"]);
    const history = await h.history();
    const started = entries(history, "step_started").find((e) => e.step === "drop-old");
    assert.equal(started?.details?.override, "--force");
    const finished = entries(history, "upgrade_finished").at(-1);
    assert.deepEqual(
      ((finished?.details?.overrides ?? []) as { step: string; flag: string }[]).map((o) => [o.step, o.flag]),
      [["1.2.0/drop-old", "--force"]],
    );
  });

  test("a step without a phase is refused before anything is written; --allow-downtime applies it, recorded", async (h) => {
    await initAt(h, "1.0.0");
    await registerOlder(await h.adapter(), "1.0.0");
    const steps = [step(h, "1.1.0/add-col", "expand"), step(h, "1.1.0/rename")];
    const u = await h.upgrader("1.1.0", steps);
    const before = (await h.history()).length;
    const error = await rejectsWith(u.upgrade(), "E_OLDER_CODE_RUNNING");
    assert.match(error.message, /1\.1\.0\/rename has no phase/);
    assert.deepEqual(await h.marks(), []);
    assert.equal((await h.history()).length, before);
    assert.equal((await h.state()).stamp, "1.0.0");
    await u.upgrade({ allowDowntime: true });
    assert.deepEqual(await h.marks(), ["1.1.0/add-col", "1.1.0/rename"]);
    const state = await h.state();
    assert.deepEqual([state.stamp, state.floor], ["1.1.0", "1.1.0"]);
    const started = entries(await h.history(), "step_started").find((e) => e.step === "rename");
    assert.equal(started?.details?.override, "--allow-downtime");
  });

  test("without older code, a plain upgrade applies everything in order and raises the floor", async (h) => {
    await initAt(h, "1.0.0");
    await registerOlder(await h.adapter(), "1.2.0", "web-new");
    const u = await h.upgrader("1.2.0", release12(h));
    const result = await u.upgrade();
    assert.deepEqual(result.deferred, []);
    assert.deepEqual(await h.marks(), ["1.1.0/add-col", "1.2.0/drop-old"]);
    assert.equal((await h.state()).floor, "1.2.0");
  });

  test("an older instance registering after the plan (before the floor rose) defers the contract; the floor goes back", async (h) => {
    await initAt(h, "1.0.0");
    const adapter = await h.adapter();
    // The precondition runs after the upgrade read the registry and before the floor rises.
    const late = condition("an older replica starts meanwhile", async () => {
      await registerOlder(adapter, "1.0.0", "web-late");
      return null;
    });
    const u = await h.upgrader("1.2.0", [
      step(h, "1.1.0/add-col", "expand"),
      step(h, "1.2.0/drop-old", "contract", { conditions: [late] }),
    ]);
    const result = await u.upgrade();
    assert.deepEqual(
      result.deferred.map((d) => d.step),
      ["1.2.0/drop-old"],
    );
    assert.deepEqual(await h.marks(), ["1.1.0/add-col"]);
    const state = await h.state();
    assert.deepEqual([state.stamp, state.floor], ["1.2.0", "1.0.0"]);
  });

  test("an atomic contract step that fails puts the floor back", async (h) => {
    if (!fixture.atomicSteps) return;
    await initAt(h, "1.0.0");
    const failing = markStep(h.db, "1.2.0", "drop-old", {
      phase: "contract",
      run: async () => {
        throw new Error("boom");
      },
    });
    const u = await h.upgrader("1.2.0", [failing]);
    await rejectsWith(u.upgrade(), "E_STEP_FAILED");
    const state = await h.state();
    assert.deepEqual([state.stamp, state.floor], ["1.0.0", "1.0.0"]);
  });

  test("a release with no steps: the auto-stamp keeps the floor, older replicas stay AHEAD_COMPATIBLE", async (h) => {
    await initAt(h, "1.0.0");
    const u = await h.upgrader("1.1.0", []);
    const check = await u.check({ policy: "refuse" });
    assert.equal(check.status, "AUTO_STAMPED");
    const state = await h.state();
    assert.deepEqual([state.stamp, state.floor], ["1.1.0", "1.0.0"]);
    const old = await h.upgrader("1.0.0", []);
    assert.equal((await old.check({ policy: "refuse" })).status, "AHEAD_COMPATIBLE");
  });

  test("a database stamped before floors gets its old stamp as floor when the stamp moves", async (h) => {
    const adapter = await h.adapter();
    await adapter.ensureStore();
    await adapter.write(null, (w) => w.setStamp("1.0.0"));
    let state = await h.state();
    assert.deepEqual([state.floor, state.floorRecorded], ["1.0.0", false]);
    const u = await h.upgrader("1.1.0", [step(h, "1.1.0/add-col", "expand")]);
    await u.upgrade();
    state = await h.state();
    assert.deepEqual([state.stamp, state.floor, state.floorRecorded], ["1.1.0", "1.0.0", true]);
  });
}

for (const fixture of await loadFixtures()) {
  await describeFixture(fixture, describe, () => rolling(fixture));
}
