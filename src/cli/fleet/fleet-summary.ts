/**
 * The summary a fleet `upgrade`/`init` prints at the end: counts by status, the problem
 * targets (name, status, code, message in columns; why a skipped one never started), then the
 * next step for each kind of problem.
 */
import { relative } from "node:path";
import { countByStatus, problemResults, STATUSES, statusWord } from "../../fleet/summary.js";
import type { TargetResult } from "../../fleet/target-result.js";
import type { Output } from "../output.js";

/** The run the summary is about. */
export interface SummaryRun {
  readonly id: string;
  /** Null: the record could not be written (a warning said so). */
  readonly recordPath: string | null;
  readonly cwd: string;
  readonly command: "upgrade" | "init";
  /** Why the skipped targets never started ("never started: canary t1 failed"). */
  readonly skipped?: string;
}

/** Prints the summary table on stdout (nothing with --json: the result holds it). */
export function printFleetSummary(out: Output, run: SummaryRun, results: readonly TargetResult[]): void {
  const { c } = out;
  const counts = countByStatus(results);
  out.line(c.bold(`Run ${run.id}: ${results.length} database${results.length === 1 ? "" : "s"}`));
  for (const status of STATUSES)
    out.line(`  ${statusWord(status, run.command).padEnd(12)} ${String(counts[status]).padStart(5)}`);
  const problems = problemResults(results);
  if (problems.length > 0) {
    out.line(c.bold("Problems:"));
    for (const row of columns(problems.map((r) => problemRow(r, run)))) out.line(`  ${row}`);
  }
  out.line(
    run.recordPath === null
      ? "Run record: not written (E_RUN_RECORD: see the warning above)"
      : `Run record: ${relative(run.cwd, run.recordPath) || run.recordPath}`,
  );
  const next = nextSteps(problems, run);
  if (next.length > 0) {
    out.line(c.bold("Next:"));
    for (const line of next) out.line(`  ${line}`);
  }
}

function problemRow(r: TargetResult, run: SummaryRun): string[] {
  if (r.error) return [r.name, r.status, r.error.code, r.error.message];
  return [r.name, r.status, "-", run.skipped ?? "never started"];
}

/** Rows of cells as lines, every column but the last padded to its widest cell. */
function columns(rows: readonly string[][]): string[] {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((row) => (row[i] ?? "").length)));
  return rows.map((row) =>
    row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join("  "),
  );
}

/**
 * What to do next, per kind of problem: a refused target needs an operator on that database
 * (resume never retries a refused one); failed, unreachable and skipped ones are what
 * `upgrade --resume` runs again.
 */
export function nextSteps(problems: readonly TargetResult[], run: SummaryRun): string[] {
  const names = (status: string) => problems.filter((r) => r.status === status).map((r) => r.name);
  const again =
    run.command === "upgrade"
      ? `\`lockstep upgrade --resume ${run.id}\``
      : "`lockstep init --targets …` again (stamped ones are refused as E_ALREADY_INITIALISED)";
  const lines: string[] = [];
  const failed = names("failed");
  if (failed.length > 0)
    lines.push(`${list(failed)} (failed): fix the cause (the error above), then ${again}`);
  const unreachable = names("unreachable");
  if (unreachable.length > 0) {
    lines.push(`${list(unreachable)} (unreachable): check the server and the URL, then ${again}`);
  }
  for (const r of problems) if (r.status === "refused") lines.push(refusedStep(r, run.command));
  const skipped = names("skipped");
  if (skipped.length > 0) {
    lines.push(`${list(skipped)} (skipped): once the above is done, ${again} starts them`);
  }
  return lines;
}

/** A refused target's next step, by its code; the target is named by its (redacted) URL. */
function refusedStep(r: TargetResult, command: "upgrade" | "init"): string {
  const db = `--database ${r.database}`;
  const head = `${r.name} (refused, ${r.error?.code ?? "?"}):`;
  const then = `then \`lockstep ${command} ${db}\` (resume skips refused targets)`;
  switch (r.error?.code) {
    case "E_INTERRUPTED": {
      const step = /\bstep (\S+) started\b/.exec(r.error.message)?.[1] ?? "<step>";
      return `${head} check its data, then \`lockstep resolve ${step} --applied\` (work complete) or \`--rolled-back\` (undone) with \`${db}\`; ${then}`;
    }
    case "E_LOCK_HELD":
      return `${head} another upgrader is at work: wait for it, or if its process is gone \`lockstep unlock ${db}\`; ${then}`;
    case "E_AHEAD":
    case "E_OLDER_CODE_RUNNING":
      return `${head} a newer release runs on it: leave it to that release's code (this one must not touch it)`;
    case "E_UNINITIALISED":
      return `${head} never stamped: \`lockstep upgrade --from-version <its release> ${db}\` (from before lockstep) or \`lockstep init ${db}\` (new, schema made elsewhere)`;
    case "E_INIT_BUILDS_SCHEMA":
      return `${head} these steps build the schema: run \`lockstep upgrade ${db}\` (or \`lockstep upgrade --targets …\`) on brand-new tenants`;
    case "E_ALREADY_INITIALISED":
      return `${head} nothing to stamp: \`lockstep upgrade ${db}\` moves it forward`;
    default:
      return `${head} \`lockstep status ${db}\` shows why; ${then}`;
  }
}

function list(names: readonly string[]): string {
  return names.length <= 5
    ? names.join(", ")
    : `${names.slice(0, 5).join(", ")} and ${names.length - 5} more`;
}
