import type { ItemV1 } from "../examples/datalab/model.js";

/** Which database a bench target runs on (the keys of `--json`). */
export type TargetName = "postgres" | "mysql" | "sqlite" | "mongodb";

/** How long a method took over how many items. */
export interface Timing {
  readonly docs: number;
  readonly ms: number;
}

/** One database under the bench: fresh data, the naive and set-based rewrites, a checksum. */
export interface BenchTarget {
  readonly name: TargetName;
  /** The URL the `lockstep` child is given with `--database`. */
  readonly lockstepUrl: string;
  /** Whether the fresh database needs `lockstep init --version 0.1.0` (the seed may stamp it itself). */
  readonly needsInit: boolean;
  /** Builds the 0.1.0 data once; `reset()` then restores it for each method. */
  prepare(items: readonly ItemV1[]): Promise<void>;
  /** Fresh 0.1.0 data and no lockstep state, as the seed left it. */
  reset(): Promise<void>;
  /** Document by document: a query per lookup, a write per document, on the first `limit` items. */
  naive(limit: number): Promise<Timing>;
  /** One set-based statement; a string says why this server cannot run one. */
  single(): Promise<Timing | string>;
  /** Checksum of the first `limit` items (all when undefined) as stored now, in key order. */
  checksum(limit?: number): Promise<string>;
  /** Ends its connections and drops the bench's database, so a run leaves nothing on the server. */
  close(): Promise<void>;
}
