/**
 * Issue 10 item 3: every `checkDatabase()` records its instance in the registry BEFORE it reads
 * the state, and returns a handle: `keepAlive()` refreshes it (and a timer at TTL/3 does it
 * by itself), `close()` removes it (idempotent); a refused start leaves no entry behind.
 */
import assert from "node:assert/strict";
import { hostname } from "node:os";
import { describe, it } from "node:test";
import type { Adapter, InstanceInfo } from "../src/core/adapter.js";
import { isLockstepError } from "../src/core/errors.js";
import { checkDatabase } from "../src/guard/index.js";
import { type AdapterFixture, loadFixtures } from "./support/fixtures.js";
import { describeFixture, Harness } from "./support/harness.js";

async function instances(h: Harness): Promise<InstanceInfo[]> {
  const adapter = await h.adapter();
  return (await adapter.listInstances?.()) ?? [];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function registryTests(fixture: AdapterFixture) {
  const test = async (name: string, fn: (h: Harness, adapter: Adapter<any>) => Promise<void>) => {
    it(name, async () => {
      const h = await Harness.create(fixture);
      try {
        const adapter = await h.db.adapter();
        const u = await h.upgrader("1.0.0", []);
        await u.init();
        await u.close();
        await fn(h, adapter);
      } finally {
        await h.dispose();
      }
    });
  };

  test("registers before reading the state; keepAlive refreshes; close removes (twice is fine)", async (h, adapter) => {
    let seenAtRead: InstanceInfo[] | undefined;
    const readState = adapter.readState.bind(adapter);
    adapter.readState = async (options) => {
      seenAtRead ??= (await adapter.listInstances?.()) ?? [];
      return readState(options);
    };
    const result = await checkDatabase({ adapter, appVersion: "1.0.0", steps: [], autoKeepAlive: false });
    assert.equal(result.status, "CURRENT");
    const me = result.instance;
    assert.ok(me, "the result names this instance");
    assert.equal(me.appVersion, "1.0.0");
    assert.equal(me.pid, process.pid);
    assert.equal(me.host, hostname());
    assert.ok(me.owner.startsWith(`${hostname()}/`));
    assert.ok(!Number.isNaN(Date.parse(me.startedAt)));
    assert.deepEqual(
      seenAtRead?.map((i) => i.id),
      [me.id],
      "registered before the state was read",
    );
    const first = (await instances(h)).find((i) => i.id === me.id);
    assert.ok(first, "listed");
    await sleep(1_100);
    await result.keepAlive();
    const refreshed = (await instances(h)).find((i) => i.id === me.id);
    assert.ok(refreshed);
    assert.ok(Date.parse(refreshed.lastSeen) > Date.parse(first.lastSeen), "keepAlive moved lastSeen");
    await result.close();
    await result.close();
    assert.deepEqual(
      (await instances(h)).map((i) => i.id),
      [],
      "close removed it",
    );
    await result.keepAlive();
    assert.deepEqual(
      (await instances(h)).map((i) => i.id),
      [],
      "a keepAlive after close does not register again",
    );
  });

  test("the automatic keep-alive (TTL/3, unref'd) keeps a short-TTL instance live", async (h, adapter) => {
    const result = await checkDatabase({ adapter, appVersion: "1.0.0", steps: [], instanceTtlMs: 5_000 });
    try {
      await sleep(6_500);
      const me = (await instances(h)).find((i) => i.id === result.instance?.id);
      assert.ok(me, "still listed");
      assert.equal(me.expired, false, `refreshed by the timer (age ${me.ageMs} ms)`);
      assert.ok(me.ageMs < 2_500, `age ${me.ageMs} ms`);
    } finally {
      await result.close();
    }
    const idle = await checkDatabase({
      database: h.db.url,
      appVersion: "1.0.0",
      steps: [],
      instanceTtlMs: 5_000,
      autoKeepAlive: false,
    });
    try {
      await sleep(6_000);
      const me = (await instances(h)).find((i) => i.id === idle.instance?.id);
      assert.equal(me?.expired, true, "autoKeepAlive: false leaves it to expire");
    } finally {
      await idle.close();
    }
  });

  if (fixture.name === "postgres") {
    test("a registry that cannot be written (a read-only session) is a warning; the guard goes on", async (h) => {
      const readOnly = `${h.db.url}&options=${encodeURIComponent("-c default_transaction_read_only=on")}`;
      const warned: string[] = [];
      const result = await checkDatabase({
        database: readOnly,
        appVersion: "1.0.0",
        steps: [],
        policy: "refuse",
        onWarning: (m) => warned.push(m),
      });
      assert.equal(result.status, "CURRENT");
      assert.equal(result.instance, null);
      assert.ok(
        result.warnings.some((w) => /could not record this instance/.test(w)),
        JSON.stringify(result.warnings),
      );
      assert.deepEqual(warned, result.warnings);
      assert.deepEqual(await instances(h), []);
      await result.close();
    });
  }

  test("a refused start leaves no entry in the registry", async (h) => {
    await assert.rejects(
      () => checkDatabase({ database: h.db.url, appVersion: "0.9.0", steps: [], policy: "refuse" }),
      (e: unknown) => isLockstepError(e, "E_AHEAD"),
    );
    assert.deepEqual(await instances(h), []);
  });
}

for (const fixture of await loadFixtures()) {
  await describeFixture(fixture, describe, () => registryTests(fixture));
}
