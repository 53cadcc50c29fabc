import { type Command, Option } from "commander";
import { isLockstepError, summaryOf, UsageError } from "../../core/errors.js";
import type { StatusReport } from "../../core/planner.js";
import { refusalFor } from "../../core/start-up-check.js";
import { defineCommand, type ExitHolder } from "../command.js";
import { parseDuration } from "../duration.js";
import { EXIT, type Output, type Streams } from "../output.js";

/** Exit codes of `lockstep wait`: 0 reached, 3 a state waiting cannot change, 4 timed out. */
export const WAIT_EXIT = { reached: EXIT.ok, never: EXIT.refused, timeout: 4 } as const;

/** What `lockstep wait` waits for. */
export type WaitTarget = "current" | "compatible";

/** Statuses waiting will never change: someone must act (resolve, repair, deploy newer code). */
const NEVER = new Set<StatusReport["status"]>(["INTERRUPTED", "STORE_DAMAGED", "AHEAD"]);

/** Errors that may clear by themselves (the database server or file is not there yet). */
const TRANSIENT = new Set(["E_DATABASE_UNREACHABLE", "E_DATABASE_NOT_FOUND"]);

/** Has the database reached `until` for this code? */
export function reached(report: StatusReport, until: WaitTarget): boolean {
  if (report.status === "CURRENT" || report.status === "DEV") return true;
  if (until === "current") return false;
  // A release with no steps: the guard stamps it safely (auto-stamp), so this code may start.
  if (report.status === "UPGRADE_PENDING" && report.autoStampable) return true;
  return report.status === "AHEAD_COMPATIBLE" || (report.status === "UPGRADING" && report.compatible);
}

/** Will waiting never get there? (AHEAD_COMPATIBLE never becomes CURRENT: the stamp does not go back.) */
export function neverReached(report: StatusReport, until: WaitTarget): boolean {
  return NEVER.has(report.status) || (until === "current" && report.status === "AHEAD_COMPATIBLE");
}

interface WaitOptions {
  until?: string;
  timeout?: string;
  interval?: string;
}

/** `lockstep wait`: polls the status until the database is current (or compatible) with this code. */
export function waitCommand(streams: Streams, exit: ExitHolder): Command {
  return defineCommand<WaitOptions>(
    "wait",
    "wait until the database is current (or compatible) with this code; for initContainers and depends_on",
    streams,
    exit,
    async ({ options, output, open }) => {
      const until = options.until ?? "current";
      if (until !== "current" && until !== "compatible") {
        throw new UsageError("E_USAGE", `--until ${JSON.stringify(until)}: expected current or compatible`, {
          hint: "lockstep wait --until current (or compatible: older code on a database it can still run on)",
        });
      }
      const timeoutMs = parseDuration(options.timeout ?? "10m", "--timeout");
      const intervalMs = Math.max(50, parseDuration(options.interval ?? "2s", "--interval"));
      const upgrader = await open();
      return pollUntil(output, until, timeoutMs, intervalMs, async () => {
        try {
          return await upgrader.status();
        } catch (error) {
          if (!isLockstepError(error) || !TRANSIENT.has(error.code)) throw error;
          await upgrader.close().catch(() => undefined);
          return summaryOf(error);
        }
      });
    },
  )
    .addOption(
      new Option(
        "--until <state>",
        "current: the stamp is this code's; compatible: also older code the data still supports",
      )
        .choices(["current", "compatible"])
        .default("current"),
    )
    .addOption(new Option("--timeout <duration>", "give up after this long (10m, 90s, 1h)").default("10m"))
    .addOption(new Option("--interval <duration>", "time between two status reads (2s, 500ms)").default("2s"))
    .addHelpText(
      "after",
      "\n--until compatible is also reached by a release with no steps (the guard stamps it).\nExit codes: 0 reached, 3 a state waiting cannot change (INTERRUPTED, STORE_DAMAGED, AHEAD; with --until\ncurrent also AHEAD_COMPATIBLE), 4 timed out, 1 error. An unreachable database (not up yet) is waited for.",
    );
}

/** Polls `read` (a report, or the message of a transient error) until `until`, a final state or the timeout. */
async function pollUntil(
  output: Output,
  until: WaitTarget,
  timeoutMs: number,
  intervalMs: number,
  read: () => Promise<StatusReport | string>,
): Promise<number> {
  const started = Date.now();
  let last = "";
  let lastPrinted = 0;
  for (let polls = 1; ; polls++) {
    const report = await read();
    const waitedMs = Date.now() - started;
    const status = typeof report === "string" ? "UNREACHABLE" : report.status;
    const message = typeof report === "string" ? report : report.message;
    const done = typeof report !== "string" && (reached(report, until) || neverReached(report, until));
    const timedOut = !done && waitedMs + intervalMs > timeoutMs;
    const outcome = done
      ? reached(report as StatusReport, until)
        ? "reached"
        : "never"
      : timedOut
        ? "timeout"
        : null;
    if (outcome !== null) {
      const code = WAIT_EXIT[outcome];
      const never = outcome === "never" ? whyNever(report as StatusReport, until) : null;
      output.result({
        outcome,
        until,
        status,
        message,
        waitedMs,
        polls,
        ...(never !== null && { error: never, next: never.hint }),
        report: typeof report === "string" ? null : report,
      });
      const line = `${status}: ${message} (after ${Math.round(waitedMs / 1000)} s, ${polls} read(s))`;
      if (outcome === "reached") output.line(`${output.c.green("ready")} ${line}`);
      else if (never !== null) {
        output.line(`${output.c.red(`will not get there by waiting (${never.code}):`)} ${line}`);
        output.line(`${output.c.bold("next")}      ${never.hint}`);
      } else output.line(`${output.c.red("timed out")} waiting for ${until}; last ${line}`);
      return code;
    }
    if (status !== last || Date.now() - lastPrinted >= 30_000) {
      last = status;
      lastPrinted = Date.now();
      output.event({ event: "waiting", until, status, message, waitedMs });
      output.note(`waiting for ${until}: ${status}: ${message} (${Math.round(waitedMs / 1000)} s)`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** The code and the next command for a state waiting cannot change, as `status` and the guard give them. */
function whyNever(report: StatusReport, until: WaitTarget): { code: string; message: string; hint: string } {
  if (report.status === "AHEAD_COMPATIBLE") {
    return {
      code: "E_AHEAD",
      message: `the stamp (${report.stamp}) is newer than this code (${report.codeVersion}) and never goes back: this code will not be CURRENT`,
      hint:
        until === "current"
          ? "this code may serve on the data: `lockstep wait --until compatible`; or deploy the release of the stamp"
          : "deploy the release of the stamp",
    };
  }
  const error = refusalFor(report);
  return {
    code: error.code,
    message: summaryOf(error),
    hint: report.next ?? error.hint ?? "run `lockstep status` for the next step",
  };
}
