/**
 * Method (d) of the bench: the datalab example's 0.2.0 step said as one set-based statement
 * per key range (`ctx.batchRanges`), the same rewrite as the database's single statement
 * (statements.ts). Selected by BENCH_STEP=set in bench/lockstep.config.ts.
 */
import type { StepContext } from "lockstep";
import relationshipsToRefcode from "../examples/datalab/upgrades/0.2.0-relationships-to-refcode.js";
import { rangeStatement, type SqlKind } from "./statements.js";

export default function setBasedStep(pageSize: number | undefined) {
  return {
    ...relationshipsToRefcode,
    async run(ctx: StepContext<any>) {
      const kind = ctx.databaseKind as SqlKind;
      const result = await ctx.batchRanges({ table: "items", key: "id" }, rangeStatement(kind), {
        ...(pageSize !== undefined && { pageSize }),
      });
      return { items: result.written, pages: result.pages };
    },
  };
}
