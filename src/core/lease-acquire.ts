import type { Actor } from "../runtime/actor.js";
import type { LeaseHandle, LeaseInfo } from "./adapter.js";
import type { EngineContext } from "./engine-context.js";
import { LeaseError } from "./errors.js";
import { holderSummary, type LeaseMode, leaseGoneHint } from "./lease-hints.js";
import { historyEntry } from "./records.js";
import type { LeaseOptions } from "./upgrader-options.js";

/** Lease timing with every default filled in. */
export type LeaseTiming = Required<LeaseOptions>;

/** A lease taken, and whether another upgrader held it first and we waited. */
export interface AcquiredLease {
  readonly lease: LeaseHandle;
  readonly waited: boolean;
}

/**
 * Takes the lease, runs `fn` under it, and releases it whatever `fn` did. Waits for
 * another holder unless `wait` is false.
 */
export async function withLease<T>(
  engine: EngineContext,
  timing: LeaseTiming,
  wait: boolean,
  fn: (acquired: AcquiredLease) => Promise<T>,
): Promise<T> {
  const acquired = await acquireLease(engine, timing, wait);
  try {
    return await fn(acquired);
  } finally {
    await acquired.lease.release();
  }
}

/**
 * Takes the lease, waiting for another holder unless `wait` is false. A holder that ran on
 * this machine and whose process is gone is broken at once (and recorded in history).
 */
export async function acquireLease(
  engine: EngineContext,
  timing: LeaseTiming,
  wait: boolean,
): Promise<AcquiredLease> {
  const { actor, adapter } = engine;
  const started = Date.now();
  const request = {
    owner: actor.owner,
    host: actor.host,
    pid: actor.pid,
    user: actor.user,
    ttlMs: timing.ttlMs,
  };
  let waited = false;
  for (;;) {
    const attempt = await adapter.tryAcquireLease(request);
    if ("lease" in attempt) {
      engine.emit("lease:acquired", { owner: request.owner, waited });
      return { lease: attempt.lease, waited };
    }
    const holder = attempt.heldBy;
    if (holder && actor.isLocalProcessAlive(holder.owner, holder.pid) === false) {
      await breakDeadHolder(engine, holder, timing.pollMs);
      continue;
    }
    const waitedMs = Date.now() - started;
    if (!wait || waitedMs >= timing.waitMs)
      throw lockHeldError(adapter.displayName, adapter.capabilities.leaseMode, holder, wait);
    waited = true;
    engine.emit("lease:waiting", { holder, waitedMs });
    await sleep(timing.pollMs);
  }
}

/**
 * Is the lease held by another upgrader that may still be running? A lease whose holder ran
 * here and is gone (killed) is not an upgrade in progress: the next upgrader breaks it at once.
 */
export function heldByOther(actor: Actor, lease: LeaseInfo | null): boolean {
  return (
    lease !== null &&
    !lease.expired &&
    lease.owner !== actor.owner &&
    actor.isLocalProcessAlive(lease.owner, lease.pid) !== false
  );
}

async function breakDeadHolder(engine: EngineContext, holder: LeaseInfo, pollMs: number): Promise<void> {
  const { adapter } = engine;
  // The holder ran on this machine and its process is gone (killed): its lease can
  // never be renewed, so waiting for it to expire only delays the next upgrader.
  const broken = await adapter.breakLease({ owner: holder.owner });
  if (!broken) {
    // Someone else broke or took it first (or a session lock lingers): don't spin.
    await sleep(pollMs);
    return;
  }
  const reason = `holder process ${holder.pid} on ${holder.host} is no longer running`;
  await adapter.ensureStore();
  await adapter.write(null, (writer) =>
    writer.appendHistory(
      historyEntry(engine, "unlock", { details: { holder: broken, reason, automatic: true } }),
    ),
  );
  engine.emit("lease:broken", { holder: broken, reason });
}

function lockHeldError(
  displayName: string,
  mode: LeaseMode,
  holder: LeaseInfo | null,
  wait: boolean,
): LeaseError {
  const gone = leaseGoneHint(mode);
  return new LeaseError(
    "E_LOCK_HELD",
    holder
      ? `another upgrader holds the lease on ${displayName}: ${holder.owner} (pid ${holder.pid} on ${holder.host}, user ${holder.user})${mode === "session-lock" ? " on its connection" : ` until ${holder.expiresAt}`}`
      : `could not take the lease on ${displayName}: another upgrader holds it (or another process is writing)`,
    holder ? holderSummary(holder) : undefined,
    {
      hint: wait
        ? `wait for it to finish and run again (or raise the wait with --lock-timeout); ${gone}`
        : `run again without --no-wait to wait for it; ${gone}`,
    },
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
