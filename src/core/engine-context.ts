import type { Actor } from "../runtime/actor.js";
import type { Adapter } from "./adapter.js";
import type { UpgraderEvents } from "./events.js";

/** Emits one of the {@link UpgraderEvents}. */
export type EmitEvent = <K extends keyof UpgraderEvents>(event: K, payload: UpgraderEvents[K]) => void;

/**
 * What the upgrader's parts (the step runner, the lease, the start-up check) share: the
 * database, who is acting, the code version it runs, and where its events go.
 */
export interface EngineContext<TDb = unknown> {
  readonly adapter: Adapter<TDb>;
  readonly actor: Actor;
  readonly codeVersion: string;
  readonly emit: EmitEvent;
}
