import { type Command, Option } from "commander";
import { redactUrl } from "../../adapters/url.js";
import { readConfig } from "../../config/load-config.js";
import { LockstepError, UsageError } from "../../core/errors.js";
import type { UpgradeResult, Upgrader } from "../../core/upgrader.js";
import { dropFailed, type Rehearsal, rehearse } from "../../rehearse/rehearse.js";
import { type RehearsalReport, rehearsalReport, type UpgradeRun } from "../../rehearse/report.js";
import { type CommandRun, defineCommand, type ExitHolder } from "../command.js";
import { openUpgrader } from "../context.js";
import { parseDuration } from "../duration.js";
import { type FleetCliOptions, refuseTargets, withTargetsNotYet } from "../fleet/fleet-options.js";
import { EXIT, exitCodeOf, formatDuration, type Streams, signalExit } from "../output.js";
import { type PlanCliOptions, planOptions, withPlanOptions } from "../plan-view.js";
import { attachProgress } from "../progress.js";
import { phaseProgress } from "./rehearse-progress.js";
import { reportLines, reportMarkdown } from "./rehearse-report.js";

interface RehearseCliOptions extends PlanCliOptions {
  readonly budget?: string;
  readonly markdown?: boolean;
  readonly scratch?: string;
}

/** How long an upgrader on the scratch may take to close before the scratch is dropped anyway (ms). */
const CLOSE_WAIT_MS = 5000;

/** `lockstep rehearse`: the real upgrade on a scratch copy of the database, reported, then dropped. */
export function rehearseCommand(streams: Streams, exit: ExitHolder): Command {
  const command = withPlanOptions(
    defineCommand<RehearseCliOptions & FleetCliOptions>(
      "rehearse",
      "run the real upgrade on a scratch copy of the database, report each step, drop the copy",
      streams,
      exit,
      async (run) => {
        refuseTargets(run.options, "rehearse");
        const code = await rehearseBody(run);
        // The budget stopped a step that may still hold a timer: do not wait for it.
        if (code === EXIT.overBudget) exit.exitAtOnce = true;
        return code;
      },
    ),
  )
    .addOption(new Option("--budget <duration>", "fail (exit 5) when the upgrade takes longer: 90s, 15m, 1h"))
    .addOption(new Option("--markdown", "print the report as Markdown, to paste in a pull request"))
    .addOption(
      new Option(
        "--scratch <name>",
        "the scratch database/schema (or SQLite file) to create; it must not exist",
      ),
    )
    .addHelpText(
      "after",
      "\nCopies the database (SQLite: backup API to a temp file; PostgreSQL: CREATE DATABASE … TEMPLATE, or pg_dump | pg_restore\nwhile others are connected; MySQL/MariaDB: mariadb-dump | mariadb into a new schema; MongoDB: documents and indexes\nthrough the driver), runs the real upgrade there, reports each step, and drops the copy, also on a failing step and\non Ctrl-C. The source is only read.\nExit codes: 0 passed, 1 a step failed (or the copy or drop did), 3 the upgrade refused, 5 over --budget,\n130/143 stopped by SIGINT/SIGTERM (after the drop).",
    );
  return withTargetsNotYet(command);
}

/** Copies, upgrades the copy, drops it, prints the report; returns the exit code. */
async function rehearseBody(run: CommandRun<RehearseCliOptions>): Promise<number> {
  const { options, output, streams } = run;
  if (options.json === true && options.markdown === true) {
    throw new UsageError("E_USAGE", "--json and --markdown both print the report: choose one", {
      hint: "lockstep rehearse --json (one object) or --markdown (for a pull request)",
    });
  }
  const budgetMs = options.budget !== undefined ? parseBudget(options.budget) : null;
  const source = await sourceOf(run);
  const stop = new AbortController();
  const unwatch = streams.signals?.watch((signal) => {
    output.note(
      output.c.yellow(
        `${signal}: stopping the rehearsal; the scratch is dropped before lockstep exits (${signal} again exits at once and may leave it)`,
      ),
    );
    stop.abort(signal);
  });
  const phases = phaseProgress(output, progressInterval(streams));
  let rehearsal: Rehearsal<UpgradeRun>;
  try {
    rehearsal = await rehearse({
      ...source,
      cwd: streams.cwd,
      env: { ...streams.env },
      ...(options.scratch !== undefined && { scratch: options.scratch }),
      signal: stop.signal,
      onProgress: phases.listener,
      onScratch: (target) => output.note(`source ${redactUrl(source.source)}, scratch ${target.name}`),
      run: (url) => upgradeScratch(run, url, stop.signal, budgetMs),
    });
  } finally {
    phases.stop();
    unwatch?.();
  }
  const report = rehearsalReport(rehearsal, redactUrl(source.source), budgetMs, stop.signal.aborted);
  printReport(run, report);
  if (rehearsal.dropError !== null && !output.json)
    output.error(dropFailed(rehearsal.scratch, rehearsal.dropError));
  return exitCodeFor(rehearsal, report, stop.signal);
}

/** LOCKSTEP_PROGRESS_INTERVAL_MS, as `upgrade` reads it (undefined: the default). */
function progressInterval(streams: Streams): number | undefined {
  const interval = Number(streams.env.LOCKSTEP_PROGRESS_INTERVAL_MS);
  return Number.isFinite(interval) && interval > 0 ? interval : undefined;
}

/** The source database URL: `--database`, else the config's (an adapter object cannot be copied). */
async function sourceOf(run: CommandRun<RehearseCliOptions>): Promise<{ source: string; baseDir: string }> {
  const { options, streams } = run;
  if (options.database !== undefined) return { source: options.database, baseDir: streams.cwd };
  const file = await readConfig(streams.cwd, options.config);
  const database = file.config.database;
  if (typeof database !== "string" || database === "") {
    throw new LockstepError(
      "E_REHEARSAL_UNSUPPORTED",
      `${file.path} gives its database as an adapter object: rehearse needs a URL to copy from`,
      { hint: "pass the database's URL: lockstep rehearse --database URL" },
    );
  }
  return { source: database, baseDir: file.dir };
}

/** The real upgrade, on the scratch: its plan, result or error, the status it leaves, and the budget. */
async function upgradeScratch(
  run: CommandRun<RehearseCliOptions>,
  url: string,
  stop: AbortSignal,
  budgetMs: number | null,
): Promise<UpgradeRun> {
  const { output } = run;
  const { upgrader } = await openUpgrader({ ...run.options, database: url }, run.streams, output);
  const limit = new AbortController();
  const onStop = () => limit.abort(stop.reason);
  stop.addEventListener("abort", onStop, { once: true });
  let timedOut = false;
  const timer =
    budgetMs === null
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          output.note(
            output.c.yellow(`over the budget of ${formatDuration(budgetMs)}: stopping the upgrade`),
          );
          limit.abort("budget");
        }, budgetMs);
  const detach = attachProgress(upgrader, output, progressInterval(run.streams));
  const started = Date.now();
  let plan: UpgradeRun["plan"] = null;
  let result: UpgradeResult | null = null;
  let error: unknown = null;
  try {
    plan = await upgrader.plan(planOptions(run.options));
    result = await upgrader.upgrade({ ...planOptions(run.options), signal: limit.signal });
  } catch (e) {
    error = e;
  } finally {
    clearTimeout(timer);
    detach();
    stop.removeEventListener("abort", onStop);
  }
  const durationMs = Date.now() - started;
  const overBudget = timedOut || (budgetMs !== null && durationMs > budgetMs);
  if (overBudget) error = budgetError(budgetMs ?? 0, durationMs, error);
  const status = await upgrader.status().catch(() => null);
  await closeWithin(upgrader, CLOSE_WAIT_MS);
  return { plan, result, error, status, durationMs, overBudget };
}

function budgetError(budgetMs: number, durationMs: number, cause: unknown): LockstepError {
  return new LockstepError(
    "E_REHEARSAL_BUDGET",
    `the upgrade took ${formatDuration(durationMs)}, over the budget of ${formatDuration(budgetMs)}${cause !== null ? " (stopped at a safe point)" : ""}`,
    {
      hint: "plan a longer maintenance window, make the slow step a batched one (ctx.batch) or split it, or raise --budget",
      ...(cause !== null && { cause }),
    },
  );
}

/** Closes the upgrader, not waiting longer than `ms` for a step abandoned at a stop. */
async function closeWithin(upgrader: Upgrader<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    upgrader.close().catch(() => undefined),
    new Promise((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}

function printReport(run: CommandRun<RehearseCliOptions>, report: RehearsalReport): void {
  const { output } = run;
  if (output.json) {
    output.result(report);
    return;
  }
  if (run.options.markdown === true) {
    run.streams.stdout.write(reportMarkdown(report));
    return;
  }
  const [head = "", ...rest] = reportLines(report);
  const colour = report.outcome === "passed" ? output.c.green : output.c.red;
  output.line(colour(head));
  for (const line of rest) output.line(line);
  if (report.upgrade.error?.hint) output.line(`  → ${report.upgrade.error.hint}`);
}

function exitCodeFor(rehearsal: Rehearsal<UpgradeRun>, report: RehearsalReport, stop: AbortSignal): number {
  if (stop.aborted) return signalExit(String(stop.reason));
  if (rehearsal.dropError !== null) return EXIT.error;
  if (report.outcome === "over-budget") return EXIT.overBudget;
  if (!rehearsal.outcome.ok) return exitCodeOf(rehearsal.outcome.error);
  return rehearsal.outcome.value.error === null ? EXIT.ok : exitCodeOf(rehearsal.outcome.value.error);
}

/** `--budget`: a positive duration ("15m", "90s", "1h30m"). */
export function parseBudget(value: string): number {
  return parseDuration(value, "--budget", { positive: true });
}
