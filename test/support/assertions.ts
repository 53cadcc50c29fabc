/** Assertions the suites share: a coded rejection, and a lease attempt that must succeed. */
import assert from "node:assert/strict";
import { inspect } from "node:util";
import type { Adapter, LeaseHandle } from "../../src/core/adapter.js";
import { isLockstepError, type LockstepError, type LockstepErrorCode } from "../../src/core/errors.js";

/** Awaits `promise`, asserts it rejects with a LockstepError of `code`, and returns that error. */
export async function rejectsWith(
  promise: Promise<unknown>,
  code: LockstepErrorCode,
): Promise<LockstepError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isLockstepError(error), `expected a LockstepError ${code}, got ${inspect(error)}`);
    assert.equal(error.code, code, `expected ${code}: ${error.message}`);
    return error;
  }
  assert.fail(`expected ${code}, but it resolved`);
}

/** The lease out of a `tryAcquireLease` answer, failing when someone else holds it. */
export function takeLease(attempt: Awaited<ReturnType<Adapter["tryAcquireLease"]>>): LeaseHandle {
  assert.ok("lease" in attempt, `expected the lease, got ${JSON.stringify(attempt)}`);
  return attempt.lease;
}
