/**
 * What both batch helpers (`ctx.batch`, `ctx.batchRanges`) do before the first page and between
 * pages: check options and source, save the starting checkpoint (a crash from then on leaves a
 * resumable step), count the total for progress; then pace the pages and honour a stop.
 */
import type { BatchSource, CountQuery } from "./adapter.js";
import type { BatchCheckpoint, BatchDeps, BatchOptions } from "./batch.js";
import { validateBatchOptions, validateSource } from "./batch-validation.js";
import { throwIfStopped } from "./stop-signal.js";

/** Rows per page when a step does not say. */
export const DEFAULT_BATCH_PAGE_SIZE = 1000;

/**
 * Keys per range of `ctx.batchRanges` when a step does not say: no row travels to Node, so a
 * range can be larger than a page; each range's fixed cost (its key read, statement and
 * checkpoint commit) is then spread over more rows (PostgreSQL, datalab rewrite, N = 200 000:
 * 0.73–0.88 of the single statement at 1000, 0.81–1.10 at 5000; `npm run bench -- --page-size`).
 */
export const DEFAULT_RANGE_SIZE = 5000;

/** The count query matching a batch source, for the progress total. */
export function sourceCountQuery(source: BatchSource): CountQuery {
  const name = source.table ?? source.collection ?? "";
  if (source.where !== undefined) return { table: name, where: source.where };
  if (source.collection !== undefined)
    return { collection: name, ...(source.filter && { filter: source.filter }) };
  return { table: name };
}

/** Where a batch starts: its page size, the least time per page, its checkpoint and the progress total. */
export interface BatchStart {
  readonly pageSize: number;
  readonly minPageMs: number;
  readonly checkpoint: BatchCheckpoint;
  readonly total: number | undefined;
}

/** Checks `options` and `source` (nothing written yet), saves the first checkpoint unless resuming, reports progress 0. */
export async function startBatch(
  deps: BatchDeps,
  source: BatchSource,
  options: BatchOptions,
  defaultPageSize: number = DEFAULT_BATCH_PAGE_SIZE,
): Promise<BatchStart> {
  const { adapter } = deps;
  validateBatchOptions(options);
  await validateSource(adapter, source);
  const checkpoint: BatchCheckpoint = deps.resumeFrom ?? { lastKey: null, read: 0, written: 0, pages: 0 };
  if (!deps.dryRun && deps.resumeFrom === null) {
    // Saved before the first page: from now on a crash leaves a resumable step, not a mystery.
    await adapter.write(deps.lease, (writer) => deps.saveCheckpoint(writer, checkpoint), {
      transactional: false,
    });
  }
  const total = await adapter.count(sourceCountQuery(source)).catch(() => undefined);
  deps.progress(checkpoint.read, total);
  return {
    pageSize: options.pageSize ?? defaultPageSize,
    minPageMs: options.pagesPerSecond ? 1000 / options.pagesPerSecond : 0,
    checkpoint,
    total,
  };
}

/** Waits out the rest of `minPageMs` since `started` (the `pagesPerSecond` throttle), then stops if asked to. */
export async function pace(
  started: number,
  minPageMs: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  const spare = minPageMs - (Date.now() - started);
  if (spare > 0) await new Promise((resolve) => setTimeout(resolve, spare));
  throwIfStopped(signal);
}
