/**
 * The config as the library (the start-up guard, an app's own code) loads it: the same file,
 * database URL, steps folder, package.json version and MongoDB options the CLI reads,
 * returned as the options an {@link Upgrader} or `checkDatabase` takes.
 */
import { fileURLToPath } from "node:url";
import type { Adapter } from "../core/adapter.js";
import { UsageError } from "../core/errors.js";
import type { StepSource } from "../core/registry.js";
import type { LeaseOptions } from "../core/upgrader-options.js";
import { loadConfig } from "./load-config.js";

/** What {@link loadLockstepConfig} returns: spread it into `checkDatabase({...})` or `new Upgrader({...})`. */
export interface LoadedLockstepConfig {
  readonly adapter: Adapter<any>;
  readonly appVersion: string;
  readonly steps: readonly StepSource<any>[];
  readonly lease?: LeaseOptions;
  readonly stepsBuildSchema: boolean;
}

/** Options of {@link loadLockstepConfig}. */
export interface LoadLockstepConfigOptions {
  /** What a relative config path resolves against (default: `process.cwd()`). */
  readonly cwd?: string;
  /** A database URL overriding the config's (as `--database`); a relative SQLite path resolves against `cwd`. */
  readonly database?: string;
  /** The code version, overriding the config's and package.json's (as `--app-version`). */
  readonly appVersion?: string;
}

/**
 * Loads `lockstep.config.*` as the CLI does. `path` is relative to `cwd` (default the
 * process's working directory), absolute, or a `file:` URL; undefined looks for
 * `lockstep.config.{ts,mts,js,mjs,json}` in `cwd`.
 */
export async function loadLockstepConfig(
  path?: string | URL,
  options: LoadLockstepConfigOptions = {},
): Promise<LoadedLockstepConfig> {
  const cwd = options.cwd ?? process.cwd();
  const configPath = path === undefined ? undefined : configPathOf(path);
  const config = await loadConfig({
    cwd,
    ...(configPath !== undefined && { configPath }),
    ...(options.database !== undefined && { databaseUrl: options.database }),
    ...(options.appVersion !== undefined && { appVersion: options.appVersion }),
  });
  return {
    adapter: config.adapter,
    appVersion: config.appVersion,
    steps: config.steps,
    ...(config.lease !== undefined && { lease: config.lease }),
    stepsBuildSchema: config.stepsBuildSchema,
  };
}

function configPathOf(path: string | URL): string {
  if (path instanceof URL || /^file:/i.test(path)) {
    try {
      return fileURLToPath(path);
    } catch (error) {
      throw new UsageError("E_INVALID_OPTION", `config: ${String(path)} is not a file URL`, {
        cause: error,
        hint: 'pass a path ("./lockstep.config.ts") or import.meta.resolve-style file: URL',
      });
    }
  }
  if (typeof path !== "string" || path === "") {
    throw new UsageError("E_INVALID_OPTION", `config: expected a path or file: URL, got ${typeof path}`, {
      hint: 'config: "./lockstep.config.ts"',
    });
  }
  return path;
}
