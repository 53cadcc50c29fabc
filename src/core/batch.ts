import type {
  Adapter,
  AdapterCapabilities,
  BatchChange,
  BatchPage,
  BatchSource,
  LeaseHandle,
  StateWriter,
} from "./adapter.js";
import { DEFAULT_BATCH_PAGE_SIZE, pace, startBatch } from "./batch-start.js";
import {
  validateBatchOptions,
  validatePageChanges,
  validatePageKeys,
  validateSource,
} from "./batch-validation.js";
import { LockstepError } from "./errors.js";

export { DEFAULT_BATCH_PAGE_SIZE, sourceCountQuery } from "./batch-start.js";

/** Options of `ctx.batch` and `ctx.pages`. */
export interface BatchOptions {
  /** Rows per page (default {@link DEFAULT_BATCH_PAGE_SIZE}). */
  readonly pageSize?: number;
  /** At most this many pages per second, to spare a live database. Default: no limit. */
  readonly pagesPerSecond?: number;
}

/** Where a batched step got to: saved after every page, in the page's transaction where there is one. */
export interface BatchCheckpoint {
  /** The key of the last row of the last finished page; null before the first. */
  readonly lastKey: unknown;
  readonly read: number;
  readonly written: number;
  readonly pages: number;
}

/** What `ctx.batch` did. */
export interface BatchResult extends BatchCheckpoint {
  /** The checkpoint this run resumed from, when an earlier run was interrupted. */
  readonly resumedFrom: BatchCheckpoint | null;
}

/**
 * Turns one page of rows into the changes to write. The next page is transformed while the
 * previous one is being written (and the one after it read), so a transform must not depend on
 * the previous page's writes. Transforms run one at a time, in page order.
 */
export type BatchTransform = (
  rows: readonly Record<string, unknown>[],
) => readonly BatchChange[] | Promise<readonly BatchChange[]>;

/** A page read and transformed, ready to write. */
interface PreparedPage {
  readonly page: BatchPage;
  readonly changes: readonly BatchChange[];
  /** How many rows the changes write (each row at most once; a change that sets nothing writes none). */
  readonly rowsChanged: number;
}

/** What the batch runner needs from the upgrader. */
export interface BatchDeps {
  readonly adapter: Adapter<any>;
  readonly lease: LeaseHandle | null;
  readonly dryRun: boolean;
  /** Page writes and their checkpoint commit together. */
  readonly transactional: boolean;
  /** The checkpoint of an interrupted earlier run of this step, if any. */
  readonly resumeFrom: BatchCheckpoint | null;
  /** A stop asked for ends the batch between pages (the checkpoint saved so far stays). */
  readonly signal?: AbortSignal | undefined;
  /** Records the checkpoint (inside the page's transaction, through `writer`). */
  saveCheckpoint(writer: StateWriter, checkpoint: BatchCheckpoint): Promise<void>;
  progress(done: number, total: number | undefined): void;
}

/** The table (or collection) a batch source names; adapters call this to read and write pages. */
export function sourceTable(source: BatchSource): string {
  const table = source.table ?? source.collection;
  if (!table) throw new LockstepError("E_INVALID_STEP", "a batch source needs a table (or collection) name");
  return table;
}

/** Changes grouped by the columns they set (in a stable order), so each group is one statement. */
export function groupByColumns(changes: readonly BatchChange[]): Map<readonly string[], BatchChange[]> {
  const bySignature = new Map<string, { columns: string[]; group: BatchChange[] }>();
  for (const change of changes) {
    const columns = Object.keys(change.set).sort();
    if (columns.length === 0) continue;
    const signature = columns.join("\u0000");
    const entry = bySignature.get(signature);
    if (entry) entry.group.push(change);
    else bySignature.set(signature, { columns, group: [change] });
  }
  return new Map([...bySignature.values()].map(({ columns, group }) => [columns, group]));
}

/**
 * Walks `source` page by page in key order: reads a page (the next one is transformed and
 * the one after it read while this one is written), transforms it, writes the changes with one bulk write and saves the
 * checkpoint with them. A rerun after a crash starts after the last checkpoint. Options and
 * source are checked before anything is written, each page's changes before that page.
 */
export async function runBatch(
  deps: BatchDeps,
  source: BatchSource,
  transform: BatchTransform,
  options: BatchOptions = {},
): Promise<BatchResult> {
  const { adapter } = deps;
  const { pageSize, minPageMs, total, ...start } = await startBatch(deps, source, options);
  const resumedFrom = deps.resumeFrom;
  let checkpoint = start.checkpoint;

  // Page k is written while page k+1 is transformed and page k+2 read.
  const nextPage = pagePipeline(adapter, source, transform, pageSize, checkpoint.lastKey);
  let next = nextPage();
  for (;;) {
    const started = Date.now();
    const { page, changes, rowsChanged } = await next;
    if (page.rows.length === 0) break;
    const last = page.rows.length < pageSize;
    next = last ? Promise.resolve(endOfPages(page.lastKey)) : nextPage();
    // If writing this page fails, the page already under way must not become an unhandled rejection.
    next.catch(() => undefined);
    const reached: BatchCheckpoint = {
      lastKey: page.lastKey,
      read: checkpoint.read + page.rows.length,
      written: checkpoint.written + rowsChanged,
      pages: checkpoint.pages + 1,
    };
    if (!deps.dryRun) await writeBatchPage(deps, source, changes, reached);
    checkpoint = reached;
    deps.progress(checkpoint.read, total);
    if (last) break;
    await pace(started, minPageMs, deps.signal);
  }
  return { ...checkpoint, resumedFrom };
}

/** What the pipeline yields after the last page. */
function endOfPages(lastKey: unknown): PreparedPage {
  return { page: { rows: [], lastKey }, changes: [], rowsChanged: 0 };
}

/**
 * The pages after `after`, each read and transformed, refusing shared keys and changes
 * outside the page. Each call returns the next page. Reads run one page ahead of the
 * transforms (a page is read while the one before it is transformed, so the read is off the
 * critical path); transforms run one at a time, in page order, as the step wrote them.
 */
function pagePipeline(
  adapter: Adapter<any>,
  source: BatchSource,
  transform: BatchTransform,
  pageSize: number,
  after: unknown,
): () => Promise<PreparedPage> {
  const language = adapter.capabilities.queryLanguage;
  const key = sourceKey(source, language);
  let read: Promise<BatchPage | null> = adapter.readPage(source, after, pageSize);
  let transformed: Promise<unknown> = Promise.resolve();
  return () => {
    const page = read;
    // A full page may have a next one: its read starts as soon as this page is in.
    read = page.then((p) =>
      p !== null && p.rows.length >= pageSize ? adapter.readPage(source, p.lastKey, pageSize) : null,
    );
    read.catch(() => undefined);
    const prepared = Promise.all([page, transformed]).then(async ([p]): Promise<PreparedPage> => {
      if (p === null || p.rows.length === 0) return endOfPages(p?.lastKey ?? null);
      const keys = validatePageKeys(p.rows, key, language);
      const changes = await transform(p.rows);
      return { page: p, changes, rowsChanged: validatePageChanges(keys, changes, key, language) };
    });
    transformed = prepared.catch(() => undefined);
    return prepared;
  };
}

/** One page's changes and its checkpoint, in one transaction where the step has them. */
async function writeBatchPage(
  deps: BatchDeps,
  source: BatchSource,
  changes: readonly BatchChange[],
  reached: BatchCheckpoint,
): Promise<void> {
  const { adapter } = deps;
  await adapter.write(
    deps.lease,
    async (writer, db) => {
      if (changes.length > 0) await adapter.writePage(db, source, changes);
      await deps.saveCheckpoint(writer, reached);
    },
    { transactional: deps.transactional, durable: false },
  );
}

/** The key a source pages by: its own, else "id" on SQL and "_id" on MongoDB. */
function sourceKey(source: BatchSource, language: AdapterCapabilities["queryLanguage"]): string {
  return source.key ?? (language === "mongodb" ? "_id" : "id");
}

/** Reads `source` page by page in key order, for steps that only need to look (e.g. build a lookup map). */
export async function* readPages(
  adapter: Adapter<any>,
  source: BatchSource,
  options: BatchOptions = {},
): AsyncGenerator<readonly Record<string, unknown>[]> {
  validateBatchOptions(options);
  await validateSource(adapter, source);
  const language = adapter.capabilities.queryLanguage;
  const key = sourceKey(source, language);
  const pageSize = options.pageSize ?? DEFAULT_BATCH_PAGE_SIZE;
  let after: unknown = null;
  for (;;) {
    const page = await adapter.readPage(source, after, pageSize);
    validatePageKeys(page.rows, key, language);
    if (page.rows.length > 0) yield page.rows;
    if (page.rows.length < pageSize) return;
    after = page.lastKey;
  }
}
