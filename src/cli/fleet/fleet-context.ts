/**
 * Whether a command runs on many databases, and which: `--targets`, else the config's
 * `databases` (unless `--database` picks one). Each target gets its own upgrader.
 */
import {
  type ConfigFile,
  configForUrl,
  loadSharedConfig,
  type ResolvedConfig,
  readConfig,
  type SharedConfig,
} from "../../config/load-config.js";
import { UsageError } from "../../core/errors.js";
import type { Upgrader } from "../../core/upgrader.js";
import {
  type Target,
  type TargetSource,
  targetsFromArgument,
  targetsFromConfig,
} from "../../fleet/targets.js";
import type { CommandRun } from "../command.js";
import { loadOptionsOf, upgraderFor } from "../context.js";
import { type FleetCliOptions, fleetOptionGiven } from "./fleet-options.js";

/** The databases of a fleet command and what they share. */
export interface Fleet {
  readonly shared: SharedConfig;
  readonly targets: readonly Target[];
  readonly source: TargetSource;
  /** The folder the source (a relative --targets path or glob) resolves against: the run's cwd. */
  readonly cwd: string;
}

/** A fleet, or (one database) the config file when it was read to find out. */
export type Mode = { readonly fleet: Fleet } | { readonly fleet?: undefined; readonly file?: ConfigFile };

/** Finds out whether the command runs on many databases, and lists them. */
export async function fleetMode(run: CommandRun<FleetCliOptions>): Promise<Mode> {
  const { options, streams } = run;
  if (options.targets !== undefined && options.database !== undefined) {
    throw new UsageError("E_USAGE", "--database and --targets together: one database or many?", {
      hint: "drop --database to run on every target, or --targets to run on one database",
    });
  }
  if (options.targets !== undefined) {
    const shared = await loadSharedConfig(loadOptionsOf(options, streams));
    const targets = targetsFromArgument(options.targets, streams.cwd);
    return { fleet: { shared, targets, source: { targets: options.targets }, cwd: streams.cwd } };
  }
  const single = () => {
    const flag = fleetOptionGiven(options);
    if (flag === null) return;
    throw new UsageError("E_USAGE", `${flag} is for many databases, and none are given`, {
      hint: "add --targets FILE|GLOB (or `databases` in the config)",
    });
  };
  if (options.database !== undefined) {
    single();
    return {};
  }
  const file = await readConfig(streams.cwd, options.config);
  if (file.config.databases === undefined) {
    single();
    return { file };
  }
  return { fleet: await configFleet(run, file) };
}

/** The config's `databases` as a fleet. */
export async function configFleet(run: CommandRun<FleetCliOptions>, file?: ConfigFile): Promise<Fleet> {
  const shared = await loadSharedConfig({
    ...loadOptionsOf(run.options, run.streams),
    ...(file !== undefined && { file }),
  });
  return fleetFrom(shared, { config: true }, run.streams.cwd);
}

/** The targets a recorded source names, read again (a resumed run: `cwd` is the folder it ran in). */
export async function fleetFrom(shared: SharedConfig, source: TargetSource, cwd: string): Promise<Fleet> {
  const targets =
    "targets" in source
      ? targetsFromArgument(source.targets, cwd)
      : await targetsFromConfig(shared.databases ?? [], shared.path, shared.configDir);
  return { shared, targets, source, cwd };
}

/** An upgrader on one target (not opened) and its config, its warnings passed to `warn`. */
export async function openTarget(
  fleet: Fleet,
  target: Target,
  warn: (message: string) => void,
  lockTimeoutMs?: number,
): Promise<{ upgrader: Upgrader<any>; config: ResolvedConfig }> {
  const config = await configForUrl(fleet.shared, target.url, target.baseDir);
  const upgrader = upgraderFor(config, lockTimeoutMs);
  upgrader.on("warning", ({ message }) => warn(message));
  upgrader.on("lease:broken", ({ holder, reason }) => warn(`broke the lease of ${holder.owner}: ${reason}`));
  return { upgrader, config };
}

/** Runs `fn` on one target's upgrader and closes it. */
export async function withTarget<T>(
  fleet: Fleet,
  target: Target,
  warn: (message: string) => void,
  fn: (upgrader: Upgrader<any>, config: ResolvedConfig) => Promise<T>,
  lockTimeoutMs?: number,
): Promise<T> {
  const { upgrader, config } = await openTarget(fleet, target, warn, lockTimeoutMs);
  try {
    return await fn(upgrader, config);
  } finally {
    await upgrader.close().catch(() => undefined);
  }
}
