/**
 * The MySQL/MariaDB adapter's own cases, against the real server (LOCKSTEP_TEST_MYSQL_URL):
 * GET_LOCK's result checked, the lease-info row naming the holder, a lost lock stopping
 * writes, DDL that is not transactional, credentials never printed, reads that create nothing.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { inspect } from "node:util";
import type mysql from "mysql2/promise";
import { MysqlAdapter } from "../src/adapters/mysql/index.js";
import type { LeaseHandle } from "../src/core/adapter.js";
import { isLockstepError } from "../src/core/errors.js";
import { rejectsWith, takeLease } from "./support/assertions.js";
import { describeFixture, testWith } from "./support/harness.js";
import { entry, request } from "./support/lease-fixtures.js";
import mysqlFixture, { MYSQL_TEST_URL, mysqlUrlFor, withMysql } from "./support/mysql-fixture.js";
import { Place } from "./support/place.js";
import { assertBrokenHolderWritesNothing, assertExclusiveLease } from "./support/session-lease-cases.js";
import { assertEmptyStore, assertFailedStepLeavesNothing } from "./support/sql-adapter-cases.js";

/** The test's database and the adapters opened on it, closed and dropped at the end. */
class MysqlPlace extends Place {
  get database(): string {
    return this.name;
  }

  /** The GET_LOCK name the adapter uses for the lease on this database (default tables). */
  get lockName(): string {
    return `lockstep:lease:${this.database}.lockstep_lease`;
  }

  adapter(url = this.db.url): Promise<MysqlAdapter> {
    return this.open(MysqlAdapter.fromUrl(url));
  }
}

const test = testWith(() => MysqlPlace.create(mysqlFixture, /\/(lockstep_t_[0-9a-z_]+)/));

/** A plain connection to the test server, for playing a stranger. */
async function stranger<T>(fn: (c: mysql.Connection) => Promise<T>): Promise<T> {
  return withMysql(fn);
}

await describeFixture(mysqlFixture, describe, () => {
  test("a step's connection does not cut GROUP_CONCAT at the server's default (1 KB MySQL, 1 MB MariaDB)", async (p) => {
    const adapter = await p.adapter();
    for (const transactional of [true, false]) {
      const n = await adapter.write(
        null,
        async (_writer, db: mysql.Connection) => {
          const [rows] = await db.query<mysql.RowDataPacket[]>("select @@session.group_concat_max_len as n");
          return Number(rows[0]?.n);
        },
        { transactional, durable: false },
      );
      // The server caps what it is set to (MariaDB 10.11: 1 GB, max_allowed_packet's ceiling).
      assert.ok(n >= 2 ** 30, `transactional: ${transactional}: group_concat_max_len is ${n}`);
    }
  });

  describe("GET_LOCK lease", () => {
    test("GET_LOCK answers 0 to a second connection, and the second adapter learns who holds it", async (p) => {
      await assertExclusiveLease(await p.adapter(), await p.adapter(), async (heldBy) => {
        assert.equal(heldBy?.host, "test-host");
        const [rows] = await stranger((c) =>
          c.query<mysql.RowDataPacket[]>("select get_lock(?, 0) as ok", [p.lockName]),
        );
        assert.equal(rows[0]?.ok, 0, "the server refuses the lock to anyone else");
      });
    });

    test("a lock held by a connection that is not lockstep is still a held lock", async (p) => {
      const a = await p.adapter();
      await a.ensureStore();
      await stranger(async (c) => {
        const [rows] = await c.query<mysql.RowDataPacket[]>("select get_lock(?, 0) as ok", [p.lockName]);
        assert.equal(rows[0]?.ok, 1);
        const attempt = await a.tryAcquireLease(request("host-a/1"));
        assert.ok("heldBy" in attempt);
        assert.match(attempt.heldBy?.owner ?? "", /^mysql connection \d+$/);
        assert.equal(attempt.heldBy?.expired, false);
      });
      // The stranger's connection ended: the server released its lock.
      const lease = takeLease(await a.tryAcquireLease(request("host-a/1")));
      await lease.release();
    });

    test("a holder whose connection is killed has lost the lease and writes nothing", async (p) => {
      const a = await p.adapter();
      const b = await p.adapter();
      let taken: LeaseHandle | undefined;
      const lease = await assertBrokenHolderWritesNothing(a, b, async () => {
        taken = takeLease(await b.tryAcquireLease(request("host-b/2")));
      });
      await lease.release();
      assert.equal((await b.readState()).lease?.owner, "host-b/2", "releasing a lost lease frees nothing");
      await taken?.release();
    });

    test("a stale lease-info row without its lock is no lease", async (p) => {
      const a = await p.adapter();
      takeLease(await a.tryAcquireLease(request("host-a/1")));
      await a.close(); // the lock goes with the connection; the row stays behind
      const b = await p.adapter();
      assert.equal((await b.readState()).lease, null);
      const lease = takeLease(await b.tryAcquireLease(request("host-b/2")));
      await lease.release();
    });

    test("long table names keep the lock name within 64 characters", async (p) => {
      const long = `lease_${"x".repeat(58)}`;
      const a = MysqlAdapter.fromUrl(p.db.url, { tables: { lease: long } });
      const b = MysqlAdapter.fromUrl(p.db.url, { tables: { lease: long } });
      await a.open({ create: true });
      await b.open({ create: true });
      try {
        const lease = takeLease(await a.tryAcquireLease(request("host-a/1")));
        assert.ok("heldBy" in (await b.tryAcquireLease(request("host-b/2"))));
        await lease.release();
      } finally {
        await a.close();
        await b.close();
      }
    });
  });

  describe("transactions", () => {
    test("data changes, ledger and stamp commit together; DDL does not take part", async (p) => {
      const a = await p.adapter();
      await a.ensureStore();
      assert.equal(a.capabilities.supportsTransactionalSteps, true);
      assert.equal(a.capabilities.supportsTransactionalDdl, false);
      await assertFailedStepLeavesNothing(a, () => p.db.marks());
      // The reason the core marks every MySQL step in progress first: DDL commits at once.
      await assert.rejects(
        a.write(null, async (_writer, db) => {
          await db.query("create table ddl_probe (id int)");
          throw new Error("after DDL");
        }),
        /after DDL/,
      );
      const [rows] = await stranger((c) =>
        c.query<mysql.RowDataPacket[]>(
          "select 1 from information_schema.tables where table_schema = ? and table_name = 'ddl_probe'",
          [p.database],
        ),
      );
      assert.equal(rows.length, 1, "the table survived the rollback");
      await a.write(null, (writer) => writer.setStamp("2.0.0"), { rollback: true });
      assert.equal((await a.readState()).stamp, null, "a dry run's transaction is rolled back");
    });

    test("transactional: false runs statements one by one", async (p) => {
      const a = await p.adapter();
      await a.ensureStore();
      const lease = takeLease(await a.tryAcquireLease(request("host-a/1")));
      await assert.rejects(
        a.write(
          lease,
          async (writer, db) => {
            await db.query("insert into marks (mark) values ('kept')");
            await writer.appendHistory(entry);
            throw new Error("half-way");
          },
          { transactional: false },
        ),
        /half-way/,
      );
      assert.deepEqual(await p.db.marks(), ["kept"]);
      assert.equal((await a.readHistory()).length, 1);
      await lease.release();
    });
  });

  describe("store", () => {
    test("readState on an empty database is empty and creates nothing", async (p) => {
      const a = await p.adapter();
      await assertEmptyStore(a);
      const [rows] = await stranger((c) =>
        c.query<mysql.RowDataPacket[]>(
          "select table_name as name from information_schema.tables where table_schema = ?",
          [p.database],
        ),
      );
      assert.deepEqual(
        rows.map((r) => r.name),
        ["marks"],
      );
    });

    test("ensureStore is idempotent and safe to race", async (p) => {
      const adapters = await Promise.all(Array.from({ length: 6 }, () => p.adapter()));
      await Promise.all(adapters.map((a) => a.ensureStore()));
      await adapters[0]?.ensureStore();
      assert.equal((await adapters[1]?.readState())?.hasLedger, true);
    });

    test("count reads user tables", async (p) => {
      const a = await p.adapter();
      await stranger((c) => c.query(`insert into \`${p.database}\`.marks (mark) values ('a'), ('b')`));
      assert.equal(await a.count({ table: "marks" }), 2);
      assert.equal(await a.count({ table: `${p.database}.marks`, where: "mark = 'a'" }), 1);
      assert.equal(await a.count({ collection: "marks" }), 2);
      await rejectsWith(a.count({ collection: "marks", filter: { mark: "a" } }), "E_UNSUPPORTED");
    });

    test("describe says data changes are atomic and DDL is not", async (p) => {
      const d = await (await p.adapter()).describe();
      assert.match(d.server, /^(MariaDB|MySQL) \d+/);
      assert.equal(d.capabilities.supportsTransactionalDdl, false);
      assert.ok(d.guarantees.some((g) => /data changes commit atomically/.test(g)));
      assert.ok(d.guarantees.some((g) => /DDL\) are not atomic/.test(g)));
    });
  });

  describe("URLs and errors", () => {
    test("mariadb:// works and is shown as written", async (p) => {
      const url = p.db.url.replace(/^mysql:/, "mariadb:");
      const a = await p.adapter(url);
      assert.match(a.displayName, /^mariadb:\/\//);
      await a.ensureStore();
      assert.equal((await a.readState()).hasLedger, true);
    });

    it("credentials never appear: displayName, unreachable server, missing database", async () => {
      const secret = "s3cr3t-Pa55";
      const unreachable = MysqlAdapter.fromUrl(`mysql://root:${secret}@127.0.0.1:1/test`);
      assert.ok(!unreachable.displayName.includes(secret));
      assert.match(unreachable.displayName, /root:\*\*\*@127\.0\.0\.1:1/);
      const error = await rejectsWith(unreachable.open({ create: false }), "E_DATABASE_UNREACHABLE");
      assert.match(error.message, /127\.0\.0\.1:1/, "the message names the target");
      assert.ok(!inspect(error, { depth: 10 }).includes(secret), inspect(error));

      const missing = MysqlAdapter.fromUrl(
        mysqlUrlFor(MYSQL_TEST_URL, `lockstep_missing_${randomBytes(4).toString("hex")}`),
      );
      const notFound = await rejectsWith(missing.open({ create: false }), "E_DATABASE_NOT_FOUND");
      assert.ok(!inspect(notFound, { depth: 10 }).includes(secret));

      // A wrong password against the real server: refused, and the password is not echoed.
      const wrong = MysqlAdapter.fromUrl(
        MYSQL_TEST_URL.replace(/^([a-z]+:\/\/)([^:@/]+)(?::[^@/]*)?@/i, `$1$2:${secret}@`),
      );
      const denied = await wrong.open({ create: false }).then(
        () => wrong.close().then(() => null),
        (e: unknown) => e,
      );
      if (denied !== null) {
        assert.ok(isLockstepError(denied, "E_DATABASE_AUTH"), inspect(denied));
        assert.ok(!inspect(denied, { depth: 10 }).includes(secret), inspect(denied));
      }
    });
  });
});
