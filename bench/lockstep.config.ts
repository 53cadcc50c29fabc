/**
 * The datalab example's config with one change for page-size sweeps: the 0.2.0 step's
 * `ctx.batch` and `ctx.batchRanges` get `pageSize` from $BENCH_PAGE_SIZE. Only
 * `npm run bench -- --page-size N` uses it; the bench's figures otherwise come from the
 * example's own config.
 */
import { defineConfig, type StepContext } from "lockstep";
import example from "../examples/datalab/lockstep.config.js";
import relationshipsToRefcode from "../examples/datalab/upgrades/0.2.0-relationships-to-refcode.js";
import indexRefcode from "../examples/datalab/upgrades/0.3.0-index-refcode.js";

const pageSize = Number(process.env.BENCH_PAGE_SIZE);

/** `ctx` whose batch helpers page by `pageSize` unless the step says otherwise. */
function withPageSize(ctx: StepContext<any>): StepContext<any> {
  return new Proxy(ctx, {
    get(target, property) {
      if (property === "batch" || property === "batchRanges") {
        return (source: unknown, work: unknown, options?: object) =>
          (target[property] as (...args: unknown[]) => unknown)(source, work, { pageSize, ...options });
      }
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

export default defineConfig({
  ...example,
  steps: [
    Number.isInteger(pageSize) && pageSize > 0
      ? {
          ...relationshipsToRefcode,
          run: (ctx: StepContext<any>) => relationshipsToRefcode.run(withPageSize(ctx)),
        }
      : relationshipsToRefcode,
    indexRefcode,
  ],
});
