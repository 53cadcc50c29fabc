/**
 * Issue 10 acceptance: an Express and a Fastify app with the non-blocking guard, started with
 * a step that sleeps 5 s. With real HTTP requests in a loop: readiness answers 503 while the
 * step runs and 200 after; liveness answers 200 throughout (the app listened at once).
 */
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import express from "express";
import Fastify from "fastify";
import { upgrade } from "../src/core/registry.js";
import { type DatabaseGuard, lockstepReadiness, startDatabaseGuard } from "../src/guard/index.js";
import { type AdapterFixture, loadFixtures } from "./support/fixtures.js";
import { describeFixture, Harness } from "./support/harness.js";

const STEP_MS = 5_000;

interface Probe {
  readonly at: number;
  readonly live: number;
  readonly ready: number;
  readonly body: Record<string, any>;
}

/** An app: its base URL and how to stop it. */
interface App {
  readonly url: string;
  stop(): Promise<void>;
}

async function expressApp(guard: DatabaseGuard): Promise<App> {
  const app = express();
  app.get("/live", (_req, res) => {
    res.json({ ok: true });
  });
  app.get("/ready", lockstepReadiness(guard));
  const server = app.listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function fastifyApp(guard: DatabaseGuard): Promise<App> {
  const app = Fastify();
  app.get("/live", async () => ({ ok: true }));
  app.get("/ready", lockstepReadiness(guard).fastify);
  const url = await app.listen({ port: 0, host: "127.0.0.1" });
  return { url, stop: () => app.close() };
}

/** Probes /live and /ready every 100 ms until the guard settled and two more probes answered. */
async function probeUntilSettled(app: App, guard: DatabaseGuard): Promise<Probe[]> {
  const probes: Probe[] = [];
  let after = 0;
  while (after < 2) {
    if (guard.state() !== "starting") after++;
    const live = await fetch(`${app.url}/live`);
    await live.arrayBuffer();
    const ready = await fetch(`${app.url}/ready`);
    probes.push({
      at: Date.now(),
      live: live.status,
      ready: ready.status,
      body: (await ready.json()) as Record<string, any>,
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return probes;
}

function readinessTests(fixture: AdapterFixture) {
  for (const [framework, start] of [
    ["Express", expressApp],
    ["Fastify", fastifyApp],
  ] as const) {
    it(`${framework}: readiness 503 during a 5 s step, 200 after; liveness 200 throughout`, async () => {
      const h = await Harness.create(fixture);
      let app: App | undefined;
      let guard: DatabaseGuard | undefined;
      try {
        const u = await h.upgrader("1.0.0", []);
        await u.init();
        await u.close();
        let stepEnded = 0;
        const slow = upgrade({
          version: "1.1.0",
          name: "slow",
          run: async (ctx) => {
            if (ctx.dryRun) return;
            await new Promise((resolve) => setTimeout(resolve, STEP_MS));
            await h.db.mark(ctx.db, "1.1.0/slow");
            stepEnded = Date.now();
          },
        });
        const started = Date.now();
        guard = startDatabaseGuard({
          database: h.db.url,
          appVersion: "1.1.0",
          steps: [slow],
          policy: "upgrade",
        });
        app = await start(guard);
        assert.ok(Date.now() - started < 2_000, "the app listens at once, before the step ends");
        const probes = await probeUntilSettled(app, guard);
        const result = await guard.ready;
        assert.equal(result.action, "upgraded");
        assert.deepEqual(result.steps, ["1.1.0/slow"]);
        assert.ok(stepEnded > 0);

        assert.deepEqual(new Set(probes.map((p) => p.live)), new Set([200]), "liveness 200 throughout");
        const during = probes.filter((p) => p.at < stepEnded);
        assert.ok(during.length >= 20, `probes during the step: ${during.length}`);
        for (const p of during) {
          assert.equal(p.ready, 503, `readiness during the step: ${JSON.stringify(p.body)}`);
          assert.equal(p.body.status, "STARTING");
          assert.equal(p.body.ready, false);
        }
        const last = probes.at(-1)!;
        assert.equal(last.ready, 200, JSON.stringify(last.body));
        assert.equal(last.body.status, "CURRENT");
        assert.equal(last.body.stamp, "1.1.0");
        assert.deepEqual(last.body.pending, []);
        assert.ok(Array.isArray(last.body.releases));
        assert.deepEqual(await h.marks(), ["1.1.0/slow"]);
      } finally {
        await app?.stop();
        await guard?.close();
        await h.dispose();
      }
    });
  }

  it("readiness answers 503 with the status when the database is not servable (policy warn, pending)", async () => {
    const h = await Harness.create(fixture);
    let guard: DatabaseGuard | undefined;
    try {
      const u = await h.upgrader("1.0.0", []);
      await u.init();
      await u.close();
      const step = upgrade({ version: "1.1.0", name: "pending", run: () => undefined });
      guard = startDatabaseGuard({ database: h.db.url, appVersion: "1.1.0", steps: [step] });
      const readiness = lockstepReadiness(guard, { cacheMs: 0 });
      await guard.ready;
      const { statusCode, body } = await readiness.check();
      assert.equal(statusCode, 503);
      assert.equal(body.status, "UPGRADE_PENDING");
      assert.deepEqual(body.pending, ["1.1.0/pending"]);
    } finally {
      await guard?.close();
      await h.dispose();
    }
  });

  it("older code on an expanded database: AHEAD_COMPATIBLE is ready (200); after the contract step, AHEAD is not (503)", async () => {
    const h = await Harness.create(fixture);
    let guard: DatabaseGuard | undefined;
    try {
      const expand = upgrade({ version: "1.1.0", name: "add-col", phase: "expand", run: () => undefined });
      const contract = upgrade({
        version: "1.2.0",
        name: "drop-col",
        phase: "contract",
        run: () => undefined,
      });
      const init = await h.upgrader("1.0.0", []);
      await init.init();
      await init.close();
      const newer = await h.upgrader("1.1.0", [expand]);
      await newer.upgrade({});
      await newer.close();
      const logged: { level: string; message: string }[] = [];
      const at = (level: string) => (message: string) => logged.push({ level, message });
      guard = startDatabaseGuard({
        database: h.db.url,
        appVersion: "1.0.0",
        steps: [],
        policy: "refuse",
        logger: { info: at("info"), warn: at("warn"), error: at("error") },
      });
      const readiness = lockstepReadiness(guard, { cacheMs: 0 });
      const result = await guard.ready;
      assert.equal(result.status, "AHEAD_COMPATIBLE");
      assert.ok(
        result.warnings.some((w) => w.startsWith("AHEAD_COMPATIBLE")),
        JSON.stringify(result.warnings),
      );
      const ok = await readiness.check();
      assert.equal(ok.statusCode, 200, JSON.stringify(ok.body));
      assert.equal(ok.body.status, "AHEAD_COMPATIBLE");
      assert.equal(ok.body.stamp, "1.1.0");
      assert.equal(ok.body.floor, "1.0.0");
      assert.deepEqual(
        ok.body.releases.map((g) => [g.release, g.count]),
        [["1.0.0", 1]],
        "this instance, live in the registry",
      );
      // The 1.0.0 replica leaves; 1.2.0 contracts the data below it.
      await guard.close();
      const newest = await h.upgrader("1.2.0", [expand, contract]);
      await newest.upgrade({});
      await newest.close();
      const gone = await readiness.check();
      assert.equal(gone.statusCode, 503, JSON.stringify(gone.body));
      assert.equal(gone.body.status, "AHEAD");
      assert.equal(gone.body.floor, "1.2.0");
      assert.equal(gone.body.error, null, "a status, and no error code in it");
      assert.equal(gone.body.codeVersion, "1.0.0");
      await readiness.check();
      const said = logged.filter((l) => l.level === "error" && /moved past this release/.test(l.message));
      assert.equal(said.length, 1, `said once, however many probes: ${JSON.stringify(logged)}`);
    } finally {
      await guard?.close();
      await h.dispose();
    }
  });
}

for (const fixture of await loadFixtures()) {
  if (fixture.name !== "sqlite" && fixture.name !== "postgres") continue;
  await describeFixture(fixture, describe, () => readinessTests(fixture));
}
