import type { AdapterCapabilities, LeaseInfo } from "./adapter.js";
import type { LeaseHolderSummary } from "./errors.js";

/** How the lease is held on a database: only lease rows and documents ever expire. */
export type LeaseMode = AdapterCapabilities["leaseMode"];

/**
 * What to do about a lease another process holds. A session lock (PostgreSQL's advisory
 * lock, MySQL's GET_LOCK) never expires: it lives as long as the holder's connection, so
 * the hint never says "wait for it to expire".
 */
export function leaseGoneHint(mode: LeaseMode): string {
  return mode === "session-lock"
    ? "if that process is gone, its connection still holds the lock: `lockstep unlock --force` ends that session"
    : "if that process is gone, `lockstep unlock` once the lease has expired";
}

/** The hint of `unlock` refusing a live lease. */
export function unlockRefusedHint(mode: LeaseMode): string {
  return mode === "session-lock"
    ? "the lock lives as long as the holder's connection: `lockstep unlock --force` ends that session if you are sure that process is gone"
    : "wait for it to expire, or `lockstep unlock --force` if you are sure that process is gone";
}

/** The holder as errors carry it. */
export function holderSummary(lease: LeaseInfo): LeaseHolderSummary {
  return { owner: lease.owner, host: lease.host, pid: lease.pid, expiresAt: lease.expiresAt };
}
