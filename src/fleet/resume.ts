/**
 * `upgrade --resume <id>`: which targets a resumed run works on. Those the earlier run recorded
 * as failed, unreachable or skipped (or never reached: a run that died) run again; the others
 * keep their recorded result, marked `resumed: false`.
 */
import type { RunRecord } from "./run-record.js";
import type { TargetResult } from "./target-result.js";
import type { Target } from "./targets.js";

/** The statuses a resumed run tries again. */
const RETRIED = new Set(["failed", "unreachable", "skipped"]);

/** What a resumed run does with each target. */
export interface ResumePlan {
  /** The targets to run, in their order. */
  readonly run: readonly Target[];
  /** The recorded results of the targets left alone, by name. */
  readonly kept: ReadonlyMap<string, TargetResult>;
}

/** Splits the re-read targets into those to run again and those left as `record` says. */
export function planResume(record: RunRecord, targets: readonly Target[]): ResumePlan {
  const recorded = new Map(record.results.map((r) => [r.name, r]));
  const run: Target[] = [];
  const kept = new Map<string, TargetResult>();
  for (const target of targets) {
    const before = recorded.get(target.name);
    if (before === undefined || RETRIED.has(before.status)) run.push(target);
    else kept.set(target.name, { ...before, resumed: false });
  }
  return { run, kept };
}

/**
 * Results in the targets' order. In a resumed run (`kept` given), the new ones are marked
 * `resumed: true` and the kept ones sit between them.
 */
export function inTargetOrder(
  targets: readonly Target[],
  ran: readonly TargetResult[],
  kept?: ReadonlyMap<string, TargetResult>,
): TargetResult[] {
  const fresh = new Map(ran.map((r) => [r.name, kept ? { ...r, resumed: true } : r]));
  return targets.flatMap((t) => {
    const result = fresh.get(t.name) ?? kept?.get(t.name);
    return result ? [result] : [];
  });
}
