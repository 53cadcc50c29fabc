/**
 * TEMPORARY, delete at merge: the `phase` option of issue 10 is being added to
 * StepDefinition on another branch. Until then this declares it, so the example's steps
 * type-check on the recipes branch. It declares exactly what the design says.
 */
export {};

declare module "../../src/core/step.js" {
  interface StepDefinition<TDb> {
    readonly phase?: "expand" | "contract";
  }
}
