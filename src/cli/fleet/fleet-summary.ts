/** The summary a fleet `upgrade`/`init` prints at the end: counts by status, then the problem targets. */
import { relative } from "node:path";
import { countByStatus, problemResults, STATUSES, statusWord } from "../../fleet/summary.js";
import type { TargetResult } from "../../fleet/target-result.js";
import type { Output } from "../output.js";

/** Prints the summary table on stdout (nothing with --json: the result holds it). */
export function printFleetSummary(
  out: Output,
  run: { id: string; recordPath: string | null; cwd: string; command: "upgrade" | "init" },
  results: readonly TargetResult[],
): void {
  const { c } = out;
  const counts = countByStatus(results);
  out.line(c.bold(`Run ${run.id}: ${results.length} database${results.length === 1 ? "" : "s"}`));
  for (const status of STATUSES)
    out.line(`  ${statusWord(status, run.command).padEnd(12)} ${String(counts[status]).padStart(5)}`);
  const problems = problemResults(results);
  if (problems.length > 0) {
    const width = Math.max(...problems.map((r) => r.name.length));
    out.line(c.bold("Problems:"));
    for (const r of problems) {
      const error = r.error ? `${r.error.code}: ${r.error.message}` : "never started";
      out.line(`  ${r.name.padEnd(width)}  ${r.status.padEnd(11)}  ${error}`);
    }
  }
  out.line(
    run.recordPath === null
      ? "Run record: not written (E_RUN_RECORD: see the warning above)"
      : `Run record: ${relative(run.cwd, run.recordPath) || run.recordPath}`,
  );
  if (problems.some((r) => r.error?.code === "E_INIT_BUILDS_SCHEMA")) {
    out.line(
      "next: these steps build the schema: run `lockstep upgrade --targets …` on brand-new tenants (init would baseline them)",
    );
  }
  const retry = counts.failed + counts.unreachable + counts.skipped;
  if (retry > 0 && run.command === "upgrade") {
    out.line(
      `next: fix the cause, then \`lockstep upgrade --resume ${run.id}\` (runs the ${retry} failed, unreachable or skipped only)`,
    );
  }
}
