import { type Command, Option } from "commander";
import type { BackupOutcome } from "../../backup/take-backup.js";
import { deferredReason } from "../../core/apply-upgrade.js";
import { LockstepError, UpgradeInterruptedError } from "../../core/errors.js";
import type { PlanReport, UpgradeOptions, UpgradeResult, Upgrader } from "../../core/upgrader.js";
import { runBackup } from "../backup-run.js";
import { type CommandRun, defineCommand, type ExitHolder } from "../command.js";
import { confirm } from "../confirm.js";
import { fleetMode } from "../fleet/fleet-context.js";
import { type FleetCliOptions, withFleetOptions } from "../fleet/fleet-options.js";
import { fleetUpgrade, resumeUpgrade } from "../fleet/fleet-upgrade.js";
import { EXIT, formatDuration, type Output, type Streams } from "../output.js";
import {
  type PlanCliOptions,
  planHasWork,
  planOptions,
  printPlan,
  throwOnRefusedPlan,
  withPlanOptions,
} from "../plan-view.js";
import { attachProgress } from "../progress.js";

export interface UpgradeCliOptions extends PlanCliOptions, FleetCliOptions {
  readonly dryRun?: boolean;
  readonly yes?: boolean;
  readonly wait: boolean;
  readonly lockTimeout?: string;
  /** `--backup` (true) or `--backup=DIR`. */
  readonly backup?: string | boolean;
}

/** `lockstep upgrade`: apply the pending steps, under the lease. */
export function upgradeCommand(streams: Streams, exit: ExitHolder): Command {
  const command = withPlanOptions(
    defineCommand<UpgradeCliOptions>(
      "upgrade",
      "apply the pending steps in order, under the lease",
      streams,
      exit,
      upgradeBody,
    ),
  )
    .addOption(BACKUP_OPTION)
    .addOption(
      new Option("--dry-run", "plan, check preconditions, call each step in dry-run mode; write nothing"),
    )
    .addOption(new Option("-y, --yes", "do not ask for confirmation (required without a TTY)"))
    .addOption(new Option("--no-wait", "fail at once with E_LOCK_HELD if another upgrader holds the lease"))
    .addOption(new Option("--lock-timeout <seconds>", "how long to wait for the lease (default 600)"));
  return withFleetOptions(command, true)
    .addOption(
      new Option(
        "--resume <run-id>",
        "many databases: run again only the failed, unreachable and skipped targets of an earlier run (its record in .lockstep/runs)",
      ),
    )
    .addHelpText(
      "after",
      "\nRolling deploys: expand steps apply while older releases run; contract steps are deferred until they stop\n(`upgrade --contract` then applies them; `--ignore-live` anyway, recorded in history); a step without a phase is\nrefused while older code runs unless --allow-downtime (which also applies deferred contract steps).\n--force skips skippable preconditions (with --contract it also overrides older code): run `lockstep plan` first.\nTake a backup first (--backup). Exit codes: 0 upgraded, baselined or already current, 3 refused (lease held with --no-wait,\ninterrupted, uninitialised, ahead, preconditions failed, older code running), 1 error (a step failed: earlier steps stay applied),\n130/143 stopped by SIGINT/SIGTERM at a safe point (the lease released; a second signal exits at once).\nMany databases (--targets or the config's databases): each upgraded as above under its own lease, one result\nper database, a run record in .lockstep/runs; exit 0 all current or upgraded, 1 any failed or unreachable,\n3 any refused (none failed); `--resume <run-id>` retries the failed, unreachable and skipped ones.",
    );
}

/** The upgrade: on many databases (`--targets`, the config's `databases`, `--resume`), or on one. */
async function upgradeBody(run: CommandRun<UpgradeCliOptions>): Promise<number> {
  const { options, output } = run;
  const lockTimeoutMs = options.lockTimeout !== undefined ? parseSeconds(options.lockTimeout) : undefined;
  if (options.resume !== undefined) return resumeUpgrade(run, lockTimeoutMs);
  const mode = await fleetMode(run);
  if (mode.fleet) return fleetUpgrade(run, mode.fleet, lockTimeoutMs);
  const upgrader = await run.open({
    ...(lockTimeoutMs !== undefined && { lockTimeoutMs }),
    ...(mode.file && { file: mode.file }),
  });
  // A new deployment whose steps build the schema (or that names the release it starts
  // from) may start from no database file at all: upgrade creates it, plan never does.
  if (options.dryRun !== true && (upgrader.stepsBuildSchema || options.fromVersion !== undefined)) {
    await upgrader.open({ create: true });
  }
  // The plan is printed before anything is written.
  const plan = await upgrader.plan(planOptions(options));
  printPlan(output, plan);
  if (!refuseOrWork(output, plan)) return EXIT.ok;
  if (!options.dryRun && options.yes !== true)
    await confirm(run.streams, output, "Proceed with the upgrade?");
  // After the plan is confirmed, before the lease and the first write: a failed backup aborts here.
  const backup = await backupFirst(run, upgrader, plan);
  const interval = Number(run.streams.env.LOCKSTEP_PROGRESS_INTERVAL_MS);
  const detach = attachProgress(
    upgrader,
    output,
    Number.isFinite(interval) && interval > 0 ? interval : undefined,
  );
  let result: UpgradeResult;
  try {
    result = await upgradeUntilStopped(run.streams, output, upgrader, {
      ...planOptions(options),
      ...(options.dryRun === true && { dryRun: true }),
      wait: options.wait,
    });
  } finally {
    detach();
  }
  printResult(output, result, plan);
  output.result({ ...result, plan, ...(backup && { backup: backupSummary(backup) }) });
  return EXIT.ok;
}

const BACKUP_OPTION = new Option(
  "--backup [dir]",
  "back up first (after the plan is confirmed, before the first write; default dir: the config's backup.dir, else ./backups)",
);

/** `--backup[=DIR]` or the config's `backup`: the backup, or undefined when none is asked for (or a dry run). */
async function backupFirst(
  run: CommandRun<UpgradeCliOptions>,
  upgrader: Upgrader<any>,
  plan: PlanReport,
): Promise<BackupOutcome | undefined> {
  const { options } = run;
  if (options.dryRun === true || (options.backup === undefined && run.config()?.backup === undefined)) return;
  const dir = typeof options.backup === "string" ? options.backup : undefined;
  return runBackup(run.output, upgrader, run.config(), { dir, stamp: plan.stamp, target: plan.target });
}

/** The backup as upgrade's JSON result names it. */
function backupSummary({ manifest, manifestPath, reused }: BackupOutcome) {
  return { id: manifest.id, file: manifest.file, manifestPath, sha256: manifest.sha256, reused };
}

/**
 * Refuses before asking anything (the seed asked first, then failed): failed preconditions,
 * a step older code forbids. False (with the result printed) when there is nothing to do.
 */
function refuseOrWork(output: Output, plan: PlanReport): boolean {
  throwOnRefusedPlan(plan);
  if (planHasWork(plan)) return true;
  // printPlan listed the deferred steps.
  const deferred = plan.steps.filter((s) => s.decision === "defer");
  output.result({ outcome: "current", from: plan.stamp, to: plan.target, results: [], deferred, plan });
  return false;
}

/**
 * Runs the upgrade with SIGINT/SIGTERM watched: a signal stops it at a safe point, the lease
 * is released and the stop recorded before the error comes back, and the state is printed.
 */
async function upgradeUntilStopped(
  streams: Streams,
  output: Output,
  upgrader: Upgrader<any>,
  options: UpgradeOptions,
): Promise<UpgradeResult> {
  const stop = new AbortController();
  const unwatch = streams.signals?.watch((signal) => {
    output.note(
      output.c.yellow(
        `${signal}: stopping at the next safe point (a running step is rolled back or left marked); ${signal} again exits at once`,
      ),
    );
    stop.abort(signal);
  });
  try {
    return await upgrader.upgrade({ ...options, signal: stop.signal });
  } catch (error) {
    if (error instanceof UpgradeInterruptedError) await printStoppedState(output, upgrader);
    throw error;
  } finally {
    unwatch?.();
  }
}

function printResult(out: Output, result: UpgradeResult, plan: PlanReport): void {
  const { c } = out;
  const phases = new Map(plan.steps.map((s) => [s.id, s.phase]));
  for (const r of result.results) {
    const counts = r.counts
      ? ` ${Object.entries(r.counts)
          .map(([k, v]) => `${k}=${v}`)
          .join(" ")}`
      : "";
    const status =
      r.status === "applied" ? c.green(r.status) : r.status === "dry-run" ? c.cyan(r.status) : r.status;
    out.line(`  ${status} ${r.step} in ${formatDuration(r.durationMs)}${counts}`);
    for (const m of result.measured[r.step] ?? [])
      out.line(`    would touch ${m.count} record(s): ${m.query}`);
  }
  for (const d of result.deferred) out.line(`  ${c.yellow("deferred")} ${deferredReason(d)}`);
  if (result.baseline.length > 0 && result.outcome !== "dry-run")
    out.line(`  baselined (recorded as applied, not run): ${result.baseline.join(", ")}`);
  if (result.outcome === "dry-run")
    out.line(c.cyan(`Dry run: nothing was written. The upgrade would end at ${result.to}.`));
  else if (result.outcome === "current") {
    out.line(
      `Database is already up to date (version ${result.to})${result.waitedForLease ? "; another upgrader finished it while we waited" : ""}.`,
    );
  } else if (result.outcome === "baselined") {
    out.line(
      c.green(
        `Database baselined at ${result.to}: ${result.baseline.length} step(s) recorded as applied before lockstep, stamp ${result.to} written; no step ran.`,
      ),
    );
  } else if (result.from === result.to) {
    // The stamp did not move: the steps lay at or below it (deferred contract steps, --out-of-order).
    const n = result.results.length;
    const contract = result.results.every((r) => phases.get(r.step) === "contract");
    out.line(
      c.green(
        `Applied ${n} ${contract ? "deferred contract" : "below-the-stamp"} step${n === 1 ? "" : "s"} at ${result.to}.`,
      ),
    );
  } else out.line(c.green(`Database upgraded ${result.from ?? "(unstamped)"} -> ${result.to}.`));
}

/** After a stop: the state the database was left in and the next command. */
async function printStoppedState(out: Output, upgrader: Upgrader<unknown>): Promise<void> {
  const report = await upgrader.status().catch(() => null);
  if (report === null) return;
  out.note(`Database is now ${report.status}: ${report.message}`);
  if (report.next) out.note(`next: ${report.next}`);
}

function parseSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) {
    throw new LockstepError(
      "E_CONFIG_INVALID",
      `--lock-timeout ${JSON.stringify(value)} is not a number of seconds`,
      {
        hint: "e.g. --lock-timeout 120",
      },
    );
  }
  return n * 1000;
}
