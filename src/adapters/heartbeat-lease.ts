import type { LeaseHandle } from "../core/adapter.js";
import { LeaseError, type LeaseHolderSummary } from "../core/errors.js";

/**
 * What one heartbeat found: `ok` the lease is ours for another lifetime; `busy` it could not
 * be renewed just now (our own open step transaction holds the row, a waiter locks it for a
 * moment) and the next beat retries, the check before each write deciding; `lost` it is gone.
 */
export type RenewOutcome = "ok" | "busy" | "lost";

/**
 * What every lease handle shares: the lost flag, a heartbeat at a third of the lease's
 * lifetime (its timer never keeps the process alive, a beat still in flight is not doubled),
 * and a release that happens once.
 *
 * The one policy for a failed heartbeat, for every database: `busy` retries at the next
 * beat; `lost`, or a renewal that throws, marks the lease lost, since a renewal that fails
 * cannot vouch for the lease, and the holder then stops before its next write.
 */
export abstract class HeartbeatLease implements LeaseHandle {
  #lost = false;
  #released = false;
  #beating = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(readonly owner: string) {}

  get lost(): boolean {
    return this.#lost;
  }

  /** Records that the lease was taken over or its connection died (ignored once released). */
  markLost(): void {
    if (!this.#released) this.#lost = true;
  }

  /** Starts calling `renew` every `ttlMs / 3` (at least every 50 ms), applying the policy above. */
  protected startHeartbeat(ttlMs: number, renew: () => RenewOutcome | Promise<RenewOutcome>): void {
    const beat = async () => {
      if (this.#beating || this.#lost || this.#released) return;
      this.#beating = true;
      try {
        if ((await renew()) === "lost") this.markLost();
      } catch {
        this.markLost();
      } finally {
        this.#beating = false;
      }
    };
    this.#timer = setInterval(() => void beat(), Math.max(50, Math.floor(ttlMs / 3)));
    this.#timer.unref();
  }

  /** Stops the heartbeat; false when the lease was already released or abandoned. */
  protected stop(): boolean {
    if (this.#released) return false;
    this.#released = true;
    clearInterval(this.#timer);
    return true;
  }

  abstract release(): Promise<void>;
}

/** The E_LEASE_LOST error every adapter throws before a write when its lease is gone. */
export function leaseLostError(displayName: string, holder: LeaseHolderSummary | null): LeaseError {
  return new LeaseError(
    "E_LEASE_LOST",
    `the lease on ${displayName} was lost${holder ? `, now held by ${holder.owner} (pid ${holder.pid} on ${holder.host})` : ""}; stopping before the next write`,
    holder ?? undefined,
    { hint: "run `lockstep status` to see where the database stands, then `lockstep upgrade` again" },
  );
}
