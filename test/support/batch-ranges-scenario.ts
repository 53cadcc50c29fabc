/**
 * The set-based step of test/batch-ranges-sql.test.ts and its child process: the same
 * `things` table and result as test/support/batch-sql-scenario.ts, rewritten by one statement
 * per key range (`ctx.batchRanges`) instead of a JS transform.
 */
import type { RangeStatement } from "../../src/core/adapter.js";
import { upgrade } from "../../src/core/registry.js";
import type { StepDefinition } from "../../src/core/step.js";
import { BATCH_PAGE_SIZE } from "./batch-sql-scenario.js";

/**
 * Per database: bumps `n`, upper-cases `label`, stores `doc` built from the old label (set
 * first: MySQL assigns left to right, reading the values already set).
 */
export const THINGS_STATEMENTS: Readonly<Record<string, string>> = {
  postgres: `update things set doc = jsonb_build_object('from', label, 'parity', id % 2, 'tags', jsonb_build_array('t', id % 5)),
    n = n + 1, label = upper(label) where id between $1 and $2`,
  sqlite: `update things set doc = json_object('from', label, 'parity', id % 2, 'tags', json_array('t', id % 5)),
    n = n + 1, label = upper(label) where id between ?1 and ?2`,
  mysql: `update things set doc = json_object('from', label, 'parity', id % 2, 'tags', json_array('t', id % 5)),
    n = n + 1, label = upper(label) where id between ? and ?`,
};

/** Options of {@link rangesStep}. */
export interface RangesStepOptions {
  readonly pagesPerSecond?: number;
  readonly pageSize?: number;
  /** Replaces the database's statement (to test refusals). */
  readonly statement?: RangeStatement;
  /** Default true. */
  readonly batched?: boolean;
  /** The source's SQL condition: ranges are made of the rows it selects. */
  readonly where?: string;
}

/** 1.1.0/rewrite-things with `ctx.batchRanges`; returns read, written and pages as counts. */
export function rangesStep(kind: string, options: RangesStepOptions = {}): StepDefinition {
  return upgrade({
    version: "1.1.0",
    name: "rewrite-things",
    batched: options.batched ?? true,
    async run(ctx) {
      const statement = options.statement ?? THINGS_STATEMENTS[kind];
      if (statement === undefined) throw new Error(`no things statement for ${kind}`);
      const result = await ctx.batchRanges(
        { table: "things", key: "id", ...(options.where !== undefined && { where: options.where }) },
        statement,
        {
          pageSize: options.pageSize ?? BATCH_PAGE_SIZE,
          ...(options.pagesPerSecond !== undefined && { pagesPerSecond: options.pagesPerSecond }),
        },
      );
      return { read: result.read, written: result.written, pages: result.pages };
    },
  });
}
