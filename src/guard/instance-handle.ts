/**
 * This process in the instance registry: registered by the guard before it reads the state
 * (so an upgrader raising the floor sees it), refreshed by `keepAlive()` (and a timer at a
 * third of the TTL, unref'd so it never keeps the process alive), removed by `close()`.
 *
 * The guard closes its connection once the check is done (as it always did), so an app that
 * never calls `close()` still exits; each keep-alive opens the adapter, writes, and closes it.
 * Every use of the adapter after the check goes through one queue, so a keep-alive and a
 * readiness read never overlap on one connection.
 */
import { randomBytes } from "node:crypto";
import type { Adapter, InstanceRecord } from "../core/adapter.js";
import { DEFAULT_INSTANCE_TTL_MS } from "../core/instances.js";
import type { Actor } from "../runtime/actor.js";

/** The adapter, opened for one task at a time after the check. */
export class AdapterQueue {
  #tail: Promise<unknown> = Promise.resolve();

  constructor(readonly adapter: Adapter<any>) {}

  /** Runs `fn` with the adapter opened, then closes it; tasks run one after another. */
  use<T>(fn: (adapter: Adapter<any>) => Promise<T>): Promise<T> {
    const run = this.#tail.then(async () => {
      await this.adapter.open({ create: false });
      try {
        return await fn(this.adapter);
      } finally {
        await this.adapter.close().catch(() => undefined);
      }
    });
    this.#tail = run.catch(() => undefined);
    return run;
  }
}

/** The registry entry of this process and what keeps it fresh. */
export class InstanceHandle {
  readonly record: InstanceRecord;
  readonly ttlMs: number;
  #timer: NodeJS.Timeout | undefined;
  #registered = false;
  #closed = false;

  constructor(
    readonly queue: AdapterQueue,
    actor: Actor,
    appVersion: string,
    ttlMs: number | undefined,
    readonly onError: (message: string) => void,
  ) {
    this.ttlMs = ttlMs ?? DEFAULT_INSTANCE_TTL_MS;
    this.record = {
      id: randomBytes(8).toString("hex"),
      appVersion,
      host: actor.host,
      pid: actor.pid,
      owner: actor.owner,
      startedAt: new Date().toISOString(),
    };
  }

  /** The adapter keeps a registry (every adapter will; optional while they learn it). */
  get supported(): boolean {
    return typeof this.queue.adapter.registerInstance === "function";
  }

  /** Registered (and not closed): the record is in the registry. */
  get registered(): boolean {
    return this.#registered && !this.#closed;
  }

  /**
   * Registers on the adapter as it is (the guard's open connection). Never throws: a store
   * that cannot be written (a read-only SQLite file, a read-only user) returns the warning.
   */
  async registerOpen(): Promise<string | null> {
    if (!this.supported) return null;
    try {
      await this.queue.adapter.registerInstance?.(this.record, this.ttlMs);
      this.#registered = true;
      return null;
    } catch (error) {
      return `could not record this instance in the registry (${(error as Error).message}); older-release checks by other upgraders will not see it`;
    }
  }

  /** On the guard's still-open connection: removes the registration and closes the handle (a refused start). */
  async removeOpen(): Promise<void> {
    this.#closed = true;
    if (this.#registered) await this.queue.adapter.removeInstance?.(this.record.id).catch(() => undefined);
    this.#registered = false;
  }

  /** Refreshes this instance's last-seen time (registering it again if it had expired). */
  async keepAlive(): Promise<void> {
    if (this.#closed || !this.supported) return;
    await this.queue.use((adapter) => adapter.registerInstance!(this.record, this.ttlMs));
    this.#registered = true;
  }

  /** Starts the keep-alive timer (every ttl/3, unref'd). */
  startTimer(): void {
    if (this.#closed || this.#timer !== undefined || !this.supported) return;
    this.#timer = setInterval(
      () => {
        this.keepAlive().catch((error: Error) =>
          this.onError(`instance keep-alive failed: ${error.message}`),
        );
      },
      Math.max(1_000, Math.floor(this.ttlMs / 3)),
    );
    this.#timer.unref();
  }

  /** Stops the timer and removes this instance from the registry. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    if (!this.#registered || !this.supported) return;
    this.#registered = false;
    await this.queue.use((adapter) => adapter.removeInstance?.(this.record.id) ?? Promise.resolve());
  }
}
