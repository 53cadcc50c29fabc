/**
 * The PostgreSQL adapter's compatibility floor, instance registry and one-round-trip state
 * read (issue 10), against the real server: the floor row beside the stamp, the registry's
 * times on the server's clock, and the statements each call sends over the wire, counted.
 */
import assert from "node:assert/strict";
import { describe } from "node:test";
import pg from "pg";
import { lockKey } from "../src/adapters/postgres/advisory-lock.js";
import { PostgresAdapter } from "../src/adapters/postgres/index.js";
import type { InstanceRecord, LedgerEntry } from "../src/core/adapter.js";
import { rejectsWith, takeLease } from "./support/assertions.js";
import { describeFixture, testWith } from "./support/harness.js";
import { request } from "./support/lease-fixtures.js";
import { Place } from "./support/place.js";
import postgresFixture, {
  POSTGRES_TEST_URL,
  postgresUrlFor,
  withPostgres,
} from "./support/postgres-fixture.js";

/** The test's schema and the adapters opened on it, closed and dropped at the end. */
class PostgresPlace extends Place {
  get schema(): string {
    return this.name;
  }

  adapter(lease: "session" | "table" = "session"): Promise<PostgresAdapter> {
    return this.open(PostgresAdapter.fromUrl(postgresUrlFor(POSTGRES_TEST_URL, this.schema, lease)));
  }
}

const test = testWith(() => PostgresPlace.create(postgresFixture, /[?&]schema=([^&]+)/));

/**
 * The queries `fn` sends, counted where every `pg` client of the process (the adapter's
 * shared connection and its pool's) sends them: one `query` call is one round trip.
 */
async function queriesOf(fn: () => Promise<unknown>): Promise<string[]> {
  return (await counted(fn)).sent;
}

/** `fn`'s result and the queries it sent (see {@link queriesOf}). */
async function counted<T>(fn: () => Promise<T>): Promise<{ result: T; sent: string[] }> {
  const sent: string[] = [];
  const original = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const first = args[0] as string | { text?: string };
    sent.push(typeof first === "string" ? first : String(first?.text));
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof original;
  try {
    return { result: await fn(), sent };
  } finally {
    pg.Client.prototype.query = original;
  }
}

const ledgerEntry = (version: string): LedgerEntry => ({
  version,
  name: "add-column",
  checksum: "abc",
  kind: "applied",
  appliedAt: new Date().toISOString(),
  durationMs: 12,
  appVersion: version,
  counts: { rows: 3 },
});

/** An instance of release `appVersion`; `id` unique per test. */
const instance = (id: string, appVersion = "1.0.0"): InstanceRecord => ({
  id,
  appVersion,
  host: "web-7",
  pid: 4242,
  owner: `web-7/machine/pidns/4242/${id}`,
  startedAt: new Date().toISOString(),
});

/** A database stamped 1.2.0 with floor 1.1.0, one ledger entry and the store complete. */
async function currentDatabase(a: PostgresAdapter): Promise<void> {
  await a.ensureStore();
  await a.write(null, async (writer) => {
    await writer.putLedgerEntry(ledgerEntry("1.2.0"));
    await writer.setStamp("1.2.0");
    await writer.setFloor("1.1.0");
  });
}

/** A step of 1.3.0 left half done: its marker, with a batch checkpoint. */
const marker = {
  version: "1.3.0",
  name: "backfill",
  startedAt: "2026-01-02T03:04:05.678Z",
  owner: "web-7/1",
  host: "web-7",
  pid: 17,
  checkpoint: { after: 10, keys: ["a", "b"] },
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

await describeFixture(postgresFixture, describe, () => {
  describe("compatibility floor", () => {
    test("a database stamped before floors reads its stamp as the floor, not recorded", async (p) => {
      const a = await p.adapter();
      await a.ensureStore();
      assert.deepEqual(pick(await a.readState()), { stamp: null, floor: null, floorRecorded: false });
      await a.write(null, (writer) => writer.setStamp("1.4.0"));
      assert.deepEqual(pick(await a.readState()), { stamp: "1.4.0", floor: "1.4.0", floorRecorded: false });
    });

    test("setFloor writes the row 'floor' in the write's transaction; the stamp row stays the stamp", async (p) => {
      const a = await p.adapter();
      await a.ensureStore();
      await a.write(null, async (writer) => {
        await writer.setStamp("1.2.0");
        await writer.setFloor("1.0.0");
      });
      assert.deepEqual(pick(await a.readState()), { stamp: "1.2.0", floor: "1.0.0", floorRecorded: true });
      await a.write(null, (writer) => writer.setFloor("1.1.0"), { rollback: true });
      assert.equal((await a.readState()).floor, "1.0.0", "a rolled-back floor is not kept");
      await a.write(null, (writer) => writer.setFloor("1.2.0"));
      assert.deepEqual(pick(await a.readState()), { stamp: "1.2.0", floor: "1.2.0", floorRecorded: true });
      const { rows } = await withPostgres((c) =>
        c.query(`select id, version from "${p.schema}".lockstep_state order by id`),
      );
      assert.deepEqual(rows, [
        { id: "floor", version: "1.2.0" },
        { id: "stamp", version: "1.2.0" },
      ]);
    });

    test("a floor that is not a version is E_STAMP_INVALID, or the stamp with ignoreInvalidStamp", async (p) => {
      const a = await p.adapter("table");
      await a.ensureStore();
      await a.write(null, (writer) => writer.setStamp("2.0.0"));
      await withPostgres((c) =>
        c.query(`insert into "${p.schema}".lockstep_state values ('floor', 'garbage', now())`),
      );
      const error = await rejectsWith(a.readState(), "E_STAMP_INVALID");
      assert.match(error.message, /floor/);
      const state = await a.readState({ ignoreInvalidStamp: true });
      assert.deepEqual(pick(state), { stamp: "2.0.0", floor: "2.0.0", floorRecorded: false });
    });
  });

  describe("instance registry", () => {
    test("without the registry: list is empty, remove does nothing, and neither creates it", async (p) => {
      const a = await p.adapter();
      assert.deepEqual(await a.listInstances(), []);
      await a.removeInstance("nobody");
      assert.equal(await registryExists(p.schema), false);
    });

    test("register creates the registry in lockstep's schema; re-register refreshes last_seen only", async (p) => {
      const a = await p.adapter();
      const record = instance("i-1");
      await a.registerInstance(record, 60_000);
      assert.equal(await registryExists(p.schema), true);
      const [first, ...others] = await a.listInstances();
      assert.deepEqual(others, []);
      assert.ok(first);
      const { lastSeen, ageMs, expired, ...stored } = first;
      assert.deepEqual(stored, record);
      assert.equal(expired, false);
      assert.ok(ageMs >= 0 && ageMs < 5_000, `ageMs ${ageMs}`);
      await sleep(50);
      await a.registerInstance({ ...record, startedAt: new Date().toISOString() }, 60_000);
      const [again] = await a.listInstances();
      assert.ok(again && Date.parse(again.lastSeen) > Date.parse(lastSeen), "last_seen moved");
      assert.equal(again.startedAt, record.startedAt, "started_at is the first registration's");
      // The row holds the record and the server's times, nothing else.
      const { rows } = await withPostgres((c) =>
        c.query(
          `select column_name from information_schema.columns where table_schema = $1
           and table_name = 'lockstep_instances' order by ordinal_position`,
          [p.schema],
        ),
      );
      assert.deepEqual(
        rows.map((r) => r.column_name),
        ["id", "app_version", "host", "pid", "owner", "started_at", "last_seen", "expires_at"],
      );
    });

    test("expiry is the time to live after the last registration, judged by the server's clock", async (p) => {
      const a = await p.adapter("table");
      await a.registerInstance(instance("i-short", "1.1.0"), 300);
      const { rows } = await withPostgres((c) =>
        c.query<{ ttl: number }>(
          `select (extract(epoch from expires_at - last_seen) * 1000)::float8 as ttl
           from "${p.schema}".lockstep_instances`,
        ),
      );
      assert.ok(Math.abs((rows[0]?.ttl ?? 0) - 300) < 1, `expires ${rows[0]?.ttl} ms after last_seen`);
      await sleep(450);
      const [gone] = await a.listInstances();
      assert.equal(gone?.expired, true);
      assert.ok((gone?.ageMs ?? 0) >= 300, `ageMs ${gone?.ageMs}`);
      await a.registerInstance(instance("i-short", "1.1.0"), 60_000);
      assert.equal((await a.listInstances())[0]?.expired, false, "a keep-alive revives it");
      await a.removeInstance("i-short");
      await a.removeInstance("i-short");
      assert.deepEqual(await a.listInstances(), []);
    });

    test("first registrations racing on a fresh schema all land; a held session lease is untouched", async (p) => {
      const adapters = await Promise.all(Array.from({ length: 5 }, () => p.adapter()));
      const holder = adapters[0] as PostgresAdapter;
      const lease = takeLease(await holder.tryAcquireLease(request("host-a/1")));
      await Promise.all(adapters.map((a, i) => a.registerInstance(instance(`race-${i}`), 60_000)));
      assert.equal((await holder.listInstances()).length, 5);
      assert.equal(lease.lost, false);
      assert.ok("heldBy" in (await (adapters[1] as PostgresAdapter).tryAcquireLease(request("host-b/2"))));
      await holder.write(lease, (writer) => writer.setStamp("1.0.0"));
      assert.equal((await holder.readState()).lease?.owner, "host-a/1");
      await lease.release();
    });

    test("a read-only session: register is E_DATABASE_READONLY, list and readState still read", async (p) => {
      const options = encodeURIComponent(`-c search_path=${p.schema} -c default_transaction_read_only=on`);
      const readOnly = await p.open(
        PostgresAdapter.fromUrl(`${POSTGRES_TEST_URL}?schema=${p.schema}&options=${options}`),
      );
      const missing = await rejectsWith(
        readOnly.registerInstance(instance("ro"), 60_000),
        "E_DATABASE_READONLY",
      );
      assert.match(missing.message, /read-only/);
      const a = await p.adapter();
      await currentDatabase(a);
      await a.registerInstance(instance("rw"), 60_000);
      await rejectsWith(readOnly.registerInstance(instance("ro"), 60_000), "E_DATABASE_READONLY");
      await rejectsWith(readOnly.removeInstance("rw"), "E_DATABASE_READONLY");
      assert.deepEqual(
        (await readOnly.listInstances()).map((i) => i.id),
        ["rw"],
      );
      assert.equal((await readOnly.readState()).floor, "1.1.0");
    });

    test("register refuses a record it could not store", async (p) => {
      const a = await p.adapter();
      await rejectsWith(
        a.registerInstance({ ...instance("x"), pid: "1" as unknown as number }, 1000),
        "E_INVALID_OPTION",
      );
      await rejectsWith(a.registerInstance(instance("x"), 0), "E_INVALID_OPTION");
      await rejectsWith(
        a.registerInstance({ ...instance("x"), startedAt: "yesterday" }, 1000),
        "E_INVALID_OPTION",
      );
    });
  });

  describe("round trips", () => {
    for (const mode of ["session", "table"] as const) {
      test(`readState on a current database is one statement (lease=${mode}), lease free or held`, async (p) => {
        const a = await p.adapter(mode);
        await currentDatabase(a);
        await a.write(null, (writer) => writer.setMarker(marker));
        const free = await counted(() => a.readState());
        assert.equal(free.sent.length, 1, free.sent.join("\n---\n"));
        const state = free.result;
        assert.deepEqual(pick(state), { stamp: "1.2.0", floor: "1.1.0", floorRecorded: true });
        assert.deepEqual(state.missingStore, []);
        assert.equal(state.hasLedger, true);
        assert.deepEqual(
          state.ledger.map((e) => [e.version, e.durationMs, e.counts]),
          [["1.2.0", 12, { rows: 3 }]],
        );
        assert.deepEqual(state.interrupted, [marker]);
        assert.equal(state.lease, null);

        const b = await p.adapter(mode);
        const lease = takeLease(await b.tryAcquireLease(request("host-b/2")));
        const held = await counted(() => a.readState());
        assert.equal(held.sent.length, 1, held.sent.join("\n---\n"));
        assert.equal(held.result.lease?.owner, "host-b/2");
        assert.equal(held.result.lease?.expired, false);
        await lease.release();
      });
    }

    test("a lock holder that has not written the lease row yet is named from its backend", async (p) => {
      const a = await p.adapter();
      await currentDatabase(a);
      const key = lockKey(`lockstep:lease:${p.schema}.lockstep_lease`);
      await withPostgres(async (c) => {
        await c.query("set application_name = 'lockstep pid 777 on web-9'");
        await c.query("select pg_advisory_lock($1::bigint)", [key.toString()]);
        const [backend] = (
          await c.query<{ pid: number; user: string }>("select pg_backend_pid() as pid, current_user as user")
        ).rows;
        const { result, sent } = await counted(() => a.readState());
        assert.equal(sent.length, 1);
        assert.equal(result.lease?.owner, `postgres backend ${backend?.pid}`);
        assert.equal(result.lease?.pid, 777);
        assert.equal(result.lease?.user, backend?.user);
        assert.equal(result.lease?.expired, false);
        assert.ok("heldBy" in (await a.tryAcquireLease(request("host-a/1"))));
      });
      assert.equal((await a.readState()).lease, null, "the lock went with its session");
    });

    test("a ledger of 5,000 entries is read whole, in order, in the one statement", async (p) => {
      const a = await p.adapter("table");
      await currentDatabase(a);
      await withPostgres((c) =>
        c.query(
          `insert into "${p.schema}".lockstep_ledger (version, name, checksum, kind, applied_at)
           select '1.0.' || i, 'step-' || lpad(i::text, 5, '0') || repeat('x', 150), 'c', 'applied',
                  timestamptz '2020-01-01 00:00:00+00' + i * interval '1 second'
           from generate_series(1, 5000) i`,
        ),
      );
      const { result, sent } = await counted(() => a.readState());
      assert.equal(sent.length, 1);
      assert.equal(result.ledger.length, 5001);
      assert.equal(result.ledger[0]?.version, "1.0.1");
      assert.equal(result.ledger[4999]?.appliedAt, "2020-01-01T01:23:20.000Z");
      assert.equal(result.ledger[5000]?.version, "1.2.0");
    });

    test("readState without lockstep's store: three round trips, nothing created", async (p) => {
      const a = await p.adapter();
      const sent = await queriesOf(() => a.readState());
      assert.equal(sent.length, 3, sent.join("\n---\n"));
      assert.equal(await tableExists(p.schema, "lockstep_state"), false);
    });

    test("registerInstance on an existing registry is one statement", async (p) => {
      const a = await p.adapter();
      await a.registerInstance(instance("i-1"), 60_000);
      const sent = await queriesOf(() => a.registerInstance(instance("i-1"), 60_000));
      assert.equal(sent.length, 1, sent.join("\n---\n"));
      const listed = await queriesOf(() => a.listInstances());
      assert.equal(listed.length, 1);
    });

    test("readState on a current database: median of 20 runs", async (p) => {
      const a = await p.adapter();
      await currentDatabase(a);
      await a.readState();
      const times: number[] = [];
      for (let i = 0; i < 20; i++) {
        const started = performance.now();
        await a.readState();
        times.push(performance.now() - started);
      }
      times.sort((x, y) => x - y);
      const median = ((times[9] ?? 0) + (times[10] ?? 0)) / 2;
      console.log(
        `# readState median of 20: ${median.toFixed(2)} ms (min ${times[0]?.toFixed(2)}, max ${times[19]?.toFixed(2)})`,
      );
      assert.ok(median < 1_000);
    });
  });
});

/** The stamp and floor of a state. */
function pick(state: { stamp: string | null; floor?: string | null; floorRecorded?: boolean } | undefined) {
  return { stamp: state?.stamp, floor: state?.floor, floorRecorded: state?.floorRecorded };
}

/** Whether `schema` holds the table `table`. */
async function tableExists(schema: string, table: string): Promise<boolean> {
  const { rows } = await withPostgres((c) =>
    c.query("select to_regclass($1) is not null as present", [`"${schema}"."${table}"`]),
  );
  return rows[0]?.present === true;
}

const registryExists = (schema: string) => tableExists(schema, "lockstep_instances");
