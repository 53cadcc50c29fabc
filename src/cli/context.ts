import {
  type ConfigFile,
  type LoadConfigOptions,
  loadConfig,
  type ResolvedConfig,
} from "../config/load-config.js";
import { Upgrader } from "../core/upgrader.js";
import type { Output, Streams } from "./output.js";

/** The options every command takes. */
export interface GlobalOptions {
  readonly config?: string;
  readonly database?: string;
  readonly json?: boolean;
  readonly appVersion?: string;
  readonly verbose?: boolean;
}

/** What a command may add when it opens the upgrader. */
export interface OpenExtra {
  readonly lockTimeoutMs?: number;
  /** The config file, when the command has read it already. */
  readonly file?: ConfigFile;
}

/** The config loading options a command's global options give. */
export function loadOptionsOf(options: GlobalOptions, streams: Streams): LoadConfigOptions {
  return {
    cwd: streams.cwd,
    ...(options.config !== undefined && { configPath: options.config }),
    ...(options.database !== undefined && { databaseUrl: options.database }),
    ...(options.appVersion !== undefined && { appVersion: options.appVersion }),
  };
}

/** Loads the config and builds the upgrader for a command. */
export async function openUpgrader(
  options: GlobalOptions,
  streams: Streams,
  output: Output,
  extra: OpenExtra = {},
): Promise<{ upgrader: Upgrader<any>; config: ResolvedConfig }> {
  const config = await loadConfig({
    ...loadOptionsOf(options, streams),
    ...(extra.file !== undefined && { file: extra.file }),
  });
  const upgrader = upgraderFor(config, extra.lockTimeoutMs);
  upgrader.on("warning", ({ message }) => output.warn(message));
  upgrader.on("lease:broken", ({ holder, reason }) =>
    output.warn(`broke the lease of ${holder.owner}: ${reason}`),
  );
  return { upgrader, config };
}

/** An upgrader on the config's database (not opened); `lockTimeoutMs` overrides the lease wait. */
export function upgraderFor(config: ResolvedConfig, lockTimeoutMs?: number): Upgrader<any> {
  const lease = {
    ...config.lease,
    ...(lockTimeoutMs !== undefined && { waitMs: lockTimeoutMs }),
  };
  return new Upgrader({
    adapter: config.adapter,
    appVersion: config.appVersion,
    steps: config.steps,
    lease,
    stepsBuildSchema: config.stepsBuildSchema,
  });
}
