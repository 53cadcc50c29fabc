/**
 * The lease cases the SQL adapter suites share (a lease tied to one server session): one
 * holder at a time, and a holder whose session was broken writes nothing. Each suite keeps
 * its own database-specific checks and calls these for the common part.
 */
import assert from "node:assert/strict";
import type { Adapter, LeaseHandle, LeaseInfo } from "../../src/core/adapter.js";
import type { LockstepError } from "../../src/core/errors.js";
import { rejectsWith, takeLease } from "./assertions.js";
import { request } from "./lease-fixtures.js";

/**
 * `a` takes the lease; `b` is refused and learns the holder, then gets it once `a` releases.
 * `whileHeld` runs the suite's own checks while `a` holds it, given who `b` was told holds it.
 */
export async function assertExclusiveLease(
  a: Adapter,
  b: Adapter,
  whileHeld: (heldBy: LeaseInfo | null) => Promise<void>,
): Promise<void> {
  const lease = takeLease(await a.tryAcquireLease(request("host-a/1")));
  const second = await b.tryAcquireLease(request("host-b/2"));
  assert.ok("heldBy" in second, "a second session does not get the lease");
  assert.equal(second.heldBy?.owner, "host-a/1");
  assert.equal(second.heldBy?.pid, 4242);
  assert.equal(second.heldBy?.expired, false);
  assert.equal((await b.readState()).lease?.owner, "host-a/1");
  await whileHeld(second.heldBy);
  await lease.release();
  assert.equal((await b.readState()).lease, null);
  const taken = takeLease(await b.tryAcquireLease(request("host-b/2")));
  assert.equal((await a.readState()).lease?.owner, "host-b/2");
  await taken.release();
}

/**
 * `lease` is lost: `holder.write` rejects with E_LEASE_LOST before running the step, and
 * `reader` sees no stamp. Returns the error for the suite's own checks of its message.
 */
export async function assertLostLeaseWritesNothing(
  holder: Adapter,
  lease: LeaseHandle,
  reader: Adapter,
): Promise<LockstepError> {
  let ran = false;
  const error = await rejectsWith(
    holder.write(lease, async (writer) => {
      ran = true;
      await writer.setStamp("9.9.9");
    }),
    "E_LEASE_LOST",
  );
  assert.equal(ran, false, "stopped before the step's writes");
  assert.equal(lease.lost, true);
  assert.equal((await reader.readState()).stamp, null);
  return error;
}

/**
 * `a` takes the lease and `b` breaks it by owner (ending `a`'s session): `b` sees no lease,
 * `afterBreak` runs, and `a` then writes nothing. Returns `a`'s lost lease.
 */
export async function assertBrokenHolderWritesNothing(
  a: Adapter,
  b: Adapter,
  afterBreak: () => Promise<void> = async () => {},
): Promise<LeaseHandle> {
  const lease = takeLease(await a.tryAcquireLease(request("host-a/1")));
  const broken = await b.breakLease({ owner: "host-a/1" });
  assert.equal(broken?.owner, "host-a/1");
  assert.equal((await b.readState()).lease, null);
  await afterBreak();
  await assertLostLeaseWritesNothing(a, lease, b);
  return lease;
}
