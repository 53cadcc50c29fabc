/**
 * What the app-facing guard accepts, and how it becomes the upgrader's options: a config
 * file (as the CLI reads it), a database URL, a steps folder, the package.json version — or
 * the adapter and steps wired by hand, as before.
 */
import { resolve } from "node:path";
import { adapterFromUrl } from "../adapters/from-url.js";
import { resolveAppVersion } from "../config/load-config.js";
import { type LoadedLockstepConfig, loadLockstepConfig } from "../config/load-lockstep-config.js";
import { loadStepsDir } from "../config/load-steps-dir.js";
import type { Adapter } from "../core/adapter.js";
import { checkOptions, type OptionsSpec } from "../core/check-options.js";
import { UsageError } from "../core/errors.js";
import type { GuardBehaviour } from "../core/guard-behaviour.js";
import type { StepSource } from "../core/registry.js";
import { type LeaseOptions, UPGRADER_OPTIONS, type UpgraderOptions } from "../core/upgrader-options.js";

/** Options of `checkDatabase` and `startDatabaseGuard`. */
export interface CheckDatabaseOptions<TDb = unknown> extends GuardBehaviour {
  /**
   * The lockstep config file, read as the CLI reads it (database URL, steps folder, app
   * version from package.json, MongoDB options): a path relative to `cwd`, an absolute path
   * or a `file:` URL. Options given here override the config's.
   */
  readonly config?: string | URL;
  /** What a relative `config`, `database` SQLite path or `steps` folder resolves against (default `process.cwd()`). */
  readonly cwd?: string;
  /** A database URL (`postgres://…`, `sqlite:./app.db`, …) or an adapter; overrides the config's. */
  readonly database?: string | Adapter<TDb>;
  /** An adapter (the long form of `database`). */
  readonly adapter?: Adapter<TDb>;
  /** The code version; default the config's, else the nearest package.json's `version` above `cwd`. */
  readonly appVersion?: string;
  /** The steps, or the path of a steps folder. */
  readonly steps?: readonly StepSource<TDb>[] | string;
  readonly lease?: LeaseOptions;
  readonly actor?: UpgraderOptions<TDb>["actor"];
  readonly stepsBuildSchema?: boolean;
  /** MongoDB: which stamp document a `mongodb://` `database` URL reads (as in the config). */
  readonly mongodb?: { readonly app?: string; readonly stampId?: string };
  /** Accepted so a config object can be spread in; the guard does not use it. */
  readonly stepsDir?: string;
}

/** The shape of {@link GuardBehaviour}, for `checkOptions`. */
export const GUARD_BEHAVIOUR_OPTIONS: OptionsSpec = {
  "policy?": "string",
  "onWarning?": "function",
  "logger?": "object",
  "on?": "object",
  "instanceTtlMs?": "number",
  "autoKeepAlive?": "boolean",
  "bypass?": "boolean",
};

/** The upgrader's options, each optional: the config or a URL may give them instead. */
export const GUARD_UPGRADER_OPTIONS: OptionsSpec = Object.fromEntries(
  Object.entries(UPGRADER_OPTIONS).map(([key, type]) => [key.endsWith("?") ? key : `${key}?`, type]),
);

/** The shape of {@link CheckDatabaseOptions} (without `config` and `database`, checked by hand). */
const SPEC = {
  ...GUARD_UPGRADER_OPTIONS,
  ...GUARD_BEHAVIOUR_OPTIONS,
  "cwd?": "string",
  "mongodb?": "object",
  "stepsDir?": "string",
  "steps?": "array",
} as const;

const WHERE = "checkDatabase(options)";

/** Splits the options into the upgrader's (config loaded, URL opened, folder read) and the guard's. */
export async function resolveGuardOptions<TDb>(
  options: CheckDatabaseOptions<TDb>,
): Promise<{ upgrader: UpgraderOptions<TDb>; behaviour: GuardBehaviour }> {
  if (options === null || typeof options !== "object") checkOptions(options, WHERE, SPEC);
  const { config, database, steps, ...rest } = options;
  checkOptions({ ...rest, ...(Array.isArray(steps) && { steps }) }, WHERE, SPEC);
  const {
    policy,
    onWarning,
    logger,
    on,
    instanceTtlMs,
    autoKeepAlive,
    bypass,
    cwd: cwdOption,
    ...wiring
  } = rest;
  const behaviour = Object.fromEntries(
    Object.entries({ policy, onWarning, logger, on, instanceTtlMs, autoKeepAlive, bypass }).filter(
      ([, value]) => value !== undefined,
    ),
  ) as GuardBehaviour;
  const cwd = cwdOption ?? process.cwd();
  const fromConfig: Partial<LoadedLockstepConfig> =
    config === undefined ? {} : await loadConfigOption(config, cwd, options);
  const adapter = options.adapter ?? (await databaseOption(database, cwd, options)) ?? fromConfig.adapter;
  const stepList =
    typeof steps === "string" ? await loadStepsDir(resolve(cwd, steps)) : (steps ?? fromConfig.steps);
  const appVersion =
    options.appVersion ??
    fromConfig.appVersion ??
    (adapter ? resolveAppVersion(undefined, undefined, cwd, cwd).version : undefined);
  if (adapter === undefined || stepList === undefined || appVersion === undefined) {
    throw new UsageError(
      "E_INVALID_OPTION",
      `${WHERE}: no ${[adapter === undefined && "database", stepList === undefined && "steps"].filter(Boolean).join(" and ")} given`,
      {
        hint: 'pass config: "./lockstep.config.ts" (as the CLI reads it), or database (a URL or adapter) and steps (an array or a folder path)',
      },
    );
  }
  const lease = wiring.lease ?? fromConfig.lease;
  const stepsBuildSchema = wiring.stepsBuildSchema ?? fromConfig.stepsBuildSchema;
  return {
    upgrader: {
      adapter: adapter as Adapter<TDb>,
      appVersion,
      steps: stepList as readonly StepSource<TDb>[],
      ...(lease !== undefined && { lease }),
      ...(wiring.actor !== undefined && { actor: wiring.actor }),
      ...(stepsBuildSchema !== undefined && { stepsBuildSchema }),
    },
    behaviour,
  };
}

async function loadConfigOption<TDb>(config: unknown, cwd: string, options: CheckDatabaseOptions<TDb>) {
  if (typeof config !== "string" && !(config instanceof URL)) {
    throw new UsageError(
      "E_INVALID_OPTION",
      `${WHERE}: option \`config\` must be the config file's path or file: URL, got ${config === null ? "null" : typeof config}`,
      {
        hint: 'config: "./lockstep.config.ts"; or spread a loaded config: checkDatabase({ ...(await loadLockstepConfig()) })',
      },
    );
  }
  return loadLockstepConfig(config, {
    cwd,
    ...(typeof options.database === "string" && { database: options.database }),
    ...(options.appVersion !== undefined && { appVersion: options.appVersion }),
  });
}

/** The adapter for `database` (a URL or an adapter); undefined when none is given. */
async function databaseOption<TDb>(
  database: unknown,
  cwd: string,
  options: CheckDatabaseOptions<TDb>,
): Promise<Adapter<any> | undefined> {
  if (database === undefined) return undefined;
  if (options.config !== undefined && typeof database === "string") return undefined; // the config loader used it
  if (typeof database === "string") {
    return adapterFromUrl(database, {
      baseDir: cwd,
      ...(options.mongodb !== undefined && /^mongodb/i.test(database) && { mongodb: options.mongodb }),
    });
  }
  const adapter = database as Partial<Adapter>;
  if (database === null || typeof adapter.readState !== "function") {
    throw new UsageError("E_INVALID_OPTION", `${WHERE}: option \`database\` must be a URL or an adapter`, {
      hint: 'database: "postgres://app@db:5432/app" (or sqlite:./app.db, mysql://…, mongodb://…)',
    });
  }
  return database as Adapter<any>;
}
