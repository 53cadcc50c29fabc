import type { BatchSource, CountQuery, RangeStatement } from "./adapter.js";
import type { BatchOptions, BatchResult, BatchTransform } from "./batch.js";

/** Counts a step reports about its work, e.g. `{ items: 2000, stubs: 14 }`. */
export type StepCounts = Record<string, number>;

/** What a step's `run` (and `prepare`) receives. */
export interface StepContext<TDb = unknown> {
  /** The database handle; inside a transaction it is bound to it (SQL client, session-bound Db). */
  readonly db: TDb;
  /** True in a dry run: read, count and report, but do not write. */
  readonly dryRun: boolean;
  /** This step's version and name. */
  readonly version: string;
  readonly name: string;
  /** The adapter kind: "sqlite", "postgres", "mysql", "mongodb". */
  readonly databaseKind: string;
  /** Writes a line to lockstep's output (and the step's events). */
  log(message: string): void;
  /** Reports progress: `done` of `total` units of work. */
  progress(done: number, total?: number): void;
  /**
   * Walks `source` in key order, page by page: `transform` turns each page into changes,
   * written with one bulk write per page together with a checkpoint. After a crash the next
   * `upgrade` resumes after the last checkpoint. Only in steps declared `batched: true`.
   */
  batch(source: BatchSource, transform: BatchTransform, options?: BatchOptions): Promise<BatchResult>;
  /**
   * The set-based page mode: walks `source`'s keys in ranges of `pageSize` and runs `statement`
   * once per range with the range's first and last key (PostgreSQL `$1`/`$2`, SQLite `?1`/`?2`,
   * MySQL `?`, `?`; MongoDB `{ update }` or `{ pipeline }` ending in `$merge`), in one
   * transaction with the range's checkpoint. Resumes, throttles and reports like `batch`; for
   * rewrites the database can say itself. Only in steps declared `batched: true`.
   */
  batchRanges(source: BatchSource, statement: RangeStatement, options?: BatchOptions): Promise<BatchResult>;
  /** Reads `source` page by page in key order, without writing (e.g. to build a lookup map). */
  pages(source: BatchSource, options?: BatchOptions): AsyncIterable<readonly Record<string, unknown>[]>;
}

/** What a precondition check receives. */
export interface ConditionContext<TDb = unknown> {
  readonly db: TDb;
  readonly databaseKind: string;
  count(query: CountQuery): Promise<number>;
}

/** A failed precondition: why, and how many records are in the way. */
export interface ConditionFailure {
  readonly message: string;
  readonly count?: number;
}

/** A precondition a step needs before anything is applied. */
export interface Condition<TDb = unknown> {
  readonly description: string;
  /** `--force` skips it; the step must then cope with the records it names. */
  readonly skippable: boolean;
  /** Resolves to null when the condition holds. */
  check(ctx: ConditionContext<TDb>): Promise<ConditionFailure | null>;
}

/**
 * How a step treats older code still running during a rolling deploy:
 * - `"expand"`: older releases keep working on the data after it; the releasing code needs it
 *   (add a nullable column, a table, an index). Applied at once, even with older code live.
 * - `"contract"`: breaks older releases; the releasing code does not need it (drop a column
 *   the new code no longer reads). Deferred while an older release is live.
 * - none: needed now and breaking: older code must be gone first (refused while it is live,
 *   unless `--allow-downtime`).
 * Not part of the checksum: adding a phase to a released step is not an edit.
 */
export type StepPhase = "expand" | "contract";

/** The phases a step may declare. */
export const STEP_PHASES: readonly StepPhase[] = ["expand", "contract"];

/** How an application declares one upgrade step. */
export interface StepDefinition<TDb = unknown> {
  /** The first release that needs this step, e.g. "0.5.0" (a leading "v" is accepted). */
  readonly version: string;
  /** Unique within the version; identity is version + name. */
  readonly name: string;
  readonly description?: string;
  /** Does the work. May return counts. Must not write when `ctx.dryRun`. */
  // biome-ignore lint/suspicious/noConfusingVoidType: steps that return nothing must type-check.
  run(ctx: StepContext<TDb>): Promise<StepCounts | undefined | void> | StepCounts | undefined | void;
  /** Index or collection creation that cannot run inside a transaction; runs before `run`. */
  prepare?(ctx: StepContext<TDb>): Promise<void> | void;
  /** Checked, for every pending step, before anything is applied. */
  readonly conditions?: readonly Condition<TDb>[];
  /** Safe to run again after a crash: an interrupted idempotent step is retried, not refused. */
  readonly idempotent?: boolean;
  /**
   * The step walks its data with `ctx.batch`: each page commits with its checkpoint instead of
   * the whole step in one transaction (no 60 s transaction limits, no lost hours), and an
   * interrupted run resumes after its last checkpoint instead of being refused.
   */
  readonly batched?: boolean;
  /** Default true. False runs the step outside a transaction (e.g. `CREATE INDEX CONCURRENTLY`). */
  readonly transaction?: boolean;
  /** Records the step will touch; a dry run counts them on the database. */
  readonly affects?: readonly CountQuery[];
  /** How the step treats older code still running (see {@link StepPhase}); none: needed now and breaking. */
  readonly phase?: StepPhase;
  /** Overrides the computed checksum (e.g. after a cosmetic edit of a released step). */
  readonly checksum?: string;
}

/** A registered step: its definition, normalised. */
export interface Step<TDb = unknown> extends StepDefinition<TDb> {
  readonly version: string;
  readonly id: string;
  readonly checksum: string;
  /** Position in registration order, used within one version. */
  readonly order: number;
}
