/**
 * `lockstep upgrade --targets …` (or the config's `databases`): on each target exactly what
 * `lockstep upgrade` does on one database, under its own lease; `--resume <id>` retries the
 * failed, unreachable and skipped targets of an earlier run.
 */
import { Writable } from "node:stream";
import type { ResolvedConfig } from "../../config/load-config.js";
import { loadSharedConfig } from "../../config/load-config.js";
import { UsageError } from "../../core/errors.js";
import type { Upgrader } from "../../core/upgrader.js";
import { planResume, type ResumePlan } from "../../fleet/resume.js";
import { DEFAULT_ROLLOUT, type RolloutOptions } from "../../fleet/run-fleet.js";
import { readRunRecord, runsDirOf } from "../../fleet/run-record.js";
import { failedResult, resultOf, type TargetResult } from "../../fleet/target-result.js";
import type { Target } from "../../fleet/targets.js";
import { runBackup } from "../backup-run.js";
import type { CommandRun } from "../command.js";
import type { UpgradeCliOptions } from "../commands/upgrade.js";
import { confirm } from "../confirm.js";
import { loadOptionsOf } from "../context.js";
import { Output } from "../output.js";
import { planHasWork, planOptions, throwOnRefusedPlan } from "../plan-view.js";
import { type Fleet, fleetFrom, withTarget } from "./fleet-context.js";
import { type FleetCliOptions, rolloutOf } from "./fleet-options.js";
import { runFleetCommand } from "./fleet-run.js";
import { recordedOptions, resumedLockTimeout, resumedOptions } from "./resume-options.js";

type Options = UpgradeCliOptions & FleetCliOptions;

/** Upgrades every target of `fleet` (a resumed run: those its plan names, its rollout as the base). */
export async function fleetUpgrade(
  run: CommandRun<Options>,
  fleet: Fleet,
  lockTimeoutMs?: number,
  resume?: { id: string; plan: ResumePlan; rollout: RolloutOptions },
): Promise<number> {
  const { options } = run;
  refuseUnsupported(options);
  const rollout = rolloutOf(options, resume?.rollout);
  await confirmFleet(run, resume ? resume.plan.run.length : fleet.targets.length);
  return runFleetCommand(run, {
    command: "upgrade",
    fleet,
    rollout,
    options: recordedOptions(options, lockTimeoutMs),
    ...(resume && { resume: { id: resume.id, plan: resume.plan } }),
    runOne: upgradeOne(run, fleet, lockTimeoutMs),
  });
}

/** `upgrade --resume <id>`: the recorded run's targets read again; only those to retry run. */
export async function resumeUpgrade(run: CommandRun<Options>, lockTimeoutMs?: number): Promise<number> {
  const { options, streams } = run;
  const id = options.resume as string;
  if (options.targets !== undefined || options.database !== undefined) {
    throw new UsageError(
      "E_USAGE",
      "--resume reads the targets its run recorded: no --targets or --database with it",
      {
        hint: `run \`lockstep upgrade --resume ${id}\` alone (rollout flags may be given again)`,
      },
    );
  }
  const shared = await loadSharedConfig(loadOptionsOf(options, streams));
  const record = readRunRecord(runsDirOf(streams.cwd, streams.env, shared.runsDir), id);
  if (record.command !== "upgrade") {
    throw new UsageError("E_USAGE", `run ${id} was a fleet ${record.command}, not an upgrade`, {
      hint: `run \`lockstep ${record.command} --targets …\` again instead`,
    });
  }
  const fleet = await fleetFrom(shared, record.source, record.cwd ?? streams.cwd);
  const rollout = { ...DEFAULT_ROLLOUT, ...pickRollout(record.options as Partial<RolloutOptions>) };
  const resumed = { ...run, options: resumedOptions(options, record, shared.appVersion) };
  if (record.appVersion !== shared.appVersion && options.targetVersion === undefined) {
    run.output.warn(
      `run ${id} ran code ${record.appVersion}, this is ${shared.appVersion}: the resume takes its databases to ${resumed.options.targetVersion} like the rest of the run (a fresh \`lockstep upgrade --targets …\` takes them all to ${shared.appVersion})`,
    );
  }
  const plan = planResume(record, fleet.targets);
  if (plan.notInRun.length > 0) {
    run.output.warn(
      `not in run ${id}, left alone: ${plan.notInRun.join(", ")} (a fresh \`lockstep upgrade --targets …\` upgrades them)`,
    );
  }
  // The run's canary still gates: those of its canaries that have not succeeded go first.
  return fleetUpgrade(resumed, fleet, resumedLockTimeout(record, lockTimeoutMs), {
    id,
    plan,
    rollout: { ...rollout, canary: plan.canary },
  });
}

function pickRollout(recorded: Partial<RolloutOptions>): Partial<RolloutOptions> {
  return {
    ...(typeof recorded.concurrency === "number" && { concurrency: recorded.concurrency }),
    ...(typeof recorded.canary === "number" && { canary: recorded.canary }),
    ...((recorded.onError === "stop" || recorded.onError === "continue") && { onError: recorded.onError }),
  };
}

function refuseUnsupported(options: Options): void {
  if (options.dryRun === true) {
    throw new UsageError("E_USAGE", "upgrade --dry-run is not yet supported with many databases", {
      hint: "`lockstep plan --targets …` shows what each database would get",
    });
  }
}

async function confirmFleet(run: CommandRun<Options>, count: number): Promise<void> {
  if (run.options.yes === true) return;
  await confirm(run.streams, run.output, `Upgrade ${count} database${count === 1 ? "" : "s"}?`);
}

/** One target: open, read its stamp, plan, refuse or do nothing or back up and upgrade, close. */
function upgradeOne(run: CommandRun<Options>, fleet: Fleet, lockTimeoutMs?: number) {
  const { options } = run;
  return (target: Target, signal: AbortSignal, warn: (message: string) => void): Promise<TargetResult> => {
    const startedAt = Date.now();
    const known: { from?: string | null; to?: string | null } = {};
    return withTarget(
      fleet,
      target,
      warn,
      async (upgrader, config) => {
        if (upgrader.stepsBuildSchema || options.fromVersion !== undefined)
          await upgrader.open({ create: true });
        known.from = (await upgrader.status()).stamp;
        const plan = await upgrader.plan(planOptions(options));
        known.to = plan.target;
        throwOnRefusedPlan(plan);
        if (!planHasWork(plan)) {
          return resultOf(target, { status: "current", ...known, durationMs: Date.now() - startedAt });
        }
        await backupFirst(run, upgrader, config, plan);
        const result = await upgrader.upgrade({ ...planOptions(options), wait: options.wait, signal });
        return resultOf(target, {
          status: result.outcome === "current" ? "current" : "upgraded",
          from: result.from ?? known.from,
          to: result.to,
          stepsApplied: result.results.filter((r) => r.status === "applied").length,
          durationMs: Date.now() - startedAt,
        });
      },
      lockTimeoutMs,
    ).catch((error: unknown) => failedResult(target, error, startedAt, known));
  };
}

/** The backup `--backup` or the config's `backup` asks for, taken quietly (its manifest says what it is). */
async function backupFirst(
  run: CommandRun<Options>,
  upgrader: Upgrader<any>,
  config: ResolvedConfig,
  plan: { stamp: string | null; target: string },
): Promise<void> {
  const { options } = run;
  if (options.backup === undefined && config.backup === undefined) return;
  const dir = typeof options.backup === "string" ? options.backup : undefined;
  await runBackup(quiet(run), upgrader, config, { dir, stamp: plan.stamp, target: plan.target });
}

/** An output that prints nothing: a fleet prints one line per target, not each backup's. */
function quiet(run: CommandRun<Options>): Output {
  const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
  return new Output({ ...run.streams, stdout: sink, stderr: sink }, false);
}
