/**
 * Racing upgraders (issue 13 item 5): the wall time of `processes` `lockstep upgrade`
 * children started at once on the same data with the same steps, against one child alone.
 * One of them takes the lease and applies the step; the others wait for the lease, then find
 * the database current. Both runs are checked against the model. As many `lockstep status`
 * children at once give the floor the racers cannot beat: their start-ups alone.
 */
import { availableParallelism } from "node:os";
import { runLockstep } from "./lockstep-run.js";
import { type Expected, freshStamped, type MethodOptions } from "./methods.js";
import type { BenchTarget } from "./target.js";

export interface RaceResult {
  readonly processes: number;
  /** Wall time of one child alone, start-up included. */
  readonly oneMs: number;
  /** Wall time from starting all the children to the last one's exit. */
  readonly racingMs: number;
  /**
   * Wall time of as many `lockstep status` children at once (start-up and one state read, no
   * lease, no step): what the racers would take if the lease cost nothing.
   */
  readonly startupOnlyMs: number;
  /** Each racing child's own wall time, in the order they finished. */
  readonly childMs: readonly number[];
  readonly ok: boolean;
}

const UPGRADE = ["upgrade", "--yes", "--target-version", "0.2.0", "--json"];

/** How many children applied the 0.2.0 step, from their `--json` output. */
function appliedBy(stdouts: readonly string[]): number {
  return stdouts.filter((out) => {
    try {
      const result = JSON.parse(out) as { results?: { step: string; status: string }[] };
      return result.results?.some((r) => r.step.startsWith("0.2.0") && r.status === "applied") ?? false;
    } catch {
      return false;
    }
  }).length;
}

export async function runRace(
  target: BenchTarget,
  expected: Expected,
  processes: number,
  { log }: MethodOptions,
): Promise<RaceResult> {
  log(`${target.name}: racing: 1 lockstep upgrade alone, then ${processes} at once`);
  await freshStamped(target);
  const alone = await runLockstep(UPGRADE, { url: target.lockstepUrl });
  let ok = alone.status === 0 && (await target.checksum()) === expected.checksum;
  await freshStamped(target);
  const started = performance.now();
  const runs = await Promise.all(
    Array.from({ length: processes }, () => runLockstep(UPGRADE, { url: target.lockstepUrl })),
  );
  const racingMs = performance.now() - started;
  const failed = runs.filter((r) => r.status !== 0);
  for (const run of failed.slice(0, 2))
    log(`  a racing child exited ${run.status}: ${run.stderr.slice(0, 500)}`);
  const applied = appliedBy(runs.map((r) => r.stdout));
  const checksum = await target.checksum();
  ok = ok && failed.length === 0 && applied === 1 && checksum === expected.checksum;
  log(
    `  alone ${(alone.wallMs / 1000).toFixed(1)} s; ${processes} racing ${(racingMs / 1000).toFixed(1)} s (${applied} applied the step, ${failed.length} failed), checksum ${checksum === expected.checksum ? "matches the model" : "DIFFERS"}`,
  );
  // The same number of children that only start and read the state: the racers' floor.
  const statusStarted = performance.now();
  await Promise.all(
    Array.from({ length: processes }, () => runLockstep(["status", "--json"], { url: target.lockstepUrl })),
  );
  const startupOnlyMs = performance.now() - statusStarted;
  log(
    `  ${processes} \`lockstep status\` at once (start-up only, no lease): ${(startupOnlyMs / 1000).toFixed(1)} s`,
  );
  const childMs = runs.map((r) => r.wallMs).sort((a, b) => a - b);
  const cpu = (ms: number) => (ms / 1000).toFixed(1);
  const racersCpu = runs.reduce((sum, r) => sum + r.cpuMs, 0);
  log(`  racing children's own wall times: ${childMs.map(cpu).join(", ")} s`);
  log(
    `  CPU: one alone ${cpu(alone.cpuMs)} s; the ${processes} racers ${cpu(racersCpu)} s in all (${cpu(racersCpu - alone.cpuMs)} s more), on ${availableParallelism()} cores`,
  );
  return {
    processes,
    oneMs: alone.wallMs,
    racingMs,
    startupOnlyMs,
    childMs,
    ok,
  };
}
