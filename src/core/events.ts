import type { LeaseInfo } from "./adapter.js";
import type { StepResult } from "./results.js";

/** The events an {@link Upgrader} emits, with their payloads. */
export interface UpgraderEvents {
  /** Another upgrader holds the lease; we wait and retry. */
  "lease:waiting": { readonly holder: LeaseInfo | null; readonly waitedMs: number };
  "lease:acquired": { readonly owner: string; readonly waited: boolean };
  /** A lease whose holder process is gone (same host) was broken. */
  "lease:broken": { readonly holder: LeaseInfo; readonly reason: string };
  "step:started": {
    readonly step: string;
    readonly index: number;
    readonly total: number;
    readonly dryRun: boolean;
  };
  "step:progress": { readonly step: string; readonly done: number; readonly total: number | undefined };
  "step:log": { readonly step: string; readonly message: string };
  "step:finished": StepResult;
  stamped: { readonly version: string; readonly action: string };
  warning: { readonly message: string };
}

type Listener<T> = (payload: T) => void;

/** A tiny typed event emitter: listeners are called in order; a throwing listener is isolated. */
export class TypedEmitter<Events extends object> {
  readonly #listeners = new Map<keyof Events, Set<Listener<never>>>();

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener as Listener<never>);
    return () => set.delete(listener as Listener<never>);
  }

  protected emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    for (const listener of this.#listeners.get(event) ?? []) {
      try {
        (listener as Listener<Events[K]>)(payload);
      } catch {
        // A listener's failure must never break an upgrade half-way.
      }
    }
  }
}
