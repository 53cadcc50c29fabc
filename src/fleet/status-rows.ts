/**
 * `status --targets`: one row per target, problem targets first (AHEAD, INTERRUPTED,
 * UNINITIALISED, unreachable…, then UPGRADE_PENDING, then CURRENT), a histogram by stamp, and
 * the exit code (0 all current, 2 some pending, 3 some refused or unreachable, 1 an error).
 */

import { redactUrl } from "../adapters/url.js";
import type { DatabaseStatus, StatusReport } from "../core/planner.js";
import { compareVersions } from "../core/versions.js";
import { errorOf, statusOfError } from "./target-result.js";
import type { Target } from "./targets.js";

/** A target's status, or why it could not be read. */
export type RowStatus = DatabaseStatus | "UNREACHABLE" | "REFUSED" | "ERROR";

/** One target's line in `status --targets`. */
export interface StatusRow {
  readonly name: string;
  readonly database: string;
  readonly status: RowStatus;
  readonly stamp: string | null;
  readonly codeVersion: string;
  readonly floor: string | null;
  readonly pending: readonly string[];
  readonly message: string;
  readonly error: { readonly code: string; readonly message: string } | null;
}

/** Problems first, then pending work, then the healthy. */
const RANK: readonly RowStatus[] = [
  "AHEAD",
  "INTERRUPTED",
  "STORE_DAMAGED",
  "UNINITIALISED",
  "UPGRADING",
  "UNREACHABLE",
  "REFUSED",
  "ERROR",
  "UPGRADE_PENDING",
  "AHEAD_COMPATIBLE",
  "AUTO_STAMPED",
  "DEV",
  "CURRENT",
];

/** A row from a target's status report. */
export function statusRow(target: Target, report: StatusReport): StatusRow {
  return {
    name: target.name,
    database: redactUrl(target.url),
    status: report.status,
    stamp: report.stamp,
    codeVersion: report.codeVersion,
    floor: report.floor,
    pending: report.pending,
    message: report.message,
    error: null,
  };
}

/** A row for a target whose status could not be read. */
export function errorRow(target: Target, error: unknown, codeVersion: string): StatusRow {
  const kind = statusOfError(error);
  const e = errorOf(error, target.url);
  return {
    name: target.name,
    database: redactUrl(target.url),
    status: kind === "unreachable" ? "UNREACHABLE" : kind === "refused" ? "REFUSED" : "ERROR",
    stamp: null,
    codeVersion,
    floor: null,
    pending: [],
    message: e.message,
    error: e,
  };
}

/** The rows with problem targets first (stable: the targets' order within one status). */
export function problemsFirst(rows: readonly StatusRow[]): StatusRow[] {
  return [...rows].sort((a, b) => RANK.indexOf(a.status) - RANK.indexOf(b.status));
}

/** How many targets are at each stamp, highest version first; unreadable ones under "(unknown)", unstamped under "(none)". */
export function histogram(rows: readonly StatusRow[]): { stamp: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const r of rows) {
    const key = r.error !== null ? "(unknown)" : (r.stamp ?? "(none)");
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts]
    .map(([stamp, count]) => ({ stamp, count }))
    .sort((a, b) => byVersionDesc(a.stamp, b.stamp));
}

function byVersionDesc(a: string, b: string): number {
  const special = (s: string) => s.startsWith("(");
  if (special(a) || special(b)) return Number(special(a)) - Number(special(b)) || a.localeCompare(b);
  try {
    return compareVersions(b, a);
  } catch {
    return a.localeCompare(b);
  }
}

/** The exit code of `status --targets` from each row's own: 1 an error, else 3 a refusal or unreachable, else 2 pending, else 0. */
export function fleetStatusExitCode(codes: readonly number[]): number {
  if (codes.includes(1)) return 1;
  if (codes.includes(3)) return 3;
  return codes.includes(2) ? 2 : 0;
}
