/**
 * The operator's bypass (`LOCKSTEP_BYPASS=1`): the guard lets the app start whatever the
 * status — for a guard caught in a circular gate (the fix needs the app up). It then only
 * reads (policy "warn": no upgrade, no stamp), says so loudly, and records a `bypass` entry
 * in history when the store can be written; the result always carries the warning.
 */
import type { Adapter } from "../core/adapter.js";
import { historyEntry, type RecordOrigin } from "../core/records.js";
import type { CheckPolicy, CheckResult } from "../core/reports.js";

/** Is the bypass on? The option wins; else `LOCKSTEP_BYPASS` set to anything but "", "0" or "false". */
export function bypassRequested(option: boolean | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  if (option !== undefined) return option;
  const value = env.LOCKSTEP_BYPASS?.trim().toLowerCase();
  return value !== undefined && value !== "" && value !== "0" && value !== "false";
}

/** The warning a bypassed guard returns (and logs as an error). */
export function bypassMessage(result: CheckResult, policy: CheckPolicy): string {
  return `LOCKSTEP_BYPASS is set: the start-up guard let this app start without enforcing policy "${policy}" on a database that is ${result.status} (${result.report.message}). Remove LOCKSTEP_BYPASS once the database is fixed.`;
}

/**
 * Appends the `bypass` history entry on the open adapter. Returns a warning when it cannot
 * (no store yet, a read-only database), never throws.
 */
export async function recordBypass(
  adapter: Adapter<any>,
  origin: RecordOrigin,
  result: CheckResult,
  policy: CheckPolicy,
): Promise<string | null> {
  try {
    await adapter.write(null, (writer) =>
      writer.appendHistory(
        historyEntry(origin, "bypass", {
          version: origin.codeVersion,
          details: {
            status: result.status,
            policy,
            stamp: result.report.stamp,
            message: result.report.message,
          },
        }),
      ),
    );
    return null;
  } catch (error) {
    return `the bypass could not be recorded in history (${(error as Error).message})`;
  }
}
