/**
 * The rollout: targets run through a pool of `concurrency` workers; the first `canary` targets
 * run (and must all succeed) before any other starts; `onError: "stop"` starts no more after
 * a target failed, was refused or unreachable (those in flight finish). Targets never started
 * are `skipped`. Each target's own work (its lease, ledger, stamp) is the caller's `runOne`.
 */
import { pool } from "./pool.js";
import { failedResult, resultOf, succeeded, type TargetResult } from "./target-result.js";
import type { Target } from "./targets.js";

/** How a fleet run rolls out. */
export interface RolloutOptions {
  /** Targets worked on at once (≥ 1). */
  readonly concurrency: number;
  /** The first N targets, in order, must all succeed before any other starts. */
  readonly canary: number;
  /** After a target failed, was refused or unreachable: start no more (`stop`), or go on. */
  readonly onError: "stop" | "continue";
}

export const DEFAULT_ROLLOUT: RolloutOptions = { concurrency: 1, canary: 0, onError: "stop" };

/** What the caller sees as the run goes. */
export interface FleetHooks {
  /** A target is about to start. */
  onStart?(target: Target): void;
  /** A target finished (results of targets never started are not reported here). */
  onDone?(result: TargetResult): void;
  /** True once the run must start no more targets (a signal). */
  stopped?(): boolean;
}

/** Runs `runOne` on every target as `options` says; one result per target, in the targets' order. */
export async function runFleet(
  targets: readonly Target[],
  runOne: (target: Target) => Promise<TargetResult>,
  options: RolloutOptions,
  hooks: FleetHooks = {},
): Promise<TargetResult[]> {
  const results: (TargetResult | undefined)[] = new Array(targets.length).fill(undefined);
  const state = { halted: false };
  const indices = targets.map((_, i) => i);
  const canary = indices.slice(0, options.canary);
  await run(canary);
  // A canary that did not succeed stops the rollout, whatever --on-error says.
  if (canary.some((i) => !succeeded(results[i] as TargetResult))) state.halted = true;
  await run(indices.slice(options.canary));
  return targets.map((target, i) => results[i] ?? resultOf(target, { status: "skipped" }));

  function run(queue: readonly number[]): Promise<void> {
    const halted = () => state.halted || hooks.stopped?.() === true;
    return pool(
      queue,
      options.concurrency,
      async (i) => {
        const target = targets[i] as Target;
        hooks.onStart?.(target);
        const startedAt = Date.now();
        const result = await runOne(target).catch((error: unknown) => failedResult(target, error, startedAt));
        results[i] = result;
        if (!succeeded(result) && options.onError === "stop") state.halted = true;
        hooks.onDone?.(result);
      },
      halted,
    );
  }
}
