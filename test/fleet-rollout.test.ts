/**
 * The rollout pool on its own (each target's work is a callback here; the CLI tests run it on
 * real databases): how many run at once, canaries first, what --on-error stop leaves skipped.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { type RolloutOptions, runFleet } from "../src/fleet/run-fleet.js";
import { resultOf, type TargetStatus } from "../src/fleet/target-result.js";
import type { Target } from "../src/fleet/targets.js";

const targets: Target[] = Array.from({ length: 8 }, (_, i) => ({
  name: `t${i + 1}`,
  url: `sqlite:t${i + 1}.db`,
  baseDir: "/",
  origin: `list:${i + 1}`,
}));

/** Runs the fleet with each target taking 5 ms (t4: 40 ms); `failing` end `failed`. Logs starts and ends. */
async function rollout(options: RolloutOptions, failing: readonly string[] = []) {
  const log: string[] = [];
  let inFlight = 0;
  let most = 0;
  const results = await runFleet(
    targets,
    async (target) => {
      inFlight++;
      most = Math.max(most, inFlight);
      log.push(`start ${target.name}`);
      await new Promise((r) => setTimeout(r, target.name === "t4" ? 40 : 5));
      inFlight--;
      log.push(`end ${target.name}`);
      const status: TargetStatus = failing.includes(target.name) ? "failed" : "upgraded";
      return resultOf(target, { status });
    },
    options,
  );
  return { log, most, statuses: results.map((r) => `${r.name}:${r.status}`) };
}

test("--concurrency N: never more than N at once, and N at once when there is work", async () => {
  for (const concurrency of [1, 3, 20]) {
    const { most, statuses } = await rollout({ concurrency, canary: 0, onError: "stop" });
    assert.equal(most, Math.min(concurrency, targets.length), `concurrency ${concurrency}`);
    assert.ok(statuses.every((s) => s.endsWith(":upgraded")));
  }
});

test("--canary N: the first N all end before any other starts", async () => {
  const { log } = await rollout({ concurrency: 4, canary: 2, onError: "stop" });
  const lastCanaryEnd = Math.max(log.indexOf("end t1"), log.indexOf("end t2"));
  const firstOther = Math.min(...["t3", "t4", "t5"].map((n) => log.indexOf(`start ${n}`)));
  assert.ok(lastCanaryEnd < firstOther, log.join(", "));
});

test("--on-error stop: those in flight finish, none starts after the failure, the rest skipped", async () => {
  const { log, statuses } = await rollout({ concurrency: 2, canary: 0, onError: "stop" }, ["t3"]);
  const failedAt = log.indexOf("end t3");
  assert.ok(
    log.slice(failedAt).every((e) => !e.startsWith("start")),
    log.join(", "),
  );
  assert.equal(statuses[2], "t3:failed");
  // t4 (slow) started beside t3 and, in flight when t3 failed, finished; t5 onwards never started.
  assert.equal(statuses[3], "t4:upgraded");
  assert.deepEqual(statuses.slice(4), ["t5:skipped", "t6:skipped", "t7:skipped", "t8:skipped"]);
});

test("--on-error continue: every target runs; a canary failure still stops the rest", async () => {
  const go = await rollout({ concurrency: 3, canary: 0, onError: "continue" }, ["t2", "t6"]);
  assert.equal(go.statuses.filter((s) => s.endsWith(":skipped")).length, 0);
  const canary = await rollout({ concurrency: 3, canary: 3, onError: "continue" }, ["t2"]);
  assert.deepEqual(canary.statuses.slice(0, 3), ["t1:upgraded", "t2:failed", "t3:upgraded"]);
  assert.ok(canary.statuses.slice(3).every((s) => s.endsWith(":skipped")));
});
