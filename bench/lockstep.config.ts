/**
 * The datalab example's config, for the bench's variants: $BENCH_PAGE_SIZE sets the 0.2.0
 * step's page size (`npm run bench -- --page-size N`), and BENCH_STEP=set swaps that step
 * for its set-based form (method d, set-step.ts). Without either the bench runs the
 * example's own config.
 */
import { defineConfig, type StepContext } from "lockstep";
import example from "../examples/datalab/lockstep.config.js";
import relationshipsToRefcode from "../examples/datalab/upgrades/0.2.0-relationships-to-refcode.js";
import indexRefcode from "../examples/datalab/upgrades/0.3.0-index-refcode.js";
import setBasedStep from "./set-step.js";

const size = Number(process.env.BENCH_PAGE_SIZE);
const pageSize = Number.isInteger(size) && size > 0 ? size : undefined;

/** `ctx` whose `batch` pages by `pageSize` unless the step says otherwise. */
function withPageSize(ctx: StepContext<any>): StepContext<any> {
  return new Proxy(ctx, {
    get(target, property) {
      if (property === "batch") {
        return (...[source, transform, options]: Parameters<StepContext<any>["batch"]>) =>
          target.batch(source, transform, { ...(pageSize !== undefined && { pageSize }), ...options });
      }
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

function jsStep() {
  if (pageSize === undefined) return relationshipsToRefcode;
  return {
    ...relationshipsToRefcode,
    run: (ctx: StepContext<any>) => relationshipsToRefcode.run(withPageSize(ctx)),
  };
}

export default defineConfig({
  ...example,
  steps: [process.env.BENCH_STEP === "set" ? setBasedStep(pageSize) : jsStep(), indexRefcode],
});
