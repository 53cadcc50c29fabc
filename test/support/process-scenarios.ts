/** The steps test/support/upgrade-child.ts runs, shared with the parent that checks them. */
import { upgrade } from "../../src/core/registry.js";
import type { StepDefinition } from "../../src/core/step.js";

type Mark = (db: unknown, text: string) => Promise<void>;

/** The version racers upgrade to, from a database stamped RACE_FROM. */
export const RACE_FROM = "0.1.0";
export const RACE_TARGET = "0.4.0";

/** Identities of the racing steps, in execution order: each must be applied exactly once. */
export const RACE_STEP_IDS = ["0.2.0/a", "0.2.0/b", "0.3.0/c", "0.4.0/d"] as const;

/** Steps that mark their identity; the first holds its transaction for `holdMs`. */
export function raceSteps(mark: Mark, holdMs: number): StepDefinition[] {
  return RACE_STEP_IDS.map((id, index) => {
    const [version, name] = id.split("/") as [string, string];
    return upgrade({
      version,
      name,
      run: async (ctx) => {
        await mark(ctx.db, id);
        if (index === 0 && holdMs > 0) await new Promise((resolve) => setTimeout(resolve, holdMs));
      },
    });
  });
}

/** The identity of the step a killed upgrader dies in. */
export const KILL_STEP_ID = "0.2.0/slow";

/**
 * Marks; with `onStarted` (the child), then signals that it started and sleeps until the
 * process is killed. Without it (the rerun) it just completes. Same code, same checksum.
 */
export function killStep(
  mark: Mark,
  options: { transaction: boolean; idempotent: boolean },
  onStarted?: () => void,
): StepDefinition {
  return upgrade({
    version: "0.2.0",
    name: "slow",
    transaction: options.transaction,
    idempotent: options.idempotent,
    run: async (ctx) => {
      await mark(ctx.db, KILL_STEP_ID);
      if (onStarted === undefined) return;
      onStarted();
      await new Promise((resolve) => setTimeout(resolve, 60_000));
    },
  });
}

/** The steps of the lost-lease test: the holder is frozen just before the second one. */
export const LOST_LEASE_STEP_IDS = ["0.2.0/one", "0.3.0/two"] as const;

/** Steps that mark their identity (same code in the frozen child and in the taker). */
export function lostLeaseSteps(mark: Mark): StepDefinition[] {
  return LOST_LEASE_STEP_IDS.map((id) => {
    const [version, name] = id.split("/") as [string, string];
    return upgrade({ version, name, run: (ctx) => mark(ctx.db, id) });
  });
}
