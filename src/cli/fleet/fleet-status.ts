/** `lockstep status --targets …`: one line per target (problems first) and a histogram by stamp. Read-only. */
import {
  errorRow,
  fleetStatusExitCode,
  histogram,
  problemsFirst,
  type StatusRow,
  statusRow,
} from "../../fleet/status-rows.js";
import type { CommandRun } from "../command.js";
import type { Output } from "../output.js";
import { strictExitCode } from "../status-exit.js";
import type { Fleet } from "./fleet-context.js";
import { type FleetCliOptions, rolloutOf } from "./fleet-options.js";
import { readTargets } from "./fleet-read.js";

type Options = FleetCliOptions & { strict?: boolean };

/** Reads every target's status (`--concurrency` at once) and prints them; exit 0/2/3/1. */
export async function fleetStatus(run: CommandRun<Options>, fleet: Fleet): Promise<number> {
  const { options, output } = run;
  const reads = await readTargets(fleet, rolloutOf(options).concurrency, (u) => u.status());
  const rows: StatusRow[] = reads.map((r) =>
    r.ok ? statusRow(r.target, r.value) : errorRow(r.target, r.error, fleet.shared.appVersion),
  );
  const codes = reads.map((r) => (r.ok ? strictExitCode(r.value, options.strict === true) : r.code));
  const sorted = problemsFirst(rows);
  const byStamp = histogram(rows);
  output.result({ codeVersion: fleet.shared.appVersion, results: sorted, histogram: byStamp });
  printFleetStatus(output, fleet.shared.appVersion, sorted, byStamp);
  return fleetStatusExitCode(codes);
}

function printFleetStatus(
  out: Output,
  code: string,
  rows: readonly StatusRow[],
  byStamp: readonly { stamp: string; count: number }[],
): void {
  const { c } = out;
  out.line(c.bold(`code ${code}: ${rows.length} database${rows.length === 1 ? "" : "s"}`));
  const width = Math.max(4, ...rows.map((r) => r.name.length));
  const colour = (r: StatusRow) =>
    r.status === "CURRENT" || r.status === "AUTO_STAMPED" || r.status === "DEV"
      ? c.green
      : r.status === "UPGRADE_PENDING" || r.status === "AHEAD_COMPATIBLE"
        ? c.yellow
        : c.red;
  for (const r of rows) {
    const versions = r.error ? r.error.code : `${r.stamp ?? "(none)"} → ${r.codeVersion}`;
    const floor = r.floor !== null && r.floor !== r.stamp ? `  floor ${r.floor}` : "";
    const detail = r.error ? `  ${r.error.message}` : r.status === "CURRENT" ? "" : `  ${r.message}`;
    out.line(`  ${r.name.padEnd(width)}  ${colour(r)(r.status.padEnd(15))}  ${versions}${floor}${detail}`);
  }
  out.line(c.bold("By stamp:"));
  const most = Math.max(...byStamp.map((h) => h.count));
  const stampWidth = Math.max(...byStamp.map((h) => h.stamp.length));
  for (const h of byStamp) {
    const bar = "█".repeat(Math.max(1, Math.round((h.count / most) * 30)));
    out.line(`  ${h.stamp.padEnd(stampWidth)}  ${String(h.count).padStart(5)}  ${bar}`);
  }
}
