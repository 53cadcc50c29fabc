/**
 * A holder frozen with SIGSTOP past its lease (issues 3 and 4): where the lease can expire
 * (a lease row or document), another upgrader takes it over and finishes, and the frozen
 * one, once resumed, stops with E_LEASE_LOST before its next write; every step is applied
 * once. Where the lease is the database's session lock (PostgreSQL's default, MySQL), a
 * frozen holder keeps it: nobody takes over, and it finishes when resumed.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { adapterFromUrl } from "../src/adapters/from-url.js";
import { isLockstepError } from "../src/core/errors.js";
import { Upgrader } from "../src/core/upgrader.js";
import { type AdapterFixture, loadFixtures } from "./support/fixtures.js";
import { describeFixture, Harness, sleep } from "./support/harness.js";
import { LOST_LEASE_STEP_IDS, lostLeaseSteps } from "./support/process-scenarios.js";

const CHILD = fileURLToPath(new URL("./support/freeze-child.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const TTL_MS = 1500;

/** Runs the freezing child; resolves its JSON report and exposes the moment it reaches the freeze point. */
function freezer(fixture: string, url: string) {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, fixture, url, String(TTL_MS)], {
    cwd: ROOT,
  });
  let out = "";
  let err = "";
  let onFreeze: () => void = () => undefined;
  const frozenPoint = new Promise<void>((resolve) => {
    onFreeze = resolve;
  });
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    out += chunk;
    if (out.includes("FREEZE_POINT\n")) onFreeze();
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    err += chunk;
  });
  const report = new Promise<Record<string, unknown>>((resolve, reject) => {
    child.on("exit", () => {
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (line) resolve(JSON.parse(line) as Record<string, unknown>);
      else reject(new Error(`freeze child printed no report: ${out}\n${err}`));
    });
  });
  return { child, frozenPoint, report };
}

async function lostLeaseTests(fixture: AdapterFixture, urlSuffix = "") {
  it("a frozen holder cannot write after another upgrader took its lease over", async () => {
    const h = await Harness.create(fixture);
    const { child, frozenPoint, report } = freezer(fixture.name, h.db.url + urlSuffix);
    try {
      const init = await h.upgrader("0.1.0", []);
      await init.init();
      await init.close();
      const probe = await h.adapter();
      const sessionLock = (await probe.describe()).capabilities.leaseMode === "session-lock";
      // Session locks are per connection; the suffix switches PostgreSQL to its lease row.
      if (sessionLock && urlSuffix === "") assert.fail("use a lease-row URL for this test");

      await frozenPoint;
      child.kill("SIGSTOP");
      await sleep(TTL_MS * 2);
      const taker = new Upgrader({
        adapter: await adapterFromUrl(h.db.url + urlSuffix),
        appVersion: "0.3.0",
        steps: lostLeaseSteps(h.db.mark),
        lease: { ttlMs: TTL_MS, pollMs: 25, waitMs: 20_000 },
      });
      const taken = await taker.upgrade().finally(() => taker.close());
      assert.deepEqual(
        taken.results.map((r) => [r.step, r.status]),
        [[LOST_LEASE_STEP_IDS[1], "applied"]],
      );
      child.kill("SIGCONT");
      const frozen = await report;
      assert.deepEqual(
        frozen,
        { ok: false, code: "E_LEASE_LOST" },
        "the resumed holder stops before writing",
      );
      const marks = await h.db.marks();
      for (const id of LOST_LEASE_STEP_IDS)
        assert.equal(marks.filter((m) => m === id).length, 1, `${id} once`);
      const state = await h.state();
      assert.equal(state.stamp, "0.3.0");
      assert.deepEqual(state.interrupted, []);
      const applied = state.ledger.filter((e) => e.kind === "applied").map((e) => `${e.version}/${e.name}`);
      assert.deepEqual(applied.sort(), [...LOST_LEASE_STEP_IDS].sort());
    } finally {
      child.kill("SIGCONT");
      child.kill("SIGKILL");
      await h.dispose();
    }
  });
}

async function sessionLockTests(fixture: AdapterFixture) {
  it("a frozen holder keeps its session lock: nobody takes over, and it finishes when resumed", async () => {
    const h = await Harness.create(fixture);
    const { child, frozenPoint, report } = freezer(fixture.name, h.db.url);
    try {
      const init = await h.upgrader("0.1.0", []);
      await init.init();
      await init.close();
      await frozenPoint;
      child.kill("SIGSTOP");
      await sleep(TTL_MS * 2);
      const waiter = await h.upgrader("0.3.0", lostLeaseSteps(h.db.mark), {
        lease: { ttlMs: TTL_MS, pollMs: 25, waitMs: 1_000 },
      });
      await assert.rejects(waiter.upgrade(), (error) => isLockstepError(error, "E_LOCK_HELD"));
      child.kill("SIGCONT");
      assert.deepEqual(await report, { ok: true, applied: [...LOST_LEASE_STEP_IDS] });
      const marks = await h.db.marks();
      for (const id of LOST_LEASE_STEP_IDS)
        assert.equal(marks.filter((m) => m === id).length, 1, `${id} once`);
    } finally {
      child.kill("SIGCONT");
      child.kill("SIGKILL");
      await h.dispose();
    }
  });
}

for (const fixture of await loadFixtures()) {
  await describeFixture(fixture, describe, () => {
    if (fixture.name === "postgres") {
      describe("lease=table", () => lostLeaseTests(fixture, "&lease=table"));
      describe("lease=session", () => sessionLockTests(fixture));
    } else if (fixture.name === "mysql") {
      sessionLockTests(fixture);
    } else {
      lostLeaseTests(fixture);
    }
  });
}
