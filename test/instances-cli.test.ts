/**
 * `lockstep instances`: the registry as the operator sees it (live and expired entries with
 * id, release, host, pid, last seen; --json), and `--forget <id>` / `--forget-host <host>`
 * removing an instance that crashed on another host (it would hold contract steps back for
 * its whole TTL), asking for confirmation unless --yes, recorded in history.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { checkDatabase, type GuardResult } from "../src/guard/index.js";
import { defaultActor } from "../src/runtime/actor.js";
import { lockstep, makeProject, markingStep, type Project } from "./support/cli.js";
import { sleep } from "./support/harness.js";

function project(): Project {
  return makeProject({
    "package.json": JSON.stringify({ name: "app", version: "1.0.0", type: "module" }),
    "lockstep.config.ts": `import { defineConfig } from "lockstep";
export default defineConfig({ database: "sqlite:./app.db", steps: "./upgrades", stepsBuildSchema: true });
`,
    "upgrades/1.0.0-first.ts": markingStep("1.0.0", "first"),
  });
}

/** A guard run "on" another machine: its pid cannot be checked from here, only its TTL ends it. */
function remoteActor(host: string, pid: number) {
  return defaultActor({ host, machineId: "0badc0de", pidNamespace: "pid:[1]", pid, user: "app" });
}

describe("lockstep instances", () => {
  it("lists live and expired instances, forgets by id and by host (confirmation unless --yes), records it", async () => {
    const p = project();
    const guards: GuardResult[] = [];
    try {
      assert.equal((await p.run("upgrade", "--yes")).code, 0);
      const database = `sqlite:${join(p.dir, "app.db")}`;
      const register = async (host: string, pid: number, ttl = 3_600_000) => {
        const g = await checkDatabase({
          database,
          appVersion: "1.0.0",
          steps: [],
          actor: remoteActor(host, pid),
          instanceTtlMs: ttl,
          autoKeepAlive: false,
        });
        guards.push(g);
        return g;
      };
      const crashed = await register("web-7", 4711);
      await register("web-9", 100);
      await register("web-9", 101);
      const stale = await register("web-3", 300, 5_000);
      await sleep(5_500);

      const listed = await lockstep(p.dir, ["instances", "--json"]);
      assert.equal(listed.code, 0, listed.stderr);
      const rows = listed.json().instances as Record<string, any>[];
      assert.equal(rows.length, 4);
      const row = rows.find((r) => r.id === crashed.instance?.id);
      assert.deepEqual(
        { release: row?.release, host: row?.host, pid: row?.pid, state: row?.state },
        { release: "1.0.0", host: "web-7", pid: 4711, state: "live" },
      );
      assert.ok(!Number.isNaN(Date.parse(row?.lastSeen)));
      assert.equal(
        rows.find((r) => r.id === stale.instance?.id)?.state,
        "expired",
        "an expired one is listed",
      );
      const text = await p.run("instances");
      assert.match(
        text.stdout,
        new RegExp(`${crashed.instance?.id}\\s+1\\.0\\.0\\s+web-7\\s+4711\\s+\\d+ s ago\\s+live`),
      );

      const unconfirmed = await p.run("instances", "--forget", crashed.instance!.id);
      assert.equal(unconfirmed.code, 1);
      assert.match(unconfirmed.stderr, /E_CONFIRMATION_REQUIRED/);
      const unknown = await p.run("instances", "--forget", "nope", "--yes");
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /E_USAGE.*no recorded instance/);

      const byId = await p.run("instances", "--forget", crashed.instance!.id, "--yes");
      assert.equal(byId.code, 0, byId.stderr);
      const byHost = await lockstep(p.dir, ["instances", "--forget-host", "web-9", "--yes", "--json"]);
      assert.equal(byHost.code, 0, byHost.stderr);
      assert.deepEqual(
        byHost
          .json()
          .forgotten.map((r: { pid: number }) => r.pid)
          .sort(),
        [100, 101],
      );
      const left = (await lockstep(p.dir, ["instances", "--json"])).json().instances as { id: string }[];
      assert.deepEqual(
        left.map((r) => r.id),
        [stale.instance?.id],
      );

      const history = (await lockstep(p.dir, ["history", "--json"])).json();
      const entries = (Array.isArray(history) ? history : history.entries) as Record<string, any>[];
      const forgotten = entries.filter((e) => e.action === "forget_instance");
      assert.deepEqual(forgotten.map((e) => e.details.host).sort(), ["web-7", "web-9", "web-9"]);

      const help = await p.run("instances", "--help");
      assert.match(help.stdout, /--forget <id>/);
      assert.match(help.stdout, /--forget-host <host>/);
    } finally {
      for (const g of guards) await g.close().catch(() => undefined);
      p.cleanup();
    }
  });
});
