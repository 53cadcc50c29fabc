import type { Command } from "commander";
import { loadSharedConfig, readConfig } from "../../config/load-config.js";
import { isLockstepError, type LockstepError } from "../../core/errors.js";
import { StepRegistry } from "../../core/registry.js";
import type { Step } from "../../core/step.js";
import { leaseOptionProblems, stepOptionProblems } from "../../core/step-options.js";
import type { LeaseOptions } from "../../core/upgrader.js";
import { normaliseVersion } from "../../core/versions.js";
import { targetsFromConfig } from "../../fleet/targets.js";
import { defineCommand, type ExitHolder } from "../command.js";
import { type GlobalOptions, loadOptionsOf, openUpgrader } from "../context.js";
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
      let opened: Checked | undefined;
      try {
        opened = await checked(options, streams, output);
      } catch (error) {
        if (!isLockstepError(error)) throw error;
        problems.push(error);
      }
      if (opened) {
        problems.push(...leaseOptionProblems(opened.lease));
        for (const step of opened.steps) problems.push(...stepOptionProblems(step));
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

/** What `check` loaded: the config, its steps and version, the database (never contacted). */
interface Checked {
  readonly path: string;
  readonly lease: LeaseOptions | undefined;
  readonly steps: readonly Step<any>[];
  readonly codeVersion: string;
  readonly database: string;
}

/**
 * Builds the adapter and the upgrader exactly as `upgrade` would (config, URL, app version,
 * steps folder, registry with its duplicate check) but never opens a connection. A config of
 * many databases (`databases`, no `database`): the steps and version as every target shares
 * them, a list's entries checked, a `databases()` function never called (it may query a catalog).
 */
async function checked(options: GlobalOptions, streams: Streams, output: Output): Promise<Checked> {
  const file = options.database === undefined ? await readConfig(streams.cwd, options.config) : undefined;
  if (file === undefined || file.config.database !== undefined || file.config.databases === undefined) {
    const { upgrader, config } = await openUpgrader(options, streams, output, file ? { file } : {});
    const { steps, codeVersion } = upgrader;
    return {
      path: config.path,
      lease: config.lease,
      steps,
      codeVersion,
      database: upgrader.adapter.displayName,
    };
  }
  const shared = await loadSharedConfig({ ...loadOptionsOf(options, streams), file });
  const steps = new StepRegistry(shared.steps).steps;
  const codeVersion = normaliseVersion(shared.appVersion, "the application version (appVersion)");
  const { databases } = shared;
  const database =
    typeof databases === "function"
      ? "databases() (a function: not called)"
      : `${(await targetsFromConfig(databases ?? [], shared.path, shared.configDir)).length} databases`;
  return { path: shared.path, lease: shared.lease, steps, codeVersion, database };
}

function checkReport(opened: Checked | undefined, problems: readonly LockstepError[]): CheckReport {
  return {
    ok: problems.length === 0,
    config: opened?.path ?? null,
    database: opened?.database ?? null,
    appVersion: opened?.codeVersion ?? null,
    steps: opened?.steps.map((step) => step.id) ?? [],
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
