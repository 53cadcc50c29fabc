/**
 * Issue 10 on MongoDB (FerretDB 1.24 here, or MONGODB_URI): the compatibility floor as the
 * stamp document's `lockstep_floor`, the instance registry `lockstep_instances`, and how many
 * commands the start-up guard's reads cost, counted on the wire with the driver's command
 * monitoring.
 */
import assert from "node:assert/strict";
import { after, afterEach, beforeEach, describe, test } from "node:test";
import { type Db, MongoClient } from "mongodb";
import {
  databaseFromUrl,
  MongoAdapter,
  type MongoAdapterOptions,
} from "../src/adapters/mongodb/mongodb-adapter.js";
import type { InstanceRecord, LedgerEntry } from "../src/core/adapter.js";
import { rejectsWith, takeLease } from "./support/assertions.js";
import type { TestDatabase } from "./support/fixtures.js";
import { describeFixture } from "./support/harness.js";
import fixture from "./support/mongodb-fixture.js";

/** The seed's stamp document as datalab PR #1833's Python code writes it: no `lockstep_floor`. */
function seedDocument(): Record<string, unknown> {
  return {
    _id: "datalab_schema_version",
    version: "0.6.0",
    history: [
      {
        version: "0.6.0",
        action: "initialise",
        timestamp: new Date("2024-05-01T00:00:00Z"),
        datalab_version: "0.6.0",
      },
    ],
  };
}

function instance(id: string, appVersion = "1.0.0"): InstanceRecord {
  return {
    id,
    appVersion,
    host: "web-7",
    pid: 4242,
    owner: "web-7/machine/ns/4242/abc",
    startedAt: new Date("2026-01-01T00:00:00Z").toISOString(),
  };
}

function ledgerEntry(version: string, name: string): LedgerEntry {
  return {
    version,
    name,
    checksum: "abc",
    kind: "applied",
    appliedAt: new Date().toISOString(),
    durationMs: 5,
    appVersion: version,
    counts: null,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

await describeFixture(fixture, describe, () => {
  let database: TestDatabase;
  let client: MongoClient;
  let db: Db;
  const opened: MongoAdapter[] = [];

  /** An opened adapter whose driver reports every command it sends (`commandStarted`). */
  async function adapter(options: Omit<MongoAdapterOptions, "url"> = {}): Promise<MongoAdapter> {
    const a = MongoAdapter.fromUrl(database.url, { ...options, clientOptions: { monitorCommands: true } });
    await a.open({ create: true });
    opened.push(a);
    return a;
  }

  /** The names of the commands `a`'s client sends while `fn` runs. */
  async function commandsOf(a: MongoAdapter, fn: () => Promise<unknown>): Promise<string[]> {
    const seen: string[] = [];
    const listener = (event: { commandName: string }) => seen.push(event.commandName);
    a.client().on("commandStarted", listener);
    try {
      await fn();
    } finally {
      a.client().off("commandStarted", listener);
    }
    return seen.sort();
  }

  async function collectionNames(): Promise<string[]> {
    return (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort();
  }

  beforeEach(async () => {
    database = await fixture.create();
    client = await new MongoClient(database.url).connect();
    db = client.db(databaseFromUrl(database.url)!);
  });

  afterEach(async () => {
    for (const a of opened.splice(0)) await a.close();
    await database.cleanup();
    await client.close();
  });

  after(async () => {
    for (const a of opened.splice(0)) await a.close();
  });

  describe("the compatibility floor (lockstep_floor of the stamp document)", () => {
    test("a seed-shaped stamp without lockstep_floor: the floor is the stamp, not recorded", async () => {
      await db.collection("database_metadata").insertOne(seedDocument() as any);
      const state = await (await adapter({ app: "datalab" })).readState();
      assert.equal(state.stamp, "0.6.0");
      assert.equal(state.floor, "0.6.0");
      assert.equal(state.floorRecorded, false);
    });

    test("setFloor records it and leaves the seed's fields and history as they were", async () => {
      await db.collection("database_metadata").insertOne(seedDocument() as any);
      const a = await adapter({ app: "datalab" });
      await a.write(null, (writer) => writer.setFloor("0.5.0"));
      const state = await a.readState();
      assert.equal(state.stamp, "0.6.0");
      assert.equal(state.floor, "0.5.0");
      assert.equal(state.floorRecorded, true);
      const doc = await db.collection("database_metadata").findOne({ _id: "datalab_schema_version" as any });
      assert.deepEqual(doc, { ...seedDocument(), lockstep_floor: "0.5.0" });
    });

    test("the stamp and the floor written in one write: both read back; the seed's history extended once", async () => {
      await db.collection("database_metadata").insertOne(seedDocument() as any);
      const a = await adapter({ app: "datalab" });
      await a.write(null, async (writer) => {
        await writer.setFloor("0.6.0"); // a pre-floor database gets its old stamp as floor first
        await writer.setStamp("0.7.0");
        await writer.setFloor("0.7.0");
      });
      const state = await a.readState();
      assert.deepEqual([state.stamp, state.floor, state.floorRecorded], ["0.7.0", "0.7.0", true]);
      const doc = (await db
        .collection("database_metadata")
        .findOne({ _id: "datalab_schema_version" as any }))!;
      assert.deepEqual(
        (doc.history as { version: string }[]).map((h) => h.version),
        ["0.6.0", "0.7.0"],
      );
    });

    test("unstamped: no floor; a floor that is not a version is E_STAMP_INVALID unless ignored", async () => {
      const a = await adapter({ app: "datalab" });
      const empty = await a.readState();
      assert.deepEqual([empty.stamp, empty.floor, empty.floorRecorded], [null, null, false]);
      await db
        .collection("database_metadata")
        .insertOne({ ...seedDocument(), lockstep_floor: "banana" } as any);
      const error = await rejectsWith(a.readState(), "E_STAMP_INVALID");
      assert.match(error.message, /lockstep_floor/);
      const ignored = await a.readState({ ignoreInvalidStamp: true });
      assert.deepEqual([ignored.stamp, ignored.floor, ignored.floorRecorded], ["0.6.0", "0.6.0", false]);
    });
  });

  describe("the instance registry (lockstep_instances)", () => {
    test("without a registry: listInstances is [], removeInstance does not throw, nothing is created", async () => {
      const a = await adapter();
      assert.deepEqual(await a.listInstances(), []);
      await a.removeInstance("nobody");
      assert.deepEqual(await collectionNames(), []);
    });

    test("register, refresh (one document, lastSeen moves), remove", async () => {
      const a = await adapter();
      await a.registerInstance(instance("i-1"), 60_000);
      const [first] = await a.listInstances();
      assert.ok(first);
      assert.equal(first.expired, false);
      assert.ok(first.ageMs >= 0 && first.ageMs < 5_000, `age ${first.ageMs}`);
      const { lastSeen: _l, ageMs: _a, expired: _e, ...record } = first;
      assert.deepEqual(record, instance("i-1"));
      // Server time: lastSeen is the server's clock (hello.localTime), within a second.
      const serverNow = ((await db.admin().command({ hello: 1 })).localTime as Date).getTime();
      assert.ok(Math.abs(Date.parse(first.lastSeen) - serverNow) < 1_000, "lastSeen by the server's clock");
      // Nothing else stored (no URL, user or environment).
      const doc = await db.collection("lockstep_instances").findOne({ _id: "i-1" as any });
      assert.deepEqual(Object.keys(doc!).sort(), [
        "_id",
        "appVersion",
        "expiresAt",
        "host",
        "lastSeen",
        "owner",
        "pid",
        "startedAt",
      ]);
      await sleep(30);
      await a.registerInstance(instance("i-1"), 60_000);
      const refreshed = await a.listInstances();
      assert.equal(refreshed.length, 1);
      assert.ok(
        Date.parse(refreshed[0]!.lastSeen) > Date.parse(first.lastSeen),
        "the keep-alive moved lastSeen",
      );
      await a.registerInstance(instance("i-2", "1.1.0"), 60_000);
      assert.deepEqual((await a.listInstances()).map((i) => i.id).sort(), ["i-1", "i-2"]);
      await a.removeInstance("i-1");
      await a.removeInstance("i-1");
      assert.deepEqual(
        (await a.listInstances()).map((i) => i.id),
        ["i-2"],
      );
    });

    test("expiry by the time to live (300 ms), seen by another connection; a keep-alive revives it", async () => {
      const a = await adapter();
      const other = await adapter();
      await a.registerInstance(instance("short"), 300);
      assert.equal((await other.listInstances())[0]?.expired, false);
      await sleep(600);
      const [expired] = await other.listInstances();
      assert.equal(expired?.expired, true);
      assert.ok(expired.ageMs >= 500, `age ${expired.ageMs}`);
      await a.registerInstance(instance("short"), 300);
      assert.equal((await other.listInstances())[0]?.expired, false);
    });

    test("the registry is not a store part: ensureStore does not create it, and it is not the app's", async () => {
      const a = await adapter();
      await a.ensureStore();
      assert.ok(!(await collectionNames()).includes("lockstep_instances"));
      await a.registerInstance(instance("i-1"), 60_000);
      const state = await a.readState();
      assert.deepEqual(state.missingStore, []);
      assert.equal(state.userObjects, 0);
    });

    test("the guard registers first: on a new database the registry alone leaves it new and unstamped", async () => {
      const a = await adapter();
      await a.registerInstance(instance("first"), 60_000);
      assert.deepEqual(await collectionNames(), ["lockstep_instances"]);
      const state = await a.readState();
      assert.equal(state.stamp, null);
      assert.equal(state.hasLedger, false);
      assert.equal(state.userObjects, 0, "the registry is lockstep's, not the app's");
      assert.deepEqual(state.missingStore, ["state", "ledger", "history", "lease", "markers"]);
    });
  });

  describe("round trips, counted on the wire", () => {
    /** A current, stamped database with every store part, a ledger entry and a released lease. */
    async function currentDatabase(): Promise<void> {
      const setup = await adapter();
      await setup.ensureStore();
      await setup.write(null, async (writer) => {
        await writer.putLedgerEntry(ledgerEntry("1.0.0", "first"));
        await writer.setStamp("1.0.0");
        await writer.setFloor("1.0.0");
      });
      const lease = takeLease(
        await setup.tryAcquireLease({ owner: "o", host: "h", pid: 1, user: "u", ttlMs: 30_000 }),
      );
      await lease.release();
      await setup.registerInstance(instance("existing"), 60_000);
    }

    test("readState on a current, stamped database: the same commands on a fresh connection and after", async () => {
      await currentDatabase();
      const a = await adapter();
      let state: Awaited<ReturnType<MongoAdapter["readState"]>> | undefined;
      const first = await commandsOf(a, async () => {
        state = await a.readState();
      });
      const again = await commandsOf(a, () => a.readState());
      console.log(`readState: ${first.length} commands (${first.join(", ")})`);
      // No hello, buildInfo or transaction probe: the clock offset and the server's kind are
      // measured at open. Five, not one: FerretDB 1.24 has no $unionWith (see state-read.ts).
      assert.deepEqual(first, ["find", "find", "find", "find", "listCollections"]);
      assert.deepEqual(again, first);
      assert.equal(state?.stamp, "1.0.0");
      assert.equal(state?.floor, "1.0.0");
      assert.equal(state?.floorRecorded, true);
      assert.deepEqual(
        state?.ledger.map((e) => e.name),
        ["first"],
      );
      assert.equal(state?.lease, null);
      assert.deepEqual(state?.missingStore, []);
      assert.equal(state?.userObjects, 0);
    });

    test("registerInstance: one command on an existing registry, and on a missing one", async () => {
      const a = await adapter();
      assert.deepEqual(await commandsOf(a, () => a.registerInstance(instance("new"), 60_000)), ["update"]);
      assert.deepEqual(await commandsOf(a, () => a.registerInstance(instance("new"), 60_000)), ["update"]);
      assert.deepEqual(await commandsOf(a, () => a.registerInstance(instance("second"), 60_000)), ["update"]);
      assert.deepEqual(await commandsOf(a, () => a.listInstances()), ["find"]);
      assert.deepEqual(await commandsOf(a, () => a.removeInstance("new")), ["delete"]);
      assert.equal((await a.listInstances()).length, 1);
    });
  });
});
