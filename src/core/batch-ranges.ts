/**
 * `ctx.batchRanges`: the set-based page mode. The step gives one statement in the database's
 * own language; lockstep walks the source's keys in ranges of `pageSize` (keyset: each range's
 * first and last key come from one indexed query, the next one read while a range is written)
 * and runs the statement once per range with the range's first and last key, in one
 * transaction with the range's checkpoint where the database has transactions. Resume,
 * progress, throttle, stop signal and dry run as `ctx.batch`.
 */
import type { BatchSource, KeyRange, RangeStatement } from "./adapter.js";
import {
  type BatchCheckpoint,
  type BatchDeps,
  type BatchOptions,
  type BatchResult,
  sourceTable,
} from "./batch.js";
import { DEFAULT_RANGE_SIZE, pace, startBatch } from "./batch-start.js";
import { LockstepError } from "./errors.js";
import { validateRangeStatement } from "./range-statement.js";

/**
 * Runs `statement` once per key range of `source`, each range with its checkpoint. Statement,
 * options and source are checked before anything is written. A rerun after a crash starts
 * after the last finished range. In a dry run the ranges are walked and counted but the
 * statement is not run (`written` stays 0: what it would write is known only by running it).
 */
export async function runBatchRanges(
  deps: BatchDeps,
  source: BatchSource,
  statement: RangeStatement,
  options: BatchOptions = {},
): Promise<BatchResult> {
  const { adapter } = deps;
  const checked = validateRangeStatement(statement, adapter.capabilities, adapter.displayName);
  const { pageSize, minPageMs, total, ...start } = await startBatch(
    deps,
    source,
    options,
    DEFAULT_RANGE_SIZE,
  );
  const resumedFrom = deps.resumeFrom;
  let checkpoint = start.checkpoint;

  let next = adapter.readRange(source, checkpoint.lastKey, pageSize);
  for (;;) {
    const started = Date.now();
    const range = await next;
    if (range === null) break;
    refuseInexactKeys(source, range);
    const last = range.rows < pageSize;
    next = last ? Promise.resolve(null) : adapter.readRange(source, range.last, pageSize);
    // If this range fails, the read under way must not become an unhandled rejection.
    next.catch(() => undefined);
    const written = deps.dryRun ? 0 : await writeRange(deps, source, checked, range, checkpoint);
    checkpoint = advance(checkpoint, range, written);
    deps.progress(checkpoint.read, total);
    if (last) break;
    await pace(started, minPageMs, deps.signal);
  }
  return { ...checkpoint, resumedFrom };
}

/**
 * A key the driver hands back as a JavaScript number beyond 2^53 has been rounded: the range
 * would end short of its last row, and the walk would skip it. Refused (the first range is
 * checked before anything is written).
 */
function refuseInexactKeys(source: BatchSource, range: KeyRange): void {
  for (const key of [range.first, range.last]) {
    if (typeof key === "number" && Number.isInteger(key) && !Number.isSafeInteger(key)) {
      throw new LockstepError(
        "E_INVALID_BATCH",
        `${sourceTable(source)}.${source.key ?? "id"} holds ${key}, beyond what a JavaScript number carries exactly (2^53): ctx.batchRanges would end a range short of its last row`,
        { hint: "walk a key whose values stay below 2^53, or rewrite these rows with ctx.batch" },
      );
    }
  }
}

/** One range's statement and the checkpoint after it, in one transaction where the step has them. */
function writeRange(
  deps: BatchDeps,
  source: BatchSource,
  statement: RangeStatement,
  range: KeyRange,
  before: BatchCheckpoint,
): Promise<number> {
  const { adapter } = deps;
  return adapter.write(
    deps.lease,
    async (writer, db) => {
      const written = await adapter.runRange(db, source, statement, range);
      await deps.saveCheckpoint(writer, advance(before, range, written));
      return written;
    },
    { transactional: deps.transactional, durable: false },
  );
}

/** The checkpoint after `range`, which wrote `written` rows. */
function advance(before: BatchCheckpoint, range: KeyRange, written: number): BatchCheckpoint {
  return {
    lastKey: range.last,
    read: before.read + range.rows,
    written: before.written + written,
    pages: before.pages + 1,
  };
}
