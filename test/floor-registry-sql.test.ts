/**
 * Issue 10 on SQLite and MySQL/MariaDB, against real databases: the compatibility floor as a
 * second row of the state table, the instance registry judged by the database's clock, and
 * the start-up guard's reads in one statement, counted (SQLite: every statement the adapter
 * runs on its connection; MySQL: the session's `Questions` counter on the server).
 */
import assert from "node:assert/strict";
import { describe } from "node:test";
import type BetterSqlite3 from "better-sqlite3";
import type mysql from "mysql2/promise";
import { SqliteAdapter } from "../src/adapters/sqlite/index.js";
import type { Adapter } from "../src/core/adapter.js";
import { rejectsWith, takeLease } from "./support/assertions.js";
import { loadFixtures } from "./support/fixtures.js";
import { describeFixture, harnessTest } from "./support/harness.js";
import { request } from "./support/lease-fixtures.js";
import {
  applied,
  assertFloorRoundTrip,
  assertPreFloorDatabase,
  assertRegistryExpiry,
  assertRegistryLifecycle,
  assertRoundTrips,
  assertSecondStateRowNotStamp,
  instance,
  type StatementCounter,
} from "./support/registry-cases.js";

type Db = BetterSqlite3.Database;
type Methods = "prepare" | "exec" | "pragma" | "transaction";

/**
 * SQLite runs in-process: every statement goes through the connection's prepare (counted
 * when it runs: get/all/run/iterate), exec or pragma; a transaction adds its BEGIN and COMMIT.
 */
const sqliteStatements: StatementCounter = async (adapter, fn) => {
  const db = adapter.handle() as Record<Methods, unknown>;
  let n = 0;
  const proto = Object.getPrototypeOf(db) as Db;
  db.prepare = (sql: string) => {
    const statement = proto.prepare.call(db as unknown as Db, sql) as unknown as Record<
      string,
      (...a: unknown[]) => unknown
    >;
    for (const run of ["get", "all", "run", "iterate"]) {
      const original = statement[run]!;
      statement[run] = (...args: unknown[]) => {
        n++;
        return original.apply(statement, args);
      };
    }
    return statement;
  };
  db.exec = (sql: string) => {
    n++;
    return proto.exec.call(db as unknown as Db, sql);
  };
  db.pragma = (...args: Parameters<Db["pragma"]>) => {
    n++;
    return proto.pragma.apply(db as unknown as Db, args);
  };
  db.transaction = (...args: Parameters<Db["transaction"]>) => {
    n += 2;
    return proto.transaction.apply(db as unknown as Db, args);
  };
  try {
    await fn();
  } finally {
    for (const method of ["prepare", "exec", "pragma", "transaction"] as const) delete db[method];
  }
  return n;
};

/** The server's count of statements this session sent, before and after (less the SHOWs themselves). */
const mysqlStatements: StatementCounter = async (adapter, fn) => {
  const c = adapter.handle() as mysql.Connection;
  const questions = async () =>
    Number((await c.query<mysql.RowDataPacket[]>("show session status like 'Questions'"))[0][0]!.Value);
  const q0 = await questions();
  const q1 = await questions();
  await fn();
  const q2 = await questions();
  return q2 - q1 - (q1 - q0);
};

const COUNTERS: Record<string, StatementCounter> = { sqlite: sqliteStatements, mysql: mysqlStatements };

/** One statement on the adapter's own connection. */
async function sql(adapter: Adapter<any>, statement: string): Promise<void> {
  if (adapter.kind === "sqlite") (adapter.handle() as Db).exec(statement);
  else await (adapter.handle() as mysql.Connection).query(statement);
}

/** What the new-database paths cost: SQLite two statements, MySQL three round trips (one refused). */
const FALLBACK = {
  sqlite: { readStateNew: 2, registerFirst: 2 },
  mysql: { readStateNew: 3, registerFirst: 3 },
} as const;

for (const fixture of (await loadFixtures()).filter((f) => f.name in COUNTERS)) {
  await describeFixture(fixture, describe, () => {
    const test = harnessTest(fixture);
    const kind = fixture.name as keyof typeof FALLBACK;

    test("setFloor then readState: the floor read back, recorded", (h) => assertFloorRoundTrip(h));
    test("a database stamped before floors: floor = stamp, not recorded", (h) => assertPreFloorDatabase(h));
    test("a second row of the state table is never read as the stamp", (h) =>
      assertSecondStateRowNotStamp(h, sql));
    test("registry: register, keep-alive, list, remove; [] without a registry", (h) =>
      assertRegistryLifecycle(h));
    test("registry: a TTL run out is expired by the database's clock", (h) => assertRegistryExpiry(h));

    test("round trips: readState 1 statement when current, a keep-alive 1", async (h) => {
      const trips = await assertRoundTrips(h, COUNTERS[kind]!);
      console.log(`# ${kind} statements: ${JSON.stringify(trips)}`);
      assert.equal(trips.readStateNew, FALLBACK[kind].readStateNew, "readState on a new database");
      // SQLite: a failed prepare runs nothing; the create and the retried upsert run.
      assert.equal(trips.registerFirst, FALLBACK[kind].registerFirst, "first registration");
    });

    test("a ledger of 6,000 long entries is read whole in the one statement", async (h) => {
      const a = await h.adapter();
      await a.ensureStore();
      const entries = Array.from({ length: 6000 }, (_, i) =>
        applied(`1.0.${i}`, `step-${String(i).padStart(5, "0")}-${"x".repeat(150)}`),
      );
      await a.write(null, async (writer) => {
        await writer.setStamp("1.0.5999");
        for (const e of entries) await writer.putLedgerEntry(e);
      });
      const state = await h.state();
      assert.equal(state.ledger.length, 6000);
      assert.deepEqual(state.ledger.at(-1)?.name, entries.at(-1)?.name);
    });

    if (kind === "sqlite") sqliteOnly();
    else mysqlOnly();

    function sqliteOnly(): void {
      test("read-only database: registerInstance is E_DATABASE_READONLY, readState still works", async (h) => {
        const a = await h.adapter();
        await a.ensureStore();
        await a.registerInstance!(instance("ro"), 60_000);
        (a.handle() as Db).pragma("query_only = 1");
        await rejectsWith(a.registerInstance!(instance("ro"), 60_000), "E_DATABASE_READONLY");
        await rejectsWith(a.removeInstance!("ro"), "E_DATABASE_READONLY");
        assert.deepEqual((await a.readState()).missingStore, []);
        assert.deepEqual(
          (await a.listInstances!()).map((i) => i.id),
          ["ro"],
        );
      });

      test("another process's write lock past the busy timeout: registerInstance is E_LOCK_HELD", async (h) => {
        const a = new SqliteAdapter({ filename: h.db.url.slice("sqlite:".length), busyTimeoutMs: 100 });
        await a.open({ create: false });
        const holder = await h.adapter();
        try {
          await a.registerInstance(instance("busy"), 60_000);
          (holder.handle() as Db).exec("begin immediate");
          await rejectsWith(a.registerInstance(instance("busy"), 60_000), "E_LOCK_HELD");
          assert.equal((await a.listInstances()).length, 1, "reads still work");
        } finally {
          if ((holder.handle() as Db).inTransaction) (holder.handle() as Db).exec("rollback");
          await a.close();
        }
      });
    }

    function mysqlOnly(): void {
      test("the registry's times are UTC whatever the session's time zone", async (h) => {
        const a = await h.adapter();
        await sql(a, "set session time_zone = '+05:00'");
        await a.registerInstance!(instance("tz"), 60_000);
        const [listed] = await a.listInstances!();
        const skew = Math.abs(Date.parse(listed!.lastSeen) - Date.now());
        assert.ok(skew < 60_000, `lastSeen ${listed!.lastSeen} is ${skew} ms off this machine's clock`);
        assert.ok(listed!.ageMs < 5_000 && !listed!.expired, JSON.stringify(listed));
      });

      test("a read-only session: registerInstance is E_DATABASE_READONLY, reads still work", async (h) => {
        const a = await h.adapter();
        await a.registerInstance!(instance("ro"), 60_000);
        await sql(a, "set session transaction read only");
        try {
          await rejectsWith(a.registerInstance!(instance("ro"), 60_000), "E_DATABASE_READONLY");
          await rejectsWith(a.removeInstance!("ro"), "E_DATABASE_READONLY");
          assert.deepEqual(
            (await a.listInstances!()).map((i) => i.id),
            ["ro"],
          );
          assert.equal((await a.readState()).stamp, null);
        } finally {
          await sql(a, "set session transaction read write");
        }
      });

      test("readState names the holder of a lock taken before its lease-info row was written", async (h) => {
        const a = await h.adapter();
        const other = await h.adapter();
        const lease = takeLease(await other.tryAcquireLease(request("writer")));
        await sql(other, "delete from lockstep_lease");
        const { lease: info } = await a.readState();
        assert.match(info?.owner ?? "", /^mysql connection \d+$/);
        assert.equal(info?.expired, false);
        await lease.release();
        assert.equal((await a.readState()).lease, null);
      });
    }
  });
}
