/**
 * Cases of issue 10 any adapter must pass: the compatibility floor beside the stamp, the
 * instance registry judged by the database's clock, and the round trips of the start-up
 * guard's reads and writes. Adapter-agnostic: each suite passes its harness and, for the
 * round-trip cases, how it counts the statements (commands) an adapter sends.
 */
import assert from "node:assert/strict";
import type { Adapter, InstanceRecord, LedgerEntry } from "../../src/core/adapter.js";
import { takeLease } from "./assertions.js";
import { type Harness, markStep, sleep } from "./harness.js";
import { request } from "./lease-fixtures.js";

/** Runs `fn` and returns how many statements (commands) `adapter` sent to its database meanwhile. */
export type StatementCounter = (adapter: Adapter<any>, fn: () => Promise<unknown>) => Promise<number>;

/** An instance record: release `appVersion`, a host that is not this one. */
export const instance = (id: string, appVersion = "1.0.0"): InstanceRecord => ({
  id,
  appVersion,
  host: "web-7",
  pid: 4242,
  owner: `web-7/machine/ns/4242/${id}`,
  startedAt: new Date().toISOString(),
});

/** A ledger entry applied at `version`. */
export const applied = (version: string, name: string): LedgerEntry => ({
  version,
  name,
  checksum: "sha256:0",
  kind: "applied",
  appliedAt: new Date().toISOString(),
  durationMs: 5,
  appVersion: version,
  counts: { rows: 1 },
});

/** A stamped database with its store: stamp `stamp`, floor `floor` when given, one ledger entry. */
async function stamped(adapter: Adapter<any>, stamp: string, floor?: string): Promise<void> {
  await adapter.ensureStore();
  await adapter.write(null, async (writer) => {
    await writer.setStamp(stamp);
    if (floor !== undefined) await writer.setFloor!(floor);
    await writer.putLedgerEntry(applied(stamp, "first"));
  });
}

/** setFloor then readState: the floor read back, recorded; the stamp untouched by it. */
export async function assertFloorRoundTrip(h: Harness): Promise<void> {
  const a = await h.adapter();
  await stamped(a, "1.2.0", "1.1.0");
  const state = await h.state();
  assert.equal(state.stamp, "1.2.0");
  assert.equal(state.floor, "1.1.0");
  assert.equal(state.floorRecorded, true);
  // Raised again: the same row, overwritten.
  await a.write(null, async (writer) => writer.setFloor!("1.2.0"));
  const raised = await h.state();
  assert.deepEqual([raised.stamp, raised.floor, raised.floorRecorded], ["1.2.0", "1.2.0", true]);
}

/** A database stamped before floors existed: the stamp stands in for the floor, not recorded; none when unstamped. */
export async function assertPreFloorDatabase(h: Harness): Promise<void> {
  const a = await h.adapter();
  const empty = await a.readState();
  assert.deepEqual([empty.floor, empty.floorRecorded], [null, false]);
  await stamped(a, "1.4.0");
  const state = await h.state();
  assert.deepEqual([state.stamp, state.floor, state.floorRecorded], ["1.4.0", "1.4.0", false]);
}

/**
 * The floor row (and any other row of the state table) is never read as the stamp, does not
 * count as the app's table, does not make the store look damaged, and an upgrade moves the
 * stamp row alone. `sql` runs one statement on the adapter's handle.
 */
export async function assertSecondStateRowNotStamp(
  h: Harness,
  sql: (adapter: Adapter<any>, statement: string) => Promise<void>,
): Promise<void> {
  const a = await h.adapter();
  await a.ensureStore();
  await a.write(null, async (writer) => writer.setFloor!("2.0.0"));
  const floorOnly = await h.state();
  assert.equal(floorOnly.stamp, null, "the floor row is not the stamp");
  const before = floorOnly.userObjects;
  await a.write(null, async (writer) => writer.setStamp("1.0.0"));
  await sql(
    a,
    "insert into lockstep_state (id, version, updated_at) values ('zz-other', 'not a version', '2020-01-01')",
  );
  const state = await h.state();
  assert.deepEqual([state.stamp, state.floor, state.floorRecorded], ["1.0.0", "2.0.0", true]);
  assert.deepEqual(state.missingStore, []);
  assert.equal(state.userObjects, before);
  const upgrader = await h.upgrader("1.1.0", [markStep(h.db, "1.1.0", "next")]);
  await upgrader.upgrade();
  const after = await h.state();
  assert.equal(after.stamp, "1.1.0");
  assert.equal(after.floorRecorded, true);
  assert.deepEqual(await h.marks(), ["1.1.0/next"]);
}

/** register, re-register (keep-alive), list, remove; [] and no error without a registry. */
export async function assertRegistryLifecycle(h: Harness): Promise<void> {
  const a = await h.adapter();
  assert.deepEqual(await a.listInstances!(), [], "no registry yet: nothing listed");
  await a.removeInstance!("nobody"); // no registry: no error
  const before = await a.readState();
  const one = instance("one");
  await a.registerInstance!(one, 60_000);
  const [first, ...others] = await a.listInstances!();
  assert.deepEqual(others, []);
  const { lastSeen, ageMs, expired, ...record } = first!;
  assert.deepEqual(record, one, "the record as registered, nothing more");
  assert.ok(!Number.isNaN(Date.parse(lastSeen)), lastSeen);
  assert.ok(ageMs >= 0 && ageMs < 5_000, `age ${ageMs} ms`);
  assert.equal(expired, false);
  await sleep(60);
  await a.registerInstance!(one, 60_000);
  const [refreshed] = await a.listInstances!();
  assert.ok(Date.parse(refreshed!.lastSeen) > Date.parse(lastSeen), `${refreshed!.lastSeen} > ${lastSeen}`);
  // The registry is not one of the store's parts, nor one of the app's tables.
  const after = await a.readState();
  assert.deepEqual(after.missingStore, before.missingStore);
  assert.equal(after.userObjects, before.userObjects);
  await a.removeInstance!("one");
  await a.removeInstance!("one"); // already gone: no error
  assert.deepEqual(await a.listInstances!(), []);
}

/** An instance whose time to live ran out is listed as expired, by the database's clock; a refreshed one is not. */
export async function assertRegistryExpiry(h: Harness): Promise<void> {
  const a = await h.adapter();
  await a.registerInstance!(instance("short", "1.0.0"), 300);
  await a.registerInstance!(instance("long", "1.2.0"), 60_000);
  const fresh = await a.listInstances!();
  assert.deepEqual(
    fresh.map((i) => [i.id, i.expired]),
    [
      ["short", false],
      ["long", false],
    ],
  );
  await sleep(600);
  const later = new Map((await a.listInstances!()).map((i) => [i.id, i]));
  assert.equal(later.get("short")?.expired, true, "300 ms without a keep-alive: expired");
  assert.ok(later.get("short")!.ageMs >= 300, `age ${later.get("short")!.ageMs} ms`);
  assert.equal(later.get("long")?.expired, false);
  // A keep-alive brings it back.
  await a.registerInstance!(instance("short", "1.0.0"), 60_000);
  const revived = (await a.listInstances!()).find((i) => i.id === "short");
  assert.equal(revived?.expired, false);
  assert.ok(revived!.ageMs < 300, `age ${revived!.ageMs} ms`);
}

/** What {@link assertRoundTrips} measured, for the report. */
export interface RoundTrips {
  readonly readStateCurrent: number;
  readonly readStateLeased: number;
  readonly readStateNew: number;
  readonly registerFirst: number;
  readonly registerAgain: number;
  readonly listInstances: number;
}

/**
 * The start-up guard's round trips: readState on a current, stamped database costs exactly
 * one statement (with the lease held by another upgrader too), a keep-alive exactly one.
 * Returns every count, the fallback paths' included (asserted by the caller).
 */
export async function assertRoundTrips(h: Harness, count: StatementCounter): Promise<RoundTrips> {
  const a = await h.adapter();
  const readStateNew = await count(a, () => a.readState());
  const registerFirst = await count(a, () => a.registerInstance!(instance("guard"), 60_000));
  await stamped(a, "1.3.0", "1.2.0");
  await a.write(null, async (writer) =>
    writer.setMarker({
      version: "1.4.0",
      name: "half",
      startedAt: new Date().toISOString(),
      owner: "o",
      host: "h",
      pid: 1,
      checkpoint: { after: 10 },
    }),
  );
  let state: Awaited<ReturnType<Adapter["readState"]>> | undefined;
  const readStateCurrent = await count(a, async () => {
    state = await a.readState();
  });
  assert.equal(state?.stamp, "1.3.0");
  assert.equal(state?.floor, "1.2.0");
  assert.equal(state?.ledger.length, 1);
  assert.deepEqual(state?.interrupted[0]?.checkpoint, { after: 10 });
  assert.equal(readStateCurrent, 1, "readState on a current database: one statement");

  const other = await h.adapter();
  const lease = takeLease(await other.tryAcquireLease(request("other-upgrader")));
  const readStateLeased = await count(a, async () => {
    state = await a.readState();
  });
  assert.equal(state?.lease?.owner, "other-upgrader");
  assert.equal(readStateLeased, 1, "readState while another upgrader holds the lease: one statement");
  await lease.release();

  const registerAgain = await count(a, () => a.registerInstance!(instance("guard"), 60_000));
  assert.equal(registerAgain, 1, "a keep-alive on an existing registry: one statement");
  const listInstances = await count(a, () => a.listInstances!());
  assert.equal(listInstances, 1);
  return { readStateCurrent, readStateLeased, readStateNew, registerFirst, registerAgain, listInstances };
}
