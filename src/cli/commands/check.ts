import type { Command } from "commander";
import { isLockstepError, type LockstepError } from "../../core/errors.js";
import { leaseOptionProblems, stepOptionProblems } from "../../core/step-options.js";
import type { Upgrader } from "../../core/upgrader.js";
import { defineCommand, type ExitHolder } from "../command.js";
import { openUpgrader } from "../context.js";
import { EXIT, type Output, type Streams } from "../output.js";

/** What `lockstep check --json` prints. */
export interface CheckReport {
  readonly ok: boolean;
  readonly config: string | null;
  /** The database the config names, redacted; never contacted. */
  readonly database: string | null;
  readonly appVersion: string | null;
  readonly steps: readonly string[];
  readonly problems: readonly { code: string; message: string; hint: string | null }[];
}

/** `lockstep check`: validates the config and steps offline, for CI. */
export function checkCommand(streams: Streams, exit: ExitHolder): Command {
  return defineCommand(
    "check",
    "validate the config and steps without contacting the database (for CI)",
    streams,
    exit,
    async ({ options, output }) => {
      const problems: LockstepError[] = [];
      let opened: Awaited<ReturnType<typeof openUpgrader>> | undefined;
      try {
        // Builds the adapter and the upgrader exactly as `upgrade` would (config, URL, app
        // version, steps folder, registry with its duplicate check) but never opens a connection.
        opened = await openUpgrader(options, streams, output);
      } catch (error) {
        if (!isLockstepError(error)) throw error;
        problems.push(error);
      }
      if (opened) {
        problems.push(...leaseOptionProblems(opened.config.lease));
        for (const step of opened.upgrader.steps) problems.push(...stepOptionProblems(step));
      }
      const report = checkReport(opened, problems);
      output.result(report);
      printCheck(output, report, problems);
      return report.ok ? EXIT.ok : EXIT.error;
    },
  ).addHelpText(
    "after",
    "\nChecks that the config and every step load, versions are valid, no two steps share an identity,\nand step and lease options are valid. Never connects to the database.\nExit codes: 0 valid, 1 problems found (each printed with its code and what to fix).",
  );
}

function checkReport(
  opened: { upgrader: Upgrader<any>; config: { path: string } } | undefined,
  problems: readonly LockstepError[],
): CheckReport {
  return {
    ok: problems.length === 0,
    config: opened?.config.path ?? null,
    database: opened?.upgrader.adapter.displayName ?? null,
    appVersion: opened?.upgrader.codeVersion ?? null,
    steps: opened?.upgrader.steps.map((step) => step.id) ?? [],
    problems: problems.map((p) => ({
      code: p.code,
      message: p.message.split("\n  → ")[0] ?? p.message,
      hint: p.hint ?? null,
    })),
  };
}

function printCheck(out: Output, report: CheckReport, problems: readonly LockstepError[]): void {
  const { c } = out;
  if (report.config) out.line(`${c.bold("config")}    ${report.config}`);
  if (report.database) out.line(`${c.bold("database")}  ${report.database} (not contacted)`);
  if (report.appVersion) out.line(`${c.bold("code")}      ${report.appVersion}`);
  if (report.config) out.line(`${c.bold("steps")}     ${report.steps.length}`);
  if (out.json) return;
  for (const problem of problems) out.error(problem);
  out.line(
    report.ok
      ? c.green("ok: the config and steps are valid")
      : c.red(`${problems.length} problem(s): fix them and run \`lockstep check\` again`),
  );
}
