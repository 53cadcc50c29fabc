import { type Command, Option } from "commander";
import { describeHolders } from "../../core/compatibility.js";
import { describeGroup } from "../../core/instances.js";
import type { StatusReport } from "../../core/planner.js";
import { compareVersions } from "../../core/versions.js";
import { defineCommand, type ExitHolder } from "../command.js";
import { fleetMode } from "../fleet/fleet-context.js";
import { type FleetCliOptions, withFleetOptions } from "../fleet/fleet-options.js";
import { fleetStatus } from "../fleet/fleet-status.js";
import type { Output, Streams } from "../output.js";
import { strictExitCode } from "../status-exit.js";

/** `lockstep status`: can this code run on this database? */
export function statusCommand(streams: Streams, exit: ExitHolder): Command {
  const command = defineCommand<FleetCliOptions & { strict?: boolean }>(
    "status",
    "show whether this code can run on the database (read-only)",
    streams,
    exit,
    async (run) => {
      const mode = await fleetMode(run);
      if (mode.fleet) return fleetStatus(run, mode.fleet);
      const upgrader = await run.open(mode.file ? { file: mode.file } : {});
      const report = await upgrader.status({ instances: true });
      const database = await upgrader.describe();
      run.output.result({ ...report, database });
      printStatus(run.output, report, database.server, database.target, database.stamp);
      const strict = run.options.strict === true;
      if (strict && report.checksumMismatches.length > 0) {
        run.output.note(
          `${run.output.c.red("--strict:")} ${report.checksumMismatches.length} applied step(s) edited since they ran; restore their code (or set \`checksum\` after a cosmetic edit)`,
        );
      }
      return strictExitCode(report, strict);
    },
  ).addOption(new Option("--strict", "exit 1 when a step was edited since it was applied (for CI)"));
  return withFleetOptions(command, false).addHelpText(
    "after",
    "\nShows the compatibility floor (the oldest release that can run on the data) and what set it, the contract steps\ndeferred while older releases run, and the live instances grouped by release.\nExit codes: 0 current, ahead but compatible (older code at or above the floor) or dev build, 2 upgrade pending,\n3 refused (uninitialised, ahead of the floor, interrupted, upgrading), 1 error\n(with --strict also: a step edited since it was applied).\nMany databases (--targets or the config's databases): one line per database, problems first, then a histogram\nby stamp; exit 0 all current, 2 some pending, 3 some refused or unreachable, 1 an error.",
  );
}

/** The live releases older than the deferred step `id` ("1.0.0 ×3 on web-1, web-2"), or "" when none is known. */
function holdersOf(id: string, instances: StatusReport["instances"]): string {
  const version = id.slice(0, id.indexOf("/"));
  const older = (instances ?? []).filter((g) => {
    try {
      return compareVersions(g.release, version) < 0;
    } catch {
      return false;
    }
  });
  return describeHolders(older);
}

/** Prints a status report for humans. */
export function printStatus(
  out: Output,
  report: StatusReport,
  server: string,
  target: string,
  stampAt?: string,
): void {
  const { c } = out;
  const colour =
    report.status === "CURRENT" || report.status === "AUTO_STAMPED" || report.status === "DEV"
      ? c.green
      : report.status === "UPGRADE_PENDING" || report.status === "AHEAD_COMPATIBLE"
        ? c.yellow
        : c.red;
  out.line(`${c.bold("database")}  ${target} (${server})`);
  out.line(`${c.bold("code")}      ${report.codeVersion}`);
  out.line(`${c.bold("stamp")}     ${report.stamp ?? "(none)"}${stampAt ? ` (read from ${stampAt})` : ""}`);
  if (report.floor !== null) {
    out.line(`${c.bold("floor")}     ${report.floor} (set by ${report.floorSetBy.join(", ")})`);
  }
  out.line(`${c.bold("status")}    ${colour(report.status)}: ${report.message}`);
  for (const id of report.deferred) {
    const holders = holdersOf(id, report.instances);
    out.line(
      holders !== "" || report.instances === undefined
        ? `${c.yellow("deferred")}  ${id}: a contract step waiting for older releases to stop${holders ? ` (${holders})` : ""}; then \`lockstep upgrade --contract\``
        : `${c.yellow("deferred")}  ${id}: deferred earlier; no older release is live now: \`lockstep upgrade --contract\` applies it`,
    );
  }
  if (report.instances !== undefined) {
    const live = report.instances.map((g) => describeGroup(g));
    out.line(`${c.bold("live")}      ${live.length > 0 ? live.join("; ") : "(no instance registered)"}`);
  }
  if (report.pending.length > 0) out.line(`${c.bold("pending")}   ${report.pending.join(", ")}`);
  for (const id of report.outOfOrder) {
    out.line(
      `${c.yellow("out of order")} ${id}: below the stamp and never applied (\`lockstep upgrade --out-of-order\`)`,
    );
  }
  for (const m of report.checksumMismatches) {
    out.line(
      `${c.yellow("edited")} ${m.step}: changed since it was applied (recorded ${m.recorded.slice(0, 12)}, now ${m.current.slice(0, 12)})`,
    );
  }
  if (report.next) out.line(`${c.bold("next")}      ${report.next}`);
}
