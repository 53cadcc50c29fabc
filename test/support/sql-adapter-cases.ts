/**
 * Checks the SQL adapter suites share: a step that throws leaves nothing behind, and an
 * adapter on a database without lockstep's store reads an empty state.
 */
import assert from "node:assert/strict";
import { type Adapter, STORE_PARTS } from "../../src/core/adapter.js";

/** A step that throws after writing rolls back its stamp and its own insert into `marks`. */
export async function assertFailedStepLeavesNothing(
  a: Adapter<{ query(sql: string): Promise<unknown> }>,
  marks: () => Promise<string[]>,
): Promise<void> {
  await assert.rejects(
    a.write(null, async (writer, db) => {
      await writer.setStamp("1.0.0");
      await db.query("insert into marks (mark) values ('x')");
      throw new Error("boom");
    }),
    /boom/,
  );
  assert.equal((await a.readState()).stamp, null);
  assert.deepEqual(await marks(), []);
}

/** readState, readHistory and breakLease on a database without lockstep's store find nothing. */
export async function assertEmptyStore(a: Adapter): Promise<void> {
  const { missingStore, userObjects, floor, floorRecorded, ...state } = await a.readState();
  assert.deepEqual(state, { stamp: null, hasLedger: false, ledger: [], interrupted: [], lease: null });
  // No floor without a stamp (undefined: an adapter that does not know floors yet).
  assert.ok(floor == null && !floorRecorded, `floor ${floor}, recorded ${floorRecorded}`);
  // Nothing of lockstep's exists yet: every part of the store is missing, none is "damaged".
  assert.deepEqual(missingStore, [...STORE_PARTS]);
  assert.equal(typeof userObjects, "number");
  assert.deepEqual(await a.readHistory(), []);
  assert.equal(await a.breakLease({}), null);
}
