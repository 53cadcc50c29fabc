import type { LeaseHandle } from "../core/adapter.js";

/**
 * What every lease handle shares: the lost flag, a heartbeat at a third of the lease's
 * lifetime (its timer never keeps the process alive), and a release that happens once.
 */
export abstract class HeartbeatLease implements LeaseHandle {
  #lost = false;
  #released = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(readonly owner: string) {}

  get lost(): boolean {
    return this.#lost;
  }

  /** Records that the lease was taken over or its connection died (ignored once released). */
  markLost(): void {
    if (!this.#released) this.#lost = true;
  }

  /** Starts calling `beat` every `ttlMs / 3` (at least every 50 ms). */
  protected startHeartbeat(ttlMs: number, beat: () => void): void {
    this.#timer = setInterval(beat, Math.max(50, Math.floor(ttlMs / 3)));
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
