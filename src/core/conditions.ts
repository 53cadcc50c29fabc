import type { Condition, ConditionContext, ConditionFailure } from "./step.js";

/** Options shared by the built-in preconditions. */
export interface ConditionOptions {
  /** Let `--force` skip this condition. Default false. */
  readonly skippable?: boolean;
  /** Replaces the generated description. */
  readonly description?: string;
}

/**
 * Holds when no document of `collection` matches `filter` (MongoDB), as in the seed's
 * `NoDocumentsIn`. On SQL databases `collection` is a table and `filter` is not allowed.
 */
export function noDocumentsIn(
  collection: string,
  filter: Record<string, unknown> = {},
  options: ConditionOptions = {},
): Condition {
  return {
    description: options.description ?? `no documents in ${collection} match ${JSON.stringify(filter)}`,
    skippable: options.skippable ?? false,
    check: async (ctx) => failWhenFound(await ctx.count({ collection, filter }), "document"),
  };
}

/** Holds when no row of `table` matches the SQL `where` clause (SQL databases). */
export function noRowsWhere(table: string, where: string, options: ConditionOptions = {}): Condition {
  return {
    description: options.description ?? `no rows in ${table} where ${where}`,
    skippable: options.skippable ?? false,
    check: async (ctx) => failWhenFound(await ctx.count({ table, where }), "row"),
  };
}

/** A custom precondition: `check` resolves to null when it holds, or to a failure. */
export function condition<TDb = unknown>(
  description: string,
  check: (ctx: ConditionContext<TDb>) => Promise<ConditionFailure | null>,
  options: Pick<ConditionOptions, "skippable"> = {},
): Condition<TDb> {
  return { description, skippable: options.skippable ?? false, check };
}

function failWhenFound(count: number, noun: string): ConditionFailure | null {
  return count === 0 ? null : { message: `found ${count} ${noun}${count === 1 ? "" : "s"}`, count };
}
