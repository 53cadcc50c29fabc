/**
 * The zero-downtime test's instruments, checked on their own with what exists without the
 * start-up guard: the recipe app's data layer behind plain node:http
 * (support/rolling-plain-server.mjs), the round-robin proxy and the client loop.
 *
 * - The example's expand/contract SQL keeps 1.0.0 and 1.2.0 consistent side by side: rolled
 *   out by hand (expand, add 1.2.0, drain and stop 1.0.0, contract), no request fails.
 * - The instrument can fail: a replica killed while still in rotation fails requests.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe } from "node:test";
import { lockstep, REPO } from "./support/cli.js";
import { fixtureNamed } from "./support/fixtures.js";
import { describeFixture, harnessTest, sleep } from "./support/harness.js";
import { ClientLoop, describeFailures } from "./support/rolling-client.js";
import {
  type AppReplica,
  Replicas,
  startServer,
  stopGracefully,
  waitReady,
} from "./support/rolling-processes.js";
import { RoundRobinProxy } from "./support/rolling-proxy.js";

const CONFIG = join(REPO, "examples", "rolling", "lockstep.config.ts");
const SERVER = "test/support/rolling-plain-server.mjs";

async function withRollout(
  url: string,
  fn: (ctx: {
    replicas: Replicas;
    proxy: RoundRobinProxy;
    cli: (appVersion: string, ...args: string[]) => Promise<void>;
    start: (appVersion: string) => Promise<AppReplica>;
  }) => Promise<void>,
): Promise<void> {
  const env = { DATABASE_URL: url };
  const replicas = new Replicas();
  const proxy = await RoundRobinProxy.start();
  try {
    await fn({
      replicas,
      proxy,
      async cli(appVersion, ...args) {
        const run = await lockstep(REPO, [...args, "--yes", "--config", CONFIG], {
          ...env,
          APP_VERSION: appVersion,
        });
        assert.equal(run.code, 0, `lockstep ${args.join(" ")}: ${run.stdout}${run.stderr}`);
      },
      async start(appVersion) {
        const app = await startServer(replicas, SERVER, appVersion, env);
        await waitReady(app);
        proxy.add(app.port);
        return app;
      },
    });
  } finally {
    await replicas.killAll();
    await proxy.close();
  }
}

for (const name of ["sqlite", "postgres"]) {
  const fixture = await fixtureNamed(name);
  await describeFixture(fixture, describe, () => {
    const test = harnessTest(fixture);

    test("expand, 1.0.0 and 1.2.0 side by side, drain, contract: no request fails", (h) =>
      withRollout(h.db.url, async ({ proxy, cli, start }) => {
        await cli("1.0.0", "upgrade", "--from-version", "0.0.0");
        const old = [await start("1.0.0"), await start("1.0.0")];
        const client = new ClientLoop(proxy.url);
        client.phase = "1.0.0";
        await sleep(500);
        await cli("1.1.0", "upgrade"); // the expand step only (target 1.1.0)
        client.phase = "expanded";
        await start("1.2.0");
        client.phase = "1.0.0 + 1.2.0";
        await sleep(1_000);
        for (const app of old) {
          await proxy.remove(app.port);
          await stopGracefully(app.replica);
        }
        await cli("1.2.0", "upgrade"); // the contract step
        client.phase = "contracted";
        await sleep(500);
        const report = await client.stop(1_000);
        assert.equal(report.failures.length, 0, describeFailures(report));
        assert.ok((report.perPhase["1.0.0 + 1.2.0"] ?? 0) > 50, describeFailures(report));
      }));

    if (name === "sqlite")
      test("the instrument counts failures: a replica killed while in rotation fails requests", (h) =>
        withRollout(h.db.url, async ({ proxy, cli, start }) => {
          await cli("1.0.0", "upgrade", "--from-version", "0.0.0");
          const [first] = [await start("1.0.0"), await start("1.0.0")];
          const client = new ClientLoop(proxy.url);
          await sleep(500);
          await first!.replica.kill(); // not drained: the proxy still sends it requests
          await sleep(500);
          const report = await client.stop(200);
          assert.ok(report.failures.length > 0, describeFailures(report));
          assert.ok(proxy.proxyErrors > 0);
        }));
  });
}
