/**
 * `upgrade --resume <id>`: which targets a resumed run works on. Those the earlier run recorded
 * as failed, unreachable or skipped (or never reached: a run that died) run again; the others
 * keep their recorded result, marked `resumed: false`. A target the run never had (added to the
 * targets since) is left alone. The run's canary still gates: a canary target that did not
 * succeed runs again first, even a refused one, as the resume's canary.
 */
import type { RunRecord } from "./run-record.js";
import type { TargetResult } from "./target-result.js";
import type { Target } from "./targets.js";

/** The statuses a resumed run tries again. */
const RETRIED = new Set(["failed", "unreachable", "skipped"]);
const SUCCEEDED = new Set(["upgraded", "current"]);

/** What a resumed run does with each target. */
export interface ResumePlan {
  /** The targets to run, in their order. */
  readonly run: readonly Target[];
  /** The recorded results of the targets left alone, by name. */
  readonly kept: ReadonlyMap<string, TargetResult>;
  /**
   * Targets the run left not upgraded that the re-read targets no longer list: each `failed`
   * (E_TARGETS_INVALID), so the resume cannot end well while one of them is still behind.
   */
  readonly missing: readonly TargetResult[];
  /** Targets the re-read targets list that the run never had: left alone, by name. */
  readonly notInRun: readonly string[];
  /** The run's canary targets that have not succeeded yet: the first of `run`, its canary. */
  readonly canary: number;
}

/** Splits the re-read targets into those to run again and those left as `record` says. */
export function planResume(record: RunRecord, targets: readonly Target[]): ResumePlan {
  const recorded = new Map(record.results.map((r) => [r.name, r]));
  const canaries = canaryNames(record);
  const run: Target[] = [];
  const kept = new Map<string, TargetResult>();
  const notInRun: string[] = [];
  // A finished run recorded every target it had; a run that died recorded those it finished.
  const complete = record.finishedAt !== null;
  for (const target of targets) {
    const before = recorded.get(target.name);
    if (before === undefined && complete) notInRun.push(target.name);
    else if (before === undefined || RETRIED.has(before.status)) run.push(target);
    else if (canaries.has(target.name) && !SUCCEEDED.has(before.status)) run.push(target);
    else kept.set(target.name, { ...before, resumed: false });
  }
  // The canaries first, in their order: the pool holds the rest back until they succeed.
  const ordered = [...run.filter((t) => canaries.has(t.name)), ...run.filter((t) => !canaries.has(t.name))];
  const listed = new Set(targets.map((t) => t.name));
  const missing = record.results
    .filter((r) => (RETRIED.has(r.status) || canaries.has(r.name)) && !SUCCEEDED.has(r.status))
    .filter((r) => !listed.has(r.name))
    .map((r) => missingResult(record, r));
  return {
    run: ordered,
    kept,
    missing,
    notInRun,
    canary: ordered.filter((t) => canaries.has(t.name)).length,
  };
}

/** The run's canary targets: the first `--canary N` of its targets, in the recorded order. */
function canaryNames(record: RunRecord): ReadonlySet<string> {
  const count = record.options.canary;
  if (typeof count !== "number" || count <= 0) return new Set();
  return new Set(record.results.slice(0, count).map((r) => r.name));
}

function missingResult(record: RunRecord, before: TargetResult): TargetResult {
  const source = "targets" in record.source ? `--targets ${record.source.targets}` : "the config's databases";
  return {
    ...before,
    status: "failed",
    stepsApplied: 0,
    durationMs: 0,
    error: {
      code: "E_TARGETS_INVALID",
      message: `"${before.name}" was ${before.status} in run ${record.id} and ${source} no longer lists it, so it is still not upgraded: add it back and resume again, or start a fresh run (\`lockstep upgrade --targets …\`)`,
    },
    resumed: false,
  };
}

/**
 * Results in the targets' order. In a resumed run (`resume` given), the new ones are marked
 * `resumed: true`, the kept ones sit between them, and the missing ones come last.
 */
export function inTargetOrder(
  targets: readonly Target[],
  ran: readonly TargetResult[],
  resume?: ResumePlan,
): TargetResult[] {
  const fresh = new Map(ran.map((r) => [r.name, resume ? { ...r, resumed: true } : r]));
  const listed = targets.flatMap((t) => {
    const result = fresh.get(t.name) ?? resume?.kept.get(t.name);
    return result ? [result] : [];
  });
  return resume ? [...listed, ...resume.missing] : listed;
}
