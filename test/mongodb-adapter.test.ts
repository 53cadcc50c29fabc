/**
 * The MongoDB adapter against a real server: FerretDB 1.24 on 127.0.0.1:27017
 * (scripts/ferretdb.sh start), or any MongoDB given by MONGODB_URI (a replica set runs the
 * transaction tests). Outside CI a missing server skips the suite with a line saying so.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type Collection, type Db, MongoClient } from "mongodb";
import {
  databaseFromUrl,
  MongoAdapter,
  type MongoAdapterOptions,
} from "../src/adapters/mongodb/mongodb-adapter.js";
import { bindSession } from "../src/adapters/mongodb/session-bound.js";
import type { Adapter, LeaseHandle, LeaseRequest } from "../src/core/adapter.js";
import { isLockstepError } from "../src/core/errors.js";
import { upgrade } from "../src/core/registry.js";
import { Upgrader } from "../src/core/upgrader.js";
import { rejectsWith } from "./support/assertions.js";
import type { TestDatabase } from "./support/fixtures.js";
import { describeFixture } from "./support/harness.js";
import fixture, { MONGODB_TEST_URL, mongoUrlFor } from "./support/mongodb-fixture.js";

/** The seed's stamp document exactly as datalab PR #1833's Python code writes it. */
function seedDocument(): Record<string, unknown> {
  return {
    _id: "datalab_schema_version",
    version: "0.6.0",
    history: [{ version: "0.6.0", action: "initialise", timestamp: new Date(), datalab_version: "0.6.0" }],
  };
}

function request(owner: string, ttlMs = 30_000): LeaseRequest {
  return { owner, host: "test-host", pid: process.pid, user: "tester", ttlMs };
}

await describeFixture(fixture, describe, () => {
  let database: TestDatabase;
  let client: MongoClient;
  let db: Db;
  const opened: Adapter<any>[] = [];
  const leases: LeaseHandle[] = [];

  async function adapter(options: Omit<MongoAdapterOptions, "url"> = {}): Promise<MongoAdapter> {
    const a = MongoAdapter.fromUrl(database.url, options);
    await a.open({ create: true });
    opened.push(a);
    return a;
  }

  before(async () => {
    console.log(`MongoDB suite against ${fixture.server() ?? "?"} (${MONGODB_TEST_URL})`);
  });

  /** Time passes for the lease: its current document (MongoDB) or generations (FerretDB) expire. */
  async function expireLease(): Promise<void> {
    await db
      .collection("lockstep_lease")
      .updateMany(
        { $or: [{ _id: "lockstep_upgrade_lease" as any }, { lease: "lockstep_upgrade_lease" }] },
        { $set: { expiresAt: new Date(0) } },
      );
  }

  // A fresh database per test.
  const fresh = async (): Promise<void> => {
    for (const lease of leases.splice(0)) await lease.release();
    for (const a of opened.splice(0)) await a.close();
    if (database) await database.cleanup();
    await client?.close();
    database = await fixture.create();
    client = await new MongoClient(database.url).connect();
    db = client.db(databaseFromUrl(database.url)!);
  };

  after(async () => {
    for (const lease of leases.splice(0)) await lease.release();
    for (const a of opened.splice(0)) await a.close();
    await database?.cleanup();
    await client?.close();
  });

  describe("the seed's stamp document (datalab PR #1833)", () => {
    before(fresh);

    test("is read as stamped 0.6.0, with no lockstep ledger yet", async () => {
      await db.collection("database_metadata").insertOne(seedDocument() as any);
      const a = await adapter({ app: "datalab" });
      const state = await a.readState();
      assert.equal(state.stamp, "0.6.0");
      assert.equal(state.hasLedger, false);
      assert.deepEqual(state.ledger, []);
      assert.deepEqual(state.interrupted, []);
      assert.equal(state.lease, null);
    });

    test("readState created nothing", async () => {
      const names = (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name);
      assert.deepEqual(names, ["database_metadata"]);
    });

    test("stampId alone names the app too", async () => {
      const a = await adapter({ stampId: "datalab_schema_version" });
      assert.equal(a.app, "datalab");
      assert.equal((await a.readState()).stamp, "0.6.0");
    });

    test("an Upgrader upgrades it to 0.7.0 with one step, keeping the seed's history", async () => {
      const a = await adapter({ app: "datalab" });
      const upgrader = new Upgrader({
        adapter: a,
        appVersion: "0.7.0",
        steps: [
          upgrade<Db>({
            version: "0.7.0",
            name: "relationships-to-refcode",
            run: async ({ db }) => {
              await database.mark(db, "0.7.0");
              return { items: 1 };
            },
          }),
        ],
      });
      assert.equal((await upgrader.status()).status, "UPGRADE_PENDING");
      const result = await upgrader.upgrade({});
      assert.equal(result.outcome, "upgraded");
      assert.deepEqual(
        result.results.map((r) => [r.step, r.status]),
        [["0.7.0/relationships-to-refcode", "applied"]],
      );
      assert.equal((await upgrader.status()).status, "CURRENT");

      const doc = await db.collection("database_metadata").findOne({ _id: "datalab_schema_version" as any });
      assert.ok(doc);
      assert.equal(doc.version, "0.7.0");
      const history = doc.history as Record<string, unknown>[];
      assert.equal(history.length, 2);
      assert.deepEqual(
        history.map((h) => [h.version, h.action, h.datalab_version]),
        [
          ["0.6.0", "initialise", "0.6.0"],
          ["0.7.0", "upgrade", "0.7.0"],
        ],
      );
      assert.ok(
        history[1]?.timestamp instanceof Date,
        "the pushed entry's timestamp is a BSON date, as the seed's",
      );
      assert.deepEqual(Object.keys(history[1]!).sort(), [
        "action",
        "datalab_version",
        "timestamp",
        "version",
      ]);

      const state = await a.readState();
      assert.equal(state.hasLedger, true);
      assert.deepEqual(
        state.ledger.map((e) => [e.version, e.name, e.kind]),
        [["0.7.0", "relationships-to-refcode", "applied"]],
      );
      assert.deepEqual(state.interrupted, []);
      assert.deepEqual(await database.marks(), ["0.7.0"]);
      const actions = (await a.readHistory()).map((h) => h.action);
      assert.deepEqual(actions, ["step_started", "step_succeeded", "upgrade_finished"]);
      await upgrader.close();
    });
  });

  describe("stamps lockstep writes itself", () => {
    before(fresh);

    test("init writes the seed's shape under <app>_schema_version with action initialise", async () => {
      const a = await adapter();
      const upgrader = new Upgrader({ adapter: a, appVersion: "1.2.0", steps: [] });
      await upgrader.init();
      const doc = await db.collection("database_metadata").findOne({ _id: "lockstep_schema_version" as any });
      assert.equal(doc?.version, "1.2.0");
      const history = doc?.history as Record<string, unknown>[];
      assert.deepEqual(
        history.map((h) => [h.version, h.action, h.lockstep_version]),
        [["1.2.0", "initialise", "1.2.0"]],
      );
      assert.equal((await a.readState()).stamp, "1.2.0");
      assert.equal((await upgrader.status()).status, "CURRENT");
    });

    test("a PEP 440 version the seed wrote reads as semver", async () => {
      await db
        .collection("database_metadata")
        .insertOne({ _id: "pep_schema_version", version: "1.0rc1", history: [] } as any);
      const a = await adapter({ app: "pep" });
      assert.equal((await a.readState()).stamp, "1.0.0-rc.1");
    });
  });

  describe("the lease", () => {
    before(fresh);

    test("is exclusive across two adapters, and mine again when I ask again", async () => {
      const a = await adapter();
      const b = await adapter();
      const first = await a.tryAcquireLease(request("owner-a"));
      assert.ok("lease" in first);
      leases.push(first.lease);
      const second = await b.tryAcquireLease(request("owner-b"));
      assert.ok("heldBy" in second);
      assert.equal(second.heldBy?.owner, "owner-a");
      assert.equal(second.heldBy?.expired, false);
      const again = await a.tryAcquireLease(request("owner-a"));
      assert.ok("lease" in again, "the holder may take its own lease again");
      leases.push(again.lease);
      assert.equal((await b.readState()).lease?.owner, "owner-a");
      await first.lease.release();
      const third = await b.tryAcquireLease(request("owner-b"));
      assert.ok("lease" in third, "a released lease is free");
      leases.push(third.lease);
      await third.lease.release();
    });

    test("an expired lease is taken over (expiry judged by the server's clock)", async () => {
      const a = await adapter();
      const dead = await adapter();
      const held = await dead.tryAcquireLease(request("dead-owner"));
      assert.ok("lease" in held);
      leases.push(held.lease);
      await expireLease();
      assert.equal((await a.readState()).lease?.expired, true);
      const serverNow = ((await db.admin().command({ hello: 1 })).localTime as Date).getTime();
      const taken = await a.tryAcquireLease(request("owner-c"));
      assert.ok("lease" in taken);
      leases.push(taken.lease);
      const lease = (await a.readState()).lease;
      assert.equal(lease?.owner, "owner-c");
      assert.ok(Date.parse(lease!.expiresAt) > serverNow + 20_000, "expiry = server now + ttl");
      await taken.lease.release();
    });

    test("racing upgraders on an expired lease: exactly one wins each round", async () => {
      const racers = await Promise.all(Array.from({ length: 8 }, () => adapter()));
      await racers[0]!.ensureStore();
      for (let round = 0; round < 15; round++) {
        const holder = await racers[0]!.tryAcquireLease(request(`holder-${round}`));
        assert.ok("lease" in holder);
        leases.push(holder.lease);
        await expireLease();
        const attempts = await Promise.all(
          racers.map((r, i) => r.tryAcquireLease(request(`racer-${round}-${i}`))),
        );
        const winners = attempts.flatMap((x) => ("lease" in x ? [x.lease] : []));
        assert.equal(winners.length, 1, `round ${round}: ${winners.length} winners`);
        leases.push(...winners);
        for (const w of winners) await w.release();
        await holder.lease.release();
      }
    });

    test("the heartbeat renews it at a third of its lifetime", async () => {
      const a = await adapter();
      const b = await adapter();
      const taken = await a.tryAcquireLease(request("owner-h", 600));
      assert.ok("lease" in taken);
      leases.push(taken.lease);
      await new Promise((r) => setTimeout(r, 1_200));
      const other = await b.tryAcquireLease(request("owner-i"));
      assert.ok("heldBy" in other, "a renewed lease has not expired after twice its ttl");
      assert.equal(taken.lease.lost, false);
      await taken.lease.release();
    });

    test("a lost lease makes write() throw E_LEASE_LOST before any write", async () => {
      const a = await adapter();
      const b = await adapter();
      await a.ensureStore();
      const mine = await a.tryAcquireLease(request("owner-d"));
      assert.ok("lease" in mine);
      leases.push(mine.lease);
      // The holder stalls (SIGSTOP, a GC pause) long enough for its lease to expire...
      await expireLease();
      // ...and another upgrader takes it over.
      const theirs = await b.tryAcquireLease(request("owner-e"));
      assert.ok("lease" in theirs);
      leases.push(theirs.lease);
      let ran = false;
      await rejectsWith(
        a.write(mine.lease, async (writer) => {
          ran = true;
          await writer.setStamp("9.9.9");
        }),
        "E_LEASE_LOST",
      );
      assert.equal(ran, false);
      assert.equal(mine.lease.lost, true);
      assert.equal((await a.readState()).stamp, null);
      await theirs.lease.release();
    });

    test("breakLease removes it only for its owner", async () => {
      const a = await adapter();
      const taken = await a.tryAcquireLease(request("owner-f"));
      assert.ok("lease" in taken);
      leases.push(taken.lease);
      assert.equal(await a.breakLease({ owner: "someone-else" }), null);
      assert.equal((await a.breakLease({ owner: "owner-f" }))?.owner, "owner-f");
      assert.equal((await a.readState()).lease, null);
      assert.equal(await a.breakLease({}), null);
    });
  });

  describe("topology and transactions", () => {
    before(fresh);

    test("describe() reports the topology and what the transaction probe found", async () => {
      const a = await adapter();
      const info = await a.serverInfo();
      const description = await a.describe();
      assert.match(description.server, /standalone|replica set|sharded/);
      assert.equal(description.capabilities.supportsTransactionalSteps, info.supportsTransactions);
      assert.equal(description.capabilities.leaseMode, "lease-document");
      assert.equal(fixture.atomicSteps, info.supportsTransactions);
      assert.ok(description.guarantees.some((g) => g.includes(info.topology)));
      assert.ok(!description.target.includes("@") || description.target.includes("***"));
    });

    test("count() counts documents by filter, and a table as a collection", async () => {
      const a = await adapter();
      await db.collection("items").insertMany([{ kind: "a" }, { kind: "b" }, { kind: "a" }]);
      assert.equal(await a.count({ collection: "items", filter: { kind: "a" } }), 2);
      assert.equal(await a.count({ collection: "items" }), 3);
      assert.equal(await a.count({ table: "items" }), 3);
      await rejectsWith(a.count({ table: "items", where: "kind = 'a'" }), "E_UNSUPPORTED");
    });

    test("without transactions, a failing step leaves its writes and an INTERRUPTED marker", async (t) => {
      const a = await adapter();
      if ((await a.serverInfo()).supportsTransactions) return t.skip("the server runs transactions");
      const upgrader = new Upgrader({
        adapter: a,
        appVersion: "2.0.0",
        steps: [
          upgrade<Db>({
            version: "2.0.0",
            name: "half-done",
            run: async ({ db: stepDb }) => {
              await database.mark(stepDb, "partial");
              throw new Error("boom");
            },
          }),
        ],
      });
      await upgrader.init({ version: "1.0.0" });
      const plan = await upgrader.plan();
      assert.equal(plan.steps[0]?.atomic, false);
      await rejectsWith(upgrader.upgrade({}), "E_STEP_FAILED");
      assert.deepEqual(await database.marks(), ["partial"]);
      const status = await upgrader.status();
      assert.equal(status.status, "INTERRUPTED");
      assert.deepEqual(
        (await a.readState()).interrupted.map((m) => [m.version, m.name]),
        [["2.0.0", "half-done"]],
      );
      await upgrader.close();
    });

    test("the session-bound db carries the session on every operation (checked on the wire)", async () => {
      const url = database.url;
      const watched = await new MongoClient(url, { monitorCommands: true }).connect();
      const seen: { command: string; lsid: string | undefined }[] = [];
      watched.on("commandStarted", (event) => {
        const lsid = (event.command as { lsid?: { id?: { toString(encoding: string): string } } }).lsid;
        seen.push({ command: event.commandName, lsid: lsid?.id?.toString("hex") });
      });
      const session = watched.startSession();
      try {
        const bound = bindSession(watched.db(databaseFromUrl(url)!), session);
        const c = bound.collection("bound");
        await c.insertOne({ n: 1 });
        await c.insertMany([{ n: 2 }, { n: 3 }]);
        await c.updateOne({ n: 1 }, { $set: { a: 1 } });
        await c.updateMany({}, { $set: { b: 1 } });
        await c.replaceOne({ n: 2 }, { n: 2, replaced: true });
        await c.find({}).toArray();
        await c.find().toArray();
        await c.findOne({ n: 1 });
        await c.findOneAndUpdate({ n: 1 }, { $set: { c: 1 } });
        await c.findOneAndReplace({ n: 3 }, { n: 3 });
        await c.aggregate([{ $match: {} }]).toArray();
        await c.countDocuments({ n: 1 });
        await c.countDocuments();
        await c.distinct("n");
        await c.bulkWrite([{ insertOne: { document: { n: 4 } } }, { deleteOne: { filter: { n: 4 } } }]);
        await c.findOneAndDelete({ n: 3 });
        await c.deleteOne({ n: 2 });
        await c.deleteMany({});
        await bound.command({ ping: 1 });
        await (await bound.collections())
          .find((x: Collection) => x.collectionName === "bound")
          ?.countDocuments();
        const mine = session.id?.id.toString("hex");
        assert.ok(mine);
        const operations = seen.filter((e) => !["endSessions", "hello", "isMaster"].includes(e.command));
        assert.ok(operations.length >= 20, `saw ${operations.length} commands`);
        for (const e of operations) assert.equal(e.lsid, mine, `${e.command} ran outside the session`);
        // The plain collection, for contrast, runs under the driver's implicit session.
        await watched.db(databaseFromUrl(url)!).collection("bound").countDocuments();
        assert.notEqual(seen.at(-1)?.lsid, mine);
      } finally {
        await session.endSession();
        await watched.close();
      }
    });

    test("with transactions, the step's db is session-bound: its writes roll back with the step", async (t) => {
      const a = await adapter();
      if (!(await a.serverInfo()).supportsTransactions) {
        return t.skip(
          "the server refuses transactions (FerretDB, standalone): set MONGODB_URI to a replica set",
        );
      }
      await a.ensureStore();
      // A write through ctx.db without { session }, seen inside the transaction, gone after the abort.
      await assert.rejects(
        a.write(null, async (_writer, stepDb) => {
          await stepDb.collection("marks").insertOne({ mark: "inside" });
          await stepDb.collection("marks").updateMany({}, { $set: { touched: true } });
          assert.equal(await stepDb.collection("marks").countDocuments({ mark: "inside" }), 1);
          assert.equal((await stepDb.collection("marks").find({}).toArray()).length, 1);
          assert.equal(
            await db.collection("marks").countDocuments({}),
            0,
            "invisible outside the transaction",
          );
          throw new Error("roll back");
        }),
        /roll back/,
      );
      assert.deepEqual(await database.marks(), []);
      // rollback: true (dry runs) aborts too.
      await a.write(null, async (_w, stepDb) => database.mark(stepDb, "dry"), { rollback: true });
      assert.deepEqual(await database.marks(), []);
      // A failing step rolls back whole, its stamp and ledger entry with it.
      const upgrader = new Upgrader({
        adapter: a,
        appVersion: "2.0.0",
        steps: [
          upgrade<Db>({
            version: "2.0.0",
            name: "fails",
            run: async ({ db: stepDb }) => {
              await database.mark(stepDb, "rolled-back");
              throw new Error("boom");
            },
          }),
        ],
      });
      await upgrader.init({ version: "1.0.0" });
      await rejectsWith(upgrader.upgrade({}), "E_STEP_FAILED");
      assert.deepEqual(await database.marks(), []);
      const state = await a.readState();
      assert.equal(state.stamp, "1.0.0");
      assert.deepEqual(state.interrupted, []);
      await upgrader.close();
    });
  });

  describe("FerretDB's gaps, and the fallback taken for each", () => {
    before(fresh);

    const onFerretDb = async (t: { skip(message: string): void }): Promise<MongoAdapter | null> => {
      const a = await adapter();
      if (!(await a.serverInfo()).ferretdb) {
        t.skip("not FerretDB");
        return null;
      }
      return a;
    };

    test("hello reports a standalone server; the adapter says so", async (t) => {
      const a = await onFerretDb(t);
      if (!a) return;
      assert.equal((await a.serverInfo()).topology, "standalone");
      assert.match((await a.describe()).server, /^FerretDB v1\.24/);
    });

    test("transactions: a read inside one is accepted, a write refused, so the probe writes", async (t) => {
      const a = await onFerretDb(t);
      if (!a) return;
      const session = client.startSession();
      try {
        session.startTransaction();
        await db.collection("probe").findOne({}, { session });
        await assert.rejects(db.collection("probe").insertOne({ x: 1 }, { session }), /autocommit/);
      } finally {
        await session.abortTransaction().catch(() => undefined);
        await session.endSession();
      }
      const info = await a.serverInfo();
      assert.equal(info.supportsTransactions, false);
      assert.match(info.transactionsRefused ?? "", /autocommit/);
      assert.equal((await a.describe()).capabilities.supportsTransactionalSteps, false);
    });

    test("transactions refused: write() runs writes plainly, nothing is rolled back", async (t) => {
      const a = await onFerretDb(t);
      if (!a) return;
      await assert.rejects(
        a.write(null, async (_w, stepDb) => {
          await database.mark(stepDb, "kept");
          throw new Error("fails after a write");
        }),
        /fails after a write/,
      );
      assert.deepEqual(await database.marks(), ["kept"]);
    });

    test("update pipelines ($$NOW) are refused: the lease reads the server's time from hello", async (t) => {
      const a = await onFerretDb(t);
      if (!a) return;
      // FerretDB 1.24: updateOne rejects the array form outright (TypeMismatch), findAndModify
      // answers NotImplemented ("Aggregation pipelines are not supported yet").
      await assert.rejects(
        db.collection("probe").updateOne({ _id: "x" as any }, [{ $set: { at: "$$NOW" } }], { upsert: true }),
        /wrong type 'array'/,
      );
      await assert.rejects(
        db
          .collection("probe")
          .findOneAndUpdate({ _id: "x" as any }, [{ $set: { at: "$$NOW" } }], { upsert: true }),
        (error: { code?: number }) => error.code === 238,
      );
      assert.equal((await a.serverInfo()).clock, "server");
      assert.ok((await a.describe()).guarantees.some((g) => g.includes("judged by the server's clock")));
    });

    test("conditional writes are not atomic: the lease is a chain of generation documents", async (t) => {
      const a = await onFerretDb(t);
      if (!a) return;
      assert.equal((await a.serverInfo()).atomicConditionalWrites, false);
      assert.ok((await a.describe()).guarantees.some((g) => g.includes("next generation")));
      const first = await a.tryAcquireLease(request("gen-1"));
      assert.ok("lease" in first);
      leases.push(first.lease);
      await first.lease.release();
      const second = await a.tryAcquireLease(request("gen-2"));
      assert.ok("lease" in second);
      leases.push(second.lease);
      const docs = await db.collection("lockstep_lease").find({}).sort({ gen: 1 }).toArray();
      // Superseded generations are deleted: generation 2 (the release) went when 3 was taken.
      assert.deepEqual(
        docs.map((d) => [d._id, d.gen, d.owner]),
        [["lockstep_upgrade_lease#3", 3, "gen-2"]],
      );
      await second.lease.release();
      assert.equal((await a.readState()).lease, null);
    });

    test("a taken lease still answers with E11000 on the upsert's insert", async (t) => {
      const a = await onFerretDb(t);
      if (!a) return;
      const first = await a.tryAcquireLease(request("owner-x"));
      assert.ok("lease" in first);
      leases.push(first.lease);
      const second = await a.tryAcquireLease(request("owner-y"));
      assert.ok("heldBy" in second);
      await first.lease.release();
    });
  });
});

describe("mongodb adapter without a server", () => {
  test("an unreachable server is E_DATABASE_UNREACHABLE, with the password redacted", async () => {
    const a = MongoAdapter.fromUrl("mongodb://admin:s3cret@127.0.0.1:9/app", {
      serverSelectionTimeoutMS: 300,
    });
    assert.equal(a.displayName, "mongodb://admin:***@127.0.0.1:9/app");
    await assert.rejects(a.open({ create: false }), (error: unknown) => {
      assert.ok(isLockstepError(error, "E_DATABASE_UNREACHABLE"));
      assert.ok(!error.message.includes("s3cret"));
      assert.ok(error.hint);
      return true;
    });
  });

  test("the database comes from the URL's path", () => {
    assert.equal(databaseFromUrl("mongodb://h1:27017,h2:27017/app?replicaSet=rs0"), "app");
    assert.equal(
      databaseFromUrl("mongodb+srv://u:p@cluster0.example.net/datalab?retryWrites=true"),
      "datalab",
    );
    assert.equal(databaseFromUrl("mongodb://localhost:27017/"), null);
    assert.equal(databaseFromUrl("mongodb://localhost:27017?x=1"), null);
    assert.throws(() => MongoAdapter.fromUrl("mongodb://localhost:27017"), /names no database/);
    assert.equal(
      mongoUrlFor("mongodb://u:p@h:1/auth?replicaSet=rs", "t"),
      "mongodb://u:p@h:1/t?replicaSet=rs&authSource=auth",
    );
  });
});
