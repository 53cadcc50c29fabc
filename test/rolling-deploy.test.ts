/**
 * Issue 10's rolling-deploy acceptance, with real OS processes on every database: replicas
 * of releases 1.0.0, 1.1.0 and 1.2.0 (test/support/rolling-child.ts) boot with the start-up
 * guard and stay up; the operator runs the real CLI. Steps: 1.1.0 expand, 1.2.0 contract,
 * each marking its identity, so a step that ran twice shows.
 */
import assert from "node:assert/strict";
import { describe } from "node:test";
import { makeProject, type Project } from "./support/cli.js";
import { loadFixtures } from "./support/fixtures.js";
import { describeFixture, type Harness, harnessTest } from "./support/harness.js";
import { boot, type GuardOutcome, outcomeOf, Replicas } from "./support/rolling-processes.js";
import { CONTRACT_ID, EXPAND_ID, phasedConfig, phasedSteps } from "./support/rolling-steps.js";

/** The database at release 1.0.0 (floor 1.0.0), as its first deployment left it. */
async function atRelease100(h: Harness, fixture: string): Promise<void> {
  const upgrader = await h.upgrader("1.0.0", await phasedSteps(fixture));
  await upgrader.init({ version: "1.0.0" });
}

/** A temp project whose CLI runs the 1.2.0 release's config on this database. */
function operator(h: Harness, fixture: string): Project {
  // An ES module project: the config awaits its steps at the top level.
  return makeProject({
    "package.json": JSON.stringify({ type: "module" }),
    "lockstep.config.ts": phasedConfig(fixture, h.db.url, "1.2.0"),
  });
}

/** Runs `fn` with a fresh set of processes and an operator project, both cleaned up after. */
async function withProcesses(
  h: Harness,
  fixture: string,
  fn: (replicas: Replicas, cli: Project) => Promise<void>,
): Promise<void> {
  const replicas = new Replicas();
  const cli = operator(h, fixture);
  try {
    await fn(replicas, cli);
  } finally {
    await replicas.killAll();
    cli.cleanup();
  }
}

const serving = (o: GuardOutcome) => o.ok;

for (const fixture of await loadFixtures()) {
  await describeFixture(fixture, describe, () => {
    const test = harnessTest(fixture);
    const name = fixture.name;

    test("a rolling deploy 1.0.0 → 1.2.0: expand now, contract once the 1.0.0 replicas are gone", (h) =>
      withProcesses(h, name, async (replicas, cli) => {
        await atRelease100(h, name);
        const old = await Promise.all([1, 2, 3].map(() => boot(replicas, name, h.db.url, "1.0.0", "refuse")));
        for (const { outcome, replica } of old) assert.equal(outcome.status, "CURRENT", replica.output());

        // The first 1.2.0 replica upgrades: the expand step runs, the contract step waits.
        const next = await boot(replicas, name, h.db.url, "1.2.0", "upgrade");
        assert.ok(next.outcome.ok, next.replica.output());
        assert.equal(next.outcome.status, "CURRENT", "a deferred contract step does not block 1.2.0");
        assert.deepEqual(next.outcome.steps, [EXPAND_ID]);
        assert.deepEqual(await h.marks(), [EXPAND_ID]);
        let state = await h.state();
        assert.equal(state.stamp, "1.2.0");
        assert.equal(state.floor, "1.0.0", "an expand step does not raise the floor");

        // A 1.0.0 replica restarting mid-rollout (policy refuse) is compatible and serves.
        await old[0]!.replica.kill();
        const restarted = await boot(replicas, name, h.db.url, "1.0.0", "refuse");
        assert.ok(restarted.outcome.ok, restarted.replica.output());
        assert.equal(restarted.outcome.status, "AHEAD_COMPATIBLE");

        // The contract is refused while 1.0.0 code is live, naming it.
        const refused = await cli.run("upgrade", "--contract", "--yes", "--json");
        assert.equal(refused.code, 3, refused.stdout + refused.stderr);
        assert.equal(refused.json().error.code, "E_OLDER_CODE_RUNNING");
        assert.match(refused.json().error.message, /1\.0\.0/);
        assert.deepEqual(await h.marks(), [EXPAND_ID]);

        // The 1.0.0 replicas are killed: on this host they count as gone at once.
        await Promise.all([old[1]!.replica.kill(), old[2]!.replica.kill(), restarted.replica.kill()]);
        const applied = await cli.run("upgrade", "--contract", "--yes", "--json");
        assert.equal(applied.code, 0, applied.stdout + applied.stderr);
        assert.deepEqual(await h.marks(), [EXPAND_ID, CONTRACT_ID], "every step body ran exactly once");
        state = await h.state();
        assert.equal(state.stamp, "1.2.0");
        assert.equal(state.floor, "1.2.0", "the contract step raised the floor");
        assert.ok(next.replica.alive, "the 1.2.0 replica served throughout");

        // 1.0.0 code cannot run on the contracted data: refused, whatever its policy.
        const late = await boot(replicas, name, h.db.url, "1.0.0", "upgrade");
        assert.equal(late.outcome.ok, false, late.replica.output());
        assert.equal(late.outcome.code, "E_AHEAD");
        assert.equal(await late.replica.exited, 1);
        assert.deepEqual(await h.marks(), [EXPAND_ID, CONTRACT_ID]);
      }));

    test("ten replicas of mixed releases starting together: no step twice, no contract under live older code", (h) =>
      withProcesses(h, name, async (replicas, cli) => {
        await atRelease100(h, name);
        const releases = [
          "1.0.0",
          "1.2.0",
          "1.1.0",
          "1.0.0",
          "1.2.0",
          "1.1.0",
          "1.0.0",
          "1.2.0",
          "1.1.0",
          "1.0.0",
        ];
        const started = releases.map((v) =>
          replicas.guard(name, h.db.url, v, "upgrade", { waitGo: true, holdMs: 300 }),
        );
        await Promise.all(started.map((r) => r.waitForLine(/^READY$/)));
        for (const r of started) r.child.stdin?.write("go\n");
        const outcomes = await Promise.all(started.map((r) => outcomeOf(r)));
        const report = started.map((r) => r.output()).join("\n");

        const marks = await h.marks();
        assert.equal(new Set(marks).size, marks.length, `a step ran twice: ${marks.join(", ")}`);
        assert.equal(marks.filter((m) => m === EXPAND_ID).length, 1, "the expand step ran once");
        const olderServing = outcomes.filter((o, i) => serving(o) && releases[i] !== "1.2.0");
        if (marks.includes(CONTRACT_ID))
          assert.equal(olderServing.length, 0, `the contract ran while older code served\n${report}`);
        for (const [i, o] of outcomes.entries()) {
          if (o.ok) assert.ok(["CURRENT", "AHEAD_COMPATIBLE"].includes(o.status ?? ""), report);
          else assert.equal(o.code, "E_AHEAD", `${releases[i]} refused only below the floor\n${report}`);
        }
        for (const [i, o] of outcomes.entries())
          if (releases[i] === "1.2.0") assert.ok(o.ok, `every 1.2.0 replica serves\n${report}`);

        // Once the older replicas are gone, the contract step (if still deferred) runs once.
        await Promise.all(started.filter((_, i) => releases[i] !== "1.2.0").map((r) => r.kill()));
        const contract = await cli.run("upgrade", "--contract", "--yes", "--json");
        assert.equal(contract.code, 0, contract.stdout + contract.stderr);
        assert.deepEqual(await h.marks(), [EXPAND_ID, CONTRACT_ID]);
      }));

    test("a release with no steps moves the stamp, not the floor: 1.0.0 stays compatible under refuse", (h) =>
      withProcesses(h, name, async (replicas) => {
        await atRelease100(h, name);
        const first = await boot(replicas, name, h.db.url, "1.0.0", "refuse");
        assert.equal(first.outcome.status, "CURRENT", first.replica.output());

        const patch = await boot(replicas, name, h.db.url, "1.0.1", "refuse");
        assert.ok(patch.outcome.ok, patch.replica.output());
        assert.equal(patch.outcome.action, "stamped");
        const state = await h.state();
        assert.equal(state.stamp, "1.0.1");
        assert.equal(state.floor, "1.0.0");

        // Before issue 10 the auto-stamp locked 1.0.0 out (AHEAD under policy refuse).
        for (const policy of ["refuse", "upgrade"] as const) {
          const again = await boot(replicas, name, h.db.url, "1.0.0", policy);
          assert.ok(again.outcome.ok, again.replica.output());
          assert.equal(again.outcome.status, "AHEAD_COMPATIBLE");
        }
        assert.equal((await h.state()).stamp, "1.0.1", "a compatible replica writes nothing");
        assert.deepEqual(await h.marks(), []);
      }));
  });
}
