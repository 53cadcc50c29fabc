/**
 * Issue 10's "zero downtime, measured": the recipe app (Express, examples/rolling/) as real
 * processes behind a round-robin proxy that retries nothing, a client loop writing users and
 * reading them back through the columns the steps touch, and a rollout from 1.0.0 to 1.2.0:
 * start a 1.2.0 replica (its guard applies the expand step and defers the contract), add it
 * to the proxy once ready, drain and stop the 1.0.0 replicas one by one, then
 * `lockstep upgrade --contract`. No request may fail. The same rollout with today's
 * one-step rename (no phase, applied with --allow-downtime) must show failures.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe } from "node:test";
import { lockstep, makeProject, REPO } from "./support/cli.js";
import { fixtureNamed } from "./support/fixtures.js";
import { describeFixture, harnessTest, sleep } from "./support/harness.js";
import { ClientLoop, type ClientReport, describeFailures } from "./support/rolling-client.js";
import {
  type AppReplica,
  Replicas,
  startApp,
  stopGracefully,
  waitReady,
} from "./support/rolling-processes.js";
import { RoundRobinProxy } from "./support/rolling-proxy.js";
import { noPhaseRecipeConfig } from "./support/rolling-steps.js";

const RECIPE_CONFIG = join(REPO, "examples", "rolling", "lockstep.config.ts");
const MIN_REQUESTS = 2_000;

/** How the 1.2.0 release's database change is made. */
type Change = "expand/contract" | "no phase";

/**
 * Runs the rollout on `url` and returns what the client saw. `config` is the lockstep config
 * every replica and every CLI run uses.
 */
async function rollout(url: string, config: string, change: Change): Promise<ClientReport> {
  const env = { DATABASE_URL: url, LOCKSTEP_CONFIG: config, LOCKSTEP_POLICY: "upgrade" };
  const cli = async (appVersion: string, ...args: string[]) => {
    const run = await lockstep(REPO, [...args, "--yes", "--config", config], {
      ...env,
      APP_VERSION: appVersion,
    });
    assert.equal(run.code, 0, `lockstep ${args.join(" ")}: ${run.stdout}${run.stderr}`);
  };
  const replicas = new Replicas();
  const proxy = await RoundRobinProxy.start();
  let client: ClientLoop | undefined;
  try {
    // Release 1.0.0's first deployment: its steps build the schema (a pre-deploy Job).
    await cli("1.0.0", "upgrade", "--from-version", "0.0.0");
    const old: AppReplica[] = [];
    for (let i = 0; i < 2; i++) old.push(await startApp(replicas, "express", "1.0.0", env));
    for (const app of old) {
      await waitReady(app);
      proxy.add(app.port);
    }
    client = new ClientLoop(proxy.url);
    client.phase = "1.0.0 ×2";
    await sleep(1_000);

    if (change === "no phase") {
      // Today: the pre-deploy Job applies the breaking step while 1.0.0 still serves.
      client.phase = "rename applied, 1.0.0 ×2";
      await cli("1.2.0", "upgrade", "--allow-downtime");
    }
    const next = await startApp(replicas, "express", "1.2.0", env);
    await waitReady(next);
    proxy.add(next.port);
    client.phase = "1.0.0 ×2 + 1.2.0";
    await sleep(1_000);
    for (const [i, app] of old.entries()) {
      await proxy.remove(app.port); // the load balancer drains it first
      await stopGracefully(app.replica);
      client.phase = `1.0.0 ×${1 - i} + 1.2.0`;
      await sleep(1_000);
    }
    if (change === "expand/contract") {
      await cli("1.2.0", "upgrade", "--contract");
      client.phase = "contracted, 1.2.0";
    }
    await sleep(1_000);
    const report = await client.stop(MIN_REQUESTS);
    client = undefined;
    assert.ok(next.replica.alive, next.replica.output());
    return report;
  } finally {
    await client?.stop(0);
    await replicas.killAll();
    await proxy.close();
  }
}

for (const name of ["sqlite", "postgres"]) {
  const fixture = await fixtureNamed(name);
  await describeFixture(fixture, describe, () => {
    const test = harnessTest(fixture);

    test("rolling 1.0.0 → 1.2.0 with expand and contract steps: 0 failed requests of ≥ 2000", async (h) => {
      const report = await rollout(h.db.url, RECIPE_CONFIG, "expand/contract");
      console.log(
        `# zero-downtime ${name} expand/contract: ${report.requests} requests, ${report.failures.length} failed`,
      );
      assert.ok(report.requests >= MIN_REQUESTS);
      assert.equal(report.failures.length, 0, describeFailures(report));
    });

    test("the same rollout with today's one-step rename (no phase, --allow-downtime) fails requests", async (h) => {
      const project = makeProject({ "lockstep.config.ts": noPhaseRecipeConfig() });
      try {
        const report = await rollout(h.db.url, join(project.dir, "lockstep.config.ts"), "no phase");
        console.log(
          `# zero-downtime ${name} no phase: ${report.requests} requests, ${report.failures.length} failed`,
        );
        assert.ok(report.requests >= MIN_REQUESTS);
        assert.ok(report.failures.length > 0, describeFailures(report));
        // Every failure is old code on renamed data, before its replica left.
        for (const f of report.failures) assert.match(f.phase, /1\.0\.0 ×[12]/, describeFailures(report));
      } finally {
        project.cleanup();
      }
    });
  });
}
