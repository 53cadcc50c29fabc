import type { StepContext } from "lockstep";

/** The statements of one step, per SQL database (`ctx.databaseKind`). */
export interface StatementsByDatabase {
  readonly sqlite: readonly string[];
  readonly postgres: readonly string[];
  readonly mysql: readonly string[];
}

interface Queryable {
  query(sql: string): Promise<unknown>;
}
interface Executable {
  exec(sql: string): unknown;
}

/**
 * Runs the statements for this step's database, in order, on the step's handle (inside the
 * step's transaction where the database has one). The recipe app stores users in SQL only.
 */
export async function runStatements(ctx: StepContext, statements: StatementsByDatabase): Promise<void> {
  if (ctx.dryRun) return;
  const kind = ctx.databaseKind;
  if (kind !== "sqlite" && kind !== "postgres" && kind !== "mysql") {
    throw new Error(`the rolling example stores users in SQL databases, not ${kind}`);
  }
  for (const sql of statements[kind]) {
    if (kind === "sqlite") (ctx.db as Executable).exec(sql);
    else await (ctx.db as Queryable).query(sql);
  }
}
