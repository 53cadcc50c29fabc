/**
 * The PostgreSQL adapter's own cases, against the real server (LOCKSTEP_TEST_POSTGRES_URL):
 * the session advisory lock, the lease-row mode judged by the server's clock, the
 * non-transactional path, credentials never printed, and reads that create nothing.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { inspect } from "node:util";
import { PostgresAdapter } from "../src/adapters/postgres/index.js";
import type { Adapter } from "../src/core/adapter.js";
import { isLockstepError } from "../src/core/errors.js";
import { rejectsWith, takeLease } from "./support/assertions.js";
import { TEST_RUN_PREFIX } from "./support/fixtures.js";
import { describeFixture, testWith } from "./support/harness.js";
import { entry, request } from "./support/lease-fixtures.js";
import { Place } from "./support/place.js";
import postgresFixture, {
  POSTGRES_TEST_URL,
  postgresUrlFor,
  withPostgres,
} from "./support/postgres-fixture.js";
import {
  assertBrokenHolderWritesNothing,
  assertExclusiveLease,
  assertLostLeaseWritesNothing,
} from "./support/session-lease-cases.js";
import { assertEmptyStore, assertFailedStepLeavesNothing } from "./support/sql-adapter-cases.js";

/** The test's schema and the adapters opened on it, closed and dropped at the end. */
class PostgresPlace extends Place {
  get schema(): string {
    return this.name;
  }

  /** An opened adapter on this schema with the given lease mode. */
  adapter(lease: "session" | "table" = "session"): Promise<PostgresAdapter> {
    return this.open(PostgresAdapter.fromUrl(postgresUrlFor(POSTGRES_TEST_URL, this.schema, lease)));
  }
}

const test = testWith(() => PostgresPlace.create(postgresFixture, /[?&]schema=([^&]+)/));

await describeFixture(postgresFixture, describe, () => {
  describe("session advisory lock", () => {
    test("is exclusive across two adapters, and the loser learns who holds it", async (p) => {
      const b = await p.adapter();
      await assertExclusiveLease(await p.adapter(), b, async () => {
        // Polling again reuses one idle connection and still fails.
        assert.ok("heldBy" in (await b.tryAcquireLease(request("host-b/2"))));
      });
    });

    test("a holder whose connection is terminated has lost the lease and writes nothing", async (p) => {
      const lease = await assertBrokenHolderWritesNothing(await p.adapter(), await p.adapter());
      await lease.release();
    });

    test("breakLease with another owner's name breaks nothing", async (p) => {
      const a = await p.adapter();
      const b = await p.adapter();
      const lease = takeLease(await a.tryAcquireLease(request("host-a/1")));
      assert.equal(await b.breakLease({ owner: "someone-else" }), null);
      assert.equal((await b.readState()).lease?.owner, "host-a/1");
      await a.write(lease, (writer) => writer.setStamp("1.0.0"));
      await lease.release();
    });

    test("a waiter whose idle connection died reconnects on its next attempt", async (p) => {
      const a = await p.adapter();
      const b = await p.adapter();
      const lease = takeLease(await a.tryAcquireLease(request("host-a/1")));
      const waiter = { ...request("host-b/2"), pid: 4343 };
      assert.ok("heldBy" in (await b.tryAcquireLease(waiter)));
      const { rows } = await withPostgres((c) =>
        c.query("select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1", [
          "lockstep pid 4343 on test-host",
        ]),
      );
      assert.equal(rows.length, 1, "the waiter kept one idle connection");
      await lease.release();
      const taken = takeLease(await b.tryAcquireLease(waiter));
      await taken.release();
    });

    test("closing the holder frees the lock", async (p) => {
      const a = await p.adapter();
      const b = await p.adapter();
      takeLease(await a.tryAcquireLease(request("host-a/1")));
      await a.close();
      const lease = takeLease(await b.tryAcquireLease(request("host-b/2")));
      await lease.release();
    });
  });

  describe("lease row (lease=table)", () => {
    test("expiry is judged by the server's clock; a lost lease stops write() before any write", async (p) => {
      const a = await p.adapter("table");
      const b = await p.adapter("table");
      assert.equal(a.capabilities.leaseMode, "lease-row");
      const lease = takeLease(await a.tryAcquireLease(request("host-a/1")));
      const refused = await b.tryAcquireLease(request("host-b/2"));
      assert.ok("heldBy" in refused);
      assert.equal(refused.heldBy?.owner, "host-a/1");
      assert.equal(refused.heldBy?.expired, false);
      // Only the server's clock counts: move the expiry just behind it.
      await withPostgres((c) =>
        c.query(
          `update "${p.schema}".lockstep_lease set expires_at = clock_timestamp() - interval '1 second'`,
        ),
      );
      assert.equal((await b.readState()).lease?.expired, true);
      const taken = takeLease(await b.tryAcquireLease(request("host-b/2")));
      const error = await assertLostLeaseWritesNothing(a, lease, b);
      assert.match(error.message, /host-b\/2/);
      await b.write(taken, (writer) => writer.setStamp("1.0.0"));
      assert.equal((await a.readState()).stamp, "1.0.0");
      await lease.release();
      assert.equal((await a.readState()).lease?.owner, "host-b/2", "releasing a lost lease frees nothing");
      await taken.release();
      assert.equal((await a.readState()).lease, null);
    });

    test("the heartbeat renews the row; an abandoned row expires and can be broken", async (p) => {
      const a = await p.adapter("table");
      const b = await p.adapter("table");
      const lease = takeLease(await a.tryAcquireLease(request("host-a/1", 1_500)));
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      assert.equal((await b.readState()).lease?.expired, false, "renewed past its first expiry");
      assert.equal(lease.lost, false);
      await a.close();
      await new Promise((resolve) => setTimeout(resolve, 1_700));
      assert.equal((await b.readState()).lease?.expired, true);
      assert.equal((await b.breakLease({ owner: "host-a/1" }))?.owner, "host-a/1");
      assert.equal((await b.readState()).lease, null);
    });

    test("a holder's open step keeps the row: another attempt is refused quickly, not blocked", async (p) => {
      const a = await p.adapter("table");
      const b = await p.adapter("table");
      const lease = takeLease(await a.tryAcquireLease(request("host-a/1")));
      let attemptMs = -1;
      let attempt: Awaited<ReturnType<Adapter["tryAcquireLease"]>> | undefined;
      await a.write(lease, async (writer) => {
        await writer.setStamp("1.0.0");
        const started = Date.now();
        attempt = await b.tryAcquireLease(request("host-b/2"));
        attemptMs = Date.now() - started;
      });
      assert.ok(attempt && "heldBy" in attempt);
      assert.ok(attemptMs < 5_000, `one attempt took ${attemptMs} ms`);
      assert.equal((await b.readState()).stamp, "1.0.0");
      await lease.release();
    });
  });

  describe("transactions", () => {
    test("a step's writes, ledger and stamp commit together or not at all", async (p) => {
      const a = await p.adapter();
      await a.ensureStore();
      await assertFailedStepLeavesNothing(a, () => p.db.marks());
      await a.write(null, (writer) => writer.setStamp("2.0.0"), { rollback: true });
      assert.equal((await a.readState()).stamp, null, "a dry run's transaction is rolled back");
    });

    test("transactional: false runs without BEGIN (CREATE INDEX CONCURRENTLY)", async (p) => {
      const a = await p.adapter();
      await a.ensureStore();
      const concurrently = "create index concurrently marks_mark on marks (mark)";
      await assert.rejects(
        a.write(null, async (_w, db) => db.query(concurrently)),
        /cannot run inside a transaction block/,
      );
      const lease = takeLease(await a.tryAcquireLease(request("host-a/1")));
      await a.write(
        lease,
        async (writer, db) => {
          await db.query(concurrently);
          await writer.appendHistory(entry);
        },
        { transactional: false },
      );
      const { rows } = await withPostgres((c) =>
        c.query("select 1 from pg_indexes where schemaname = $1 and indexname = 'marks_mark'", [p.schema]),
      );
      assert.equal(rows.length, 1);
      assert.equal((await a.readHistory()).length, 1);
      await lease.release();
    });
  });

  describe("store", () => {
    test("readState on a missing schema is empty and creates nothing", async () => {
      const schema = `${TEST_RUN_PREFIX}absent_${randomBytes(4).toString("hex")}`;
      const adapter = PostgresAdapter.fromUrl(postgresUrlFor(POSTGRES_TEST_URL, schema));
      await adapter.open({ create: false });
      try {
        await assertEmptyStore(adapter);
      } finally {
        await adapter.close();
      }
      const { rows } = await withPostgres((c) =>
        c.query("select 1 from pg_namespace where nspname = $1", [schema]),
      );
      assert.equal(rows.length, 0, "the schema was not created");
    });

    test("ensureStore is idempotent and safe to race", async () => {
      const schema = `${TEST_RUN_PREFIX}race_${randomBytes(4).toString("hex")}`;
      const adapters = Array.from({ length: 6 }, () =>
        PostgresAdapter.fromUrl(postgresUrlFor(POSTGRES_TEST_URL, schema)),
      );
      try {
        await Promise.all(adapters.map((a) => a.open({ create: true })));
        await Promise.all(adapters.map((a) => a.ensureStore()));
        await adapters[0]?.ensureStore();
        const state = await adapters[1]?.readState();
        assert.equal(state?.hasLedger, true);
      } finally {
        for (const a of adapters) await a.close();
        await withPostgres((c) => c.query(`drop schema if exists "${schema}" cascade`));
      }
    });

    test("count reads user tables, schema-qualified or through search_path", async (p) => {
      const a = await p.adapter();
      await withPostgres((c) => c.query(`insert into "${p.schema}".marks (mark) values ('a'), ('b')`));
      assert.equal(await a.count({ table: "marks" }), 2);
      assert.equal(await a.count({ table: `${p.schema}.marks`, where: "mark = 'a'" }), 1);
      assert.equal(await a.count({ collection: "marks" }), 2);
      await rejectsWith(a.count({ collection: "marks", filter: { mark: "a" } }), "E_UNSUPPORTED");
    });

    test("describe names the server and what is atomic", async (p) => {
      const d = await (await p.adapter("table")).describe();
      assert.match(d.server, /^PostgreSQL \d+/);
      assert.equal(d.capabilities.supportsTransactionalDdl, true);
      assert.ok(d.guarantees.some((g) => /atomically/.test(g)));
      assert.ok(d.guarantees.some((g) => /server's clock/.test(g)));
    });
  });

  describe("URLs and errors", () => {
    it("schema= and lease= are lockstep's; a bad lease mode is E_DATABASE_URL", () => {
      const adapter = PostgresAdapter.fromUrl("postgresql://u@h/db?schema=app&lease=table&sslmode=disable");
      assert.equal(adapter.schema, "app");
      assert.equal(adapter.leaseMode, "table");
      assert.equal(adapter.capabilities.leaseMode, "lease-row");
      assert.equal(PostgresAdapter.fromUrl("postgres://u@h/db").schema, "public");
      assert.throws(
        () => PostgresAdapter.fromUrl("postgres://u@h/db?lease=bogus"),
        (e) => isLockstepError(e, "E_DATABASE_URL"),
      );
    });

    test("credentials never appear: displayName, unreachable server, missing database", async () => {
      const secret = "s3cr3t-Pa55";
      const unreachable = PostgresAdapter.fromUrl(`postgres://postgres:${secret}@127.0.0.1:1/test?schema=x`);
      assert.ok(!unreachable.displayName.includes(secret));
      assert.match(unreachable.displayName, /postgres:\*\*\*@127\.0\.0\.1:1/);
      const error = await rejectsWith(unreachable.open({ create: false }), "E_DATABASE_UNREACHABLE");
      assert.match(error.message, /127\.0\.0\.1:1/, "the hint names the target");
      assert.ok(!inspect(error, { depth: 10 }).includes(secret), inspect(error));
      assert.ok(!JSON.stringify({ message: error.message, stack: error.stack }).includes(secret));

      const base = new URL(POSTGRES_TEST_URL);
      base.password = secret;
      base.pathname = `/lockstep_missing_${randomBytes(4).toString("hex")}`;
      const missing = PostgresAdapter.fromUrl(base.toString());
      const notFound = await rejectsWith(missing.open({ create: false }), "E_DATABASE_NOT_FOUND");
      assert.ok(!inspect(notFound, { depth: 10 }).includes(secret), inspect(notFound));
    });
  });
});
