/**
 * Issue 10: the Express and Fastify recipe apps start the guard without waiting for it. On a
 * new database whose 1.0.0 steps take 5 s (policy upgrade), real HTTP requests see readiness
 * answer 503 (with a JSON body) while the step runs and 200 after it, liveness 200
 * throughout, and the users routes refuse until the database is ready.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe } from "node:test";
import { makeProject } from "./support/cli.js";
import { fixtureNamed } from "./support/fixtures.js";
import { describeFixture, harnessTest, sleep } from "./support/harness.js";
import { probe, Replicas, startApp, stopGracefully, waitReady } from "./support/rolling-processes.js";
import { slowRecipeConfig } from "./support/rolling-steps.js";

const STEP_MS = 5_000;

const fixture = await fixtureNamed("sqlite");
await describeFixture(fixture, describe, () => {
  const test = harnessTest(fixture);
  for (const server of ["express", "fastify"] as const) {
    test(`${server}: readiness 503 during a 5 s step and 200 after, liveness 200 throughout`, async (h) => {
      const project = makeProject({ "lockstep.config.ts": slowRecipeConfig(STEP_MS) });
      const replicas = new Replicas();
      try {
        const app = await startApp(replicas, server, "1.0.0", {
          DATABASE_URL: h.db.url,
          LOCKSTEP_CONFIG: join(project.dir, "lockstep.config.ts"),
          LOCKSTEP_POLICY: "upgrade",
        });
        const listening = Date.now();
        const notReady: string[] = [];
        let readyAfterMs = -1;
        while (readyAfterMs < 0) {
          const [ready, live] = await Promise.all([probe(app.port, "/readyz"), probe(app.port, "/healthz")]);
          assert.equal(live.status, 200, `liveness answers while the step runs\n${app.replica.output()}`);
          if (ready.status === 200) readyAfterMs = Date.now() - listening;
          else {
            assert.equal(ready.status, 503, ready.body);
            notReady.push(ready.body);
            if (notReady.length === 1) {
              const users = await fetch(`http://127.0.0.1:${app.port}/users/1`);
              assert.equal(users.status, 503, "users are refused until the guard passed");
            }
          }
          assert.ok(Date.now() - listening < 60_000, `never ready\n${app.replica.output()}`);
          await sleep(200);
        }
        assert.ok(notReady.length >= 10, `503 while the 5 s step ran (${notReady.length} probes)`);
        assert.ok(readyAfterMs >= STEP_MS - 1_000, `ready after ${readyAfterMs} ms`);
        for (const body of notReady) assert.equal(typeof JSON.parse(body).status, "string", body);

        const ready = await probe(app.port, "/readyz");
        assert.equal(ready.status, 200);
        assert.equal(JSON.parse(ready.body).status, "CURRENT", ready.body);
        assert.equal((await probe(app.port, "/healthz")).status, 200);
        const created = await fetch(`http://127.0.0.1:${app.port}/users`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ name: "Ada" }),
        });
        assert.equal(created.status, 201, await created.clone().text());
        assert.deepEqual(await created.json(), { id: 1, name: "Ada" });
      } finally {
        await replicas.killAll();
        project.cleanup();
      }
    });
  }

  test("the 1.2.0 app logs the contract step it deferred while a 1.0.0 replica runs", async (h) => {
    const replicas = new Replicas();
    try {
      const env = { DATABASE_URL: h.db.url, LOCKSTEP_POLICY: "upgrade" };
      const old = await startApp(replicas, "express", "1.0.0", env);
      await waitReady(old);
      const next = await startApp(replicas, "express", "1.2.0", env);
      await waitReady(next);
      const line = await next.replica.waitForLine(/\] database CURRENT/, 10_000);
      assert.match(line, /applied 1\.1\.0\/add-display-name/, next.replica.output());
      assert.match(line, /deferred 1\.2\.0\/drop-name/, next.replica.output());
    } finally {
      await replicas.killAll();
    }
  });

  test("a no-phase step while an older replica runs: the newer app keeps running, 503 with the reason, then serves once the older one stopped", async (h) => {
    const createUsers = new URL("../examples/rolling/upgrades/1.0.0-create-users.ts", import.meta.url)
      .pathname;
    const project = makeProject({
      "lockstep.config.ts": `import { defineConfig, upgrade } from "lockstep";
import createUsers from ${JSON.stringify(createUsers)};
export default defineConfig({
  appVersion: process.env.APP_VERSION ?? "1.0.0",
  database: process.env.DATABASE_URL ?? "",
  stepsBuildSchema: true,
  steps: [createUsers, upgrade({ version: "1.1.0", name: "no-phase", run: () => undefined })],
});
`,
    });
    const replicas = new Replicas();
    try {
      const env = {
        DATABASE_URL: h.db.url,
        LOCKSTEP_CONFIG: join(project.dir, "lockstep.config.ts"),
        LOCKSTEP_POLICY: "upgrade",
      };
      const old = await startApp(replicas, "express", "1.0.0", env);
      await waitReady(old);
      const next = await startApp(replicas, "express", "1.1.0", env);
      await next.replica.waitForLine(/E_OLDER_CODE_RUNNING.*trying again/, 20_000);
      await sleep(2_500);
      assert.ok(next.replica.alive, `still running while it retries\n${next.replica.output()}`);
      const waiting = await probe(next.port, "/readyz");
      assert.equal(waiting.status, 503, waiting.body);
      const body = JSON.parse(waiting.body);
      assert.equal(body.status, "STARTING");
      assert.equal(body.error.code, "E_OLDER_CODE_RUNNING", waiting.body);
      await stopGracefully(old.replica); // leaves the registry in its SIGTERM handler
      await waitReady(next, 60_000);
      await next.replica.waitForLine(/database CURRENT: upgraded, applied 1\.1\.0\/no-phase/, 10_000);
    } finally {
      await replicas.killAll();
      project.cleanup();
    }
  });
});
