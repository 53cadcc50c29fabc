import type { StatusReport } from "../core/planner.js";
import { EXIT } from "./output.js";

/** Exit code of a status: 0 current, 2 pending work, 3 refused. */
export function statusExitCode(report: StatusReport): number {
  switch (report.status) {
    case "CURRENT":
    case "DEV":
    case "AUTO_STAMPED":
    case "AHEAD_COMPATIBLE":
      return report.outOfOrder.length > 0 ? EXIT.pending : EXIT.ok;
    case "UPGRADE_PENDING":
      return EXIT.pending;
    default:
      return EXIT.refused;
  }
}

/**
 * With `--strict`, a step edited since it was applied (its checksum differs from the
 * ledger's) is an error, exit 1, whatever the status: a released step must not change.
 */
export function strictExitCode(report: StatusReport, strict: boolean): number {
  return strict && report.checksumMismatches.length > 0 ? EXIT.error : statusExitCode(report);
}
