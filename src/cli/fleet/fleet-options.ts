/** The options of a command that takes many databases: --targets and the rollout flags. */
import { type Command, Option } from "commander";
import { UsageError } from "../../core/errors.js";
import { DEFAULT_ROLLOUT, type RolloutOptions } from "../../fleet/run-fleet.js";

/** What the fleet options parse to (all optional: a resume falls back to the recorded ones). */
export interface FleetCliOptions {
  readonly targets?: string;
  readonly concurrency?: string;
  readonly canary?: string;
  readonly onError?: string;
  readonly resume?: string;
}

/** Adds `--targets`; with `rollout`, also `--concurrency`, `--canary` and `--on-error`. */
export function withFleetOptions(command: Command, rollout: boolean): Command {
  command.addOption(
    new Option(
      "--targets <file|glob>",
      "many databases: a file of URLs (one a line, name=URL, # comments) or a quoted glob of SQLite files; overrides the config's databases",
    ),
  );
  command.addOption(
    new Option(
      "--concurrency <n>",
      `with many databases: how many at once (default ${DEFAULT_ROLLOUT.concurrency})`,
    ),
  );
  if (!rollout) return command;
  return command
    .addOption(
      new Option(
        "--canary <n>",
        "with many databases: the first N must all succeed before any other starts (default 0)",
      ),
    )
    .addOption(
      new Option(
        "--on-error <stop|continue>",
        "with many databases: after a target failed, was refused or unreachable, start no more (stop, the default) or go on",
      ),
    );
}

/** True when any fleet-only option was given (they need targets). */
export function fleetOptionGiven(options: FleetCliOptions): string | null {
  if (options.concurrency !== undefined) return "--concurrency";
  if (options.canary !== undefined) return "--canary";
  if (options.onError !== undefined) return "--on-error";
  return null;
}

/** The rollout the options ask for, over `base` (the defaults, or a resumed run's). */
export function rolloutOf(options: FleetCliOptions, base: RolloutOptions = DEFAULT_ROLLOUT): RolloutOptions {
  return {
    concurrency:
      options.concurrency === undefined ? base.concurrency : count("--concurrency", options.concurrency, 1),
    canary: options.canary === undefined ? base.canary : count("--canary", options.canary, 0),
    onError: options.onError === undefined ? base.onError : onError(options.onError),
  };
}

function count(flag: string, value: string, min: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError("E_USAGE", `${flag} ${JSON.stringify(value)} is not a whole number ≥ ${min}`, {
      hint: `e.g. ${flag} ${Math.max(min, 2)}`,
    });
  }
  return n;
}

function onError(value: string): "stop" | "continue" {
  if (value === "stop" || value === "continue") return value;
  throw new UsageError("E_USAGE", `--on-error ${JSON.stringify(value)} is neither stop nor continue`, {
    hint: "--on-error stop (start no more after a failure; the default) or --on-error continue",
  });
}

/** `--targets` on a command that does not take many databases yet: the option is known, and refused. */
export function withTargetsNotYet(command: Command): Command {
  return command.addOption(
    new Option(
      "--targets <file|glob>",
      `not yet: ${command.name()} runs on one database (pass --database URL)`,
    ),
  );
}

/** E_USAGE when `--targets` is given to a command that takes one database. */
export function refuseTargets(options: FleetCliOptions, command: string): void {
  if (options.targets === undefined) return;
  throw new UsageError("E_USAGE", `${command} does not take --targets yet: it runs on one database`, {
    hint: `run \`lockstep ${command} --database URL\` for each database (\`lockstep status --targets …\` lists them)`,
  });
}
