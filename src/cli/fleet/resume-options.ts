/**
 * What a fleet upgrade's record keeps of its options, and how `upgrade --resume <id>` applies
 * them again: a resume finishes its run as it was started (the same --target-version, backup,
 * overrides), so one of those given again with another value is refused, never mixed in.
 */
import { UsageError } from "../../core/errors.js";
import type { UpgradeCliOptions } from "../commands/upgrade.js";
import { planOptions } from "../plan-view.js";

/** The options that decide what a target ends up as: the record's key, the CLI option, its flag. */
const CARRIED = [
  { key: "fromVersion", option: "fromVersion", flag: "--from-version" },
  { key: "targetVersion", option: "targetVersion", flag: "--target-version" },
  { key: "outOfOrder", option: "outOfOrder", flag: "--out-of-order" },
  { key: "force", option: "force", flag: "--force" },
  { key: "contract", option: "contract", flag: "--contract" },
  { key: "ignoreLiveInstances", option: "ignoreLive", flag: "--ignore-live" },
  { key: "allowDowntime", option: "allowDowntime", flag: "--allow-downtime" },
  { key: "backup", option: "backup", flag: "--backup" },
] as const;

/** What the run record keeps of an upgrade's options (paths and versions, never a URL). */
export function recordedOptions(options: UpgradeCliOptions, lockTimeoutMs?: number): Record<string, unknown> {
  return {
    ...planOptions(options),
    wait: options.wait,
    ...(options.backup !== undefined && { backup: options.backup }),
    ...(lockTimeoutMs !== undefined && { lockTimeoutMs }),
  };
}

/** The run being resumed, as far as its options go. */
export interface ResumedRun {
  readonly id: string;
  readonly options: Readonly<Record<string, unknown>>;
  /** The code version it ran with. */
  readonly appVersion: string;
}

/**
 * `options` with the resumed run's own applied again. The run's target is its --target-version,
 * else the code version it ran with (pinned when the code has moved on since). E_USAGE when one
 * is given again with another value, naming both.
 */
export function resumedOptions<O extends UpgradeCliOptions>(
  options: O,
  run: ResumedRun,
  codeVersion: string,
): O {
  const merged = { ...options } as Record<string, unknown>;
  for (const { key, option, flag } of CARRIED) {
    let was = flagValue(run.options[key]);
    if (key === "targetVersion" && was === undefined && run.appVersion !== codeVersion) was = run.appVersion;
    const given = flagValue(options[option]);
    if (given !== undefined && given !== was) throw conflict(run.id, flag, given, was);
    if (was !== undefined) merged[option] = was;
  }
  if (run.options.wait === false) merged.wait = false;
  return merged as O;
}

/** The lease timeout the resumed run was given, unless the resume gives its own. */
export function resumedLockTimeout(run: ResumedRun, given: number | undefined): number | undefined {
  const recorded = run.options.lockTimeoutMs;
  return given ?? (typeof recorded === "number" && recorded >= 0 ? recorded : undefined);
}

/** An option's value as a flag gives it: a string, `true`, or absent. */
function flagValue(value: unknown): string | true | undefined {
  return typeof value === "string" || value === true ? value : undefined;
}

function conflict(
  id: string,
  flag: string,
  given: string | true,
  was: string | true | undefined,
): UsageError {
  const shown = (value: string | true) => (value === true ? flag : `${flag} ${value}`);
  return new UsageError(
    "E_USAGE",
    `${shown(given)} conflicts with run ${id}, which ran with ${was === undefined ? `no ${flag}` : shown(was)}`,
    {
      hint: `a resume finishes its run as it was started: drop ${flag} (the run's own setting applies), or start a fresh run with \`lockstep upgrade --targets … ${shown(given)}\``,
    },
  );
}
