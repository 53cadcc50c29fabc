import { type LoadConfigOptions, loadConfig, type ResolvedConfig } from "../config/load-config.js";
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

/** Loads the config and builds the upgrader for a command. */
export async function openUpgrader(
  options: GlobalOptions,
  streams: Streams,
  output: Output,
  extra: { lockTimeoutMs?: number } = {},
): Promise<{ upgrader: Upgrader<any>; config: ResolvedConfig }> {
  const config = await loadConfig({
    cwd: streams.cwd,
    ...(options.config !== undefined && { configPath: options.config }),
    ...(options.database !== undefined && { databaseUrl: options.database }),
    ...(options.appVersion !== undefined && { appVersion: options.appVersion }),
  } satisfies LoadConfigOptions);
  const lease = {
    ...config.lease,
    ...(extra.lockTimeoutMs !== undefined && { waitMs: extra.lockTimeoutMs }),
  };
  const upgrader = new Upgrader({
    adapter: config.adapter,
    appVersion: config.appVersion,
    steps: config.steps,
    lease,
    stepsBuildSchema: config.stepsBuildSchema,
  });
  upgrader.on("warning", ({ message }) => output.warn(message));
  upgrader.on("lease:broken", ({ holder, reason }) =>
    output.warn(`broke the lease of ${holder.owner}: ${reason}`),
  );
  return { upgrader, config };
}
