/**
 * The compatibility floor as one upgrade moves it, under the lease: recorded before the stamp
 * first moves (a database stamped before floors gets its old stamp as floor), raised before a
 * non-expand step runs (its own committed write, so an older replica that registers after it
 * reads the raised floor and is refused), and put back when the step is deferred, refused or
 * rolled back.
 */
import type { DatabaseState, LeaseHandle } from "./adapter.js";
import type { EngineContext } from "./engine-context.js";
import { compareVersions } from "./versions.js";

export class FloorKeeper {
  #floor: string | null;
  #recorded: boolean;
  /** The floor before the last raise, until the step it guards is done. */
  #raisedFrom: string | null | undefined;

  constructor(
    private readonly engine: EngineContext<unknown>,
    private readonly lease: LeaseHandle,
    state: DatabaseState,
  ) {
    this.#recorded = state.floorRecorded === true;
    this.#floor = this.#recorded ? (state.floor ?? null) : null;
  }

  /** The floor as stored now (null: none recorded). */
  get floor(): string | null {
    return this.#floor;
  }

  /** A write that recorded the floor (init, `--from-version`'s baseline) happened. */
  noteRecorded(floor: string): void {
    this.#floor = floor;
    this.#recorded = true;
  }

  /** Before a write that moves the stamp from `stamp`: records `stamp` as the floor when none is. */
  async beforeStampMove(stamp: string | null): Promise<void> {
    if (this.#recorded || stamp === null) return;
    if (await this.#write(stamp)) this.noteRecorded(stamp);
    else this.#recorded = true; // the adapter stores no floor: nothing to record
  }

  /**
   * Before a non-expand step at `version`: raises the floor to it. True when the live
   * instances must be read again (the floor moved, or the adapter cannot store it).
   */
  async raise(version: string, stamp: string | null): Promise<boolean> {
    this.#raisedFrom = undefined;
    // An unstamped database (a first upgrade) has no release running on it yet.
    if (stamp === null) return true;
    await this.beforeStampMove(stamp);
    const floor = this.#floor ?? stamp;
    if (floor !== null && compareVersions(version, floor) <= 0) return false;
    if (!(await this.#write(version))) return true;
    this.#raisedFrom = floor;
    this.#floor = version;
    return true;
  }

  /** The guarded step is done (or left its writes): the raised floor stays. */
  keep(): void {
    this.#raisedFrom = undefined;
  }

  /** Puts back the floor the last {@link raise} replaced (deferred, refused or rolled-back step). */
  async restore(): Promise<void> {
    const previous = this.#raisedFrom;
    this.#raisedFrom = undefined;
    if (previous === undefined || previous === null) return;
    await this.#write(previous);
    this.#floor = previous;
  }

  /** Writes the floor in its own committed write; false when the adapter stores none. */
  #write(version: string): Promise<boolean> {
    return this.engine.adapter.write(this.lease, async (writer) => {
      if (writer.setFloor === undefined) return false;
      await writer.setFloor(version);
      return true;
    });
  }
}
