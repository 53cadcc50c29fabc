/** A fleet run's outcome as numbers: counts by status, the problem targets, the exit code. */
import { succeeded, type TargetResult, type TargetStatus } from "./target-result.js";

/** Every status, in the order a summary lists them. */
export const STATUSES: readonly TargetStatus[] = [
  "upgraded",
  "current",
  "failed",
  "refused",
  "unreachable",
  "skipped",
];

/** A status as a human line says it: an `init` that moved the stamp "stamped" (the JSON keeps `upgraded`). */
export function statusWord(status: TargetStatus, command: "upgrade" | "init"): string {
  return command === "init" && status === "upgraded" ? "stamped" : status;
}

/** How many targets ended in each status (every status present, 0 when none). */
export function countByStatus(results: readonly TargetResult[]): Record<TargetStatus, number> {
  const counts = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<TargetStatus, number>;
  for (const r of results) counts[r.status]++;
  return counts;
}

/** The targets that need a look: failed, refused, unreachable (with an error), then skipped. */
export function problemResults(results: readonly TargetResult[]): TargetResult[] {
  const rank = (s: TargetStatus) => ["failed", "unreachable", "refused", "skipped"].indexOf(s);
  return results.filter((r) => rank(r.status) >= 0).sort((a, b) => rank(a.status) - rank(b.status));
}

/**
 * The exit code of a fleet `upgrade`/`init`: 0 when every target is current or upgraded, 1 when
 * any failed or was unreachable, else 3 when any was refused. Skipped targets alone (a stop)
 * never make it 0.
 */
export function fleetExitCode(results: readonly TargetResult[]): 0 | 1 | 3 {
  const counts = countByStatus(results);
  if (counts.failed > 0 || counts.unreachable > 0) return 1;
  if (counts.refused > 0) return 3;
  return counts.skipped > 0 ? 1 : 0;
}

/**
 * Why a run's skipped targets never started: a canary that did not succeed (whatever
 * --on-error said), else the first target that did not under --on-error stop, else a signal.
 * `ran` is the run's own targets in their order; `canary` its --canary.
 */
export function whySkipped(ran: readonly TargetResult[], canary: number, signal?: string): string {
  const bad = (r: TargetResult) => !succeeded(r) && r.status !== "skipped";
  const canaryDown = ran.slice(0, canary).find(bad);
  if (canaryDown) return `never started: canary ${canaryDown.name} ${canaryDown.status}`;
  if (signal !== undefined) return `never started: stopped by ${signal}`;
  const first = ran.find(bad);
  return first ? `never started: stopped after ${first.name} ${first.status}` : "never started";
}
