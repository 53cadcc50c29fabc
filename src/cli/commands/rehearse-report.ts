/**
 * The rehearsal report for a terminal, and as Markdown to paste in a pull request (the shape
 * of GitLab's migration-pipeline comment: per step, its time, counts and errors; then totals).
 */

import type { StepResult } from "../../core/results.js";
import type { RehearsalOutcome, RehearsalReport } from "../../rehearse/report.js";
import { formatDuration } from "../output.js";

function countsText(counts: StepResult["counts"]): string {
  if (counts === null || Object.keys(counts).length === 0) return "";
  return Object.entries(counts)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
}

const VERDICT: Record<RehearsalOutcome, string> = {
  passed: "passed",
  failed: "FAILED",
  "over-budget": "OVER BUDGET",
  stopped: "stopped",
};

/** One line each for the copy, upgrade, final status and drop. */
function summaryLines(r: RehearsalReport): string[] {
  const budget = r.upgrade.budgetMs === null ? "" : ` (budget ${formatDuration(r.upgrade.budgetMs)})`;
  const failedPre = r.upgrade.preconditions.filter((p) => p.status === "failed");
  return [
    `copy: ${r.copy.method}, ${formatDuration(r.copy.durationMs)}`,
    `upgrade: ${formatDuration(r.upgrade.durationMs)}${budget}${r.upgrade.deferred.length > 0 ? `; deferred (older code is live): ${r.upgrade.deferred.join(", ")}` : ""}`,
    `preconditions: ${r.upgrade.preconditions.length === 0 ? "none" : failedPre.length === 0 ? `${r.upgrade.preconditions.length} passed` : failedPre.map((p) => `${p.step} failed: ${p.message ?? p.description}`).join("; ")}`,
    `final status of the copy: ${r.finalStatus === null ? "-" : `${r.finalStatus.status} at ${r.finalStatus.stamp ?? "(unstamped)"}`}`,
    `drop: ${r.drop.dropped ? `dropped in ${formatDuration(r.drop.durationMs)}` : `NOT dropped: ${r.drop.error}`}`,
  ];
}

/** The report for a terminal. */
export function reportLines(r: RehearsalReport): string[] {
  const lines = [
    `Rehearsal ${VERDICT[r.outcome]}: ${r.upgrade.from ?? "(unstamped)"} -> ${r.upgrade.to ?? "?"} on a copy of ${r.database.source} (${r.database.scratch})`,
  ];
  for (const s of r.upgrade.steps) {
    const counts = countsText(s.counts);
    lines.push(`  ${s.status} ${s.step} in ${formatDuration(s.durationMs)}${counts ? ` ${counts}` : ""}`);
    if (s.error !== undefined) lines.push(`    error: ${s.error}`);
  }
  if (r.upgrade.error !== null) lines.push(`  error ${r.upgrade.error.code}: ${r.upgrade.error.message}`);
  for (const line of summaryLines(r)) lines.push(`  ${line}`);
  return lines;
}

const cell = (text: string) => text.replaceAll("|", "\\|").replaceAll("\n", " ");

/** The report as Markdown, for a pull request. */
export function reportMarkdown(r: RehearsalReport): string {
  const out = [
    `### lockstep rehearsal: ${VERDICT[r.outcome]}`,
    "",
    `\`${r.upgrade.from ?? "(unstamped)"}\` → \`${r.upgrade.to ?? "?"}\` on a copy of \`${r.database.source}\` (${r.database.kind})`,
    "",
    "| step | status | duration | counts | error |",
    "| --- | --- | ---: | --- | --- |",
    ...r.upgrade.steps.map(
      (s) =>
        `| \`${cell(s.step)}\` | ${s.status} | ${formatDuration(s.durationMs)} | ${cell(countsText(s.counts)) || "-"} | ${cell(s.error ?? "")} |`,
    ),
    "",
    ...(r.upgrade.error !== null
      ? [`**Error** \`${r.upgrade.error.code}\`: ${r.upgrade.error.message}`, ""]
      : []),
    ...summaryLines(r).map((line) => `- ${line}`),
  ];
  return `${out.join("\n")}\n`;
}
