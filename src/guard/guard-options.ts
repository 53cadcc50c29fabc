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
import { assertCheckPolicy } from "../core/check-policy.js";
import { ConfigError, UsageError } from "../core/errors.js";
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

/** The shape of {@link CheckDatabaseOptions}: `config`, `database` and `steps` are typed by hand (two forms each). */
const SPEC = {
  "config?": "string",
  "database?": "string",
  ...GUARD_UPGRADER_OPTIONS,
  ...GUARD_BEHAVIOUR_OPTIONS,
  "cwd?": "string",
  "mongodb?": "object",
  "stepsDir?": "string",
  "steps?": "array",
} as const;

/** The options only the background guard takes (`retry`). */
const BACKGROUND_SPEC = { ...SPEC, "retry?": "object" } as const;

/** Who was called, for the error texts: `checkDatabase(options)` or `startDatabaseGuard(options)`. */
export type GuardCaller = "checkDatabase" | "startDatabaseGuard";

/** The smallest and largest `instanceTtlMs`: a crashed instance must not block contract steps for a day. */
export const INSTANCE_TTL_BOUNDS = { min: 5_000, max: 3_600_000 } as const;

/**
 * Checks the options synchronously (so `startDatabaseGuard` throws at once, not in the
 * background): the object, every name (did-you-mean), each type, the policy and the TTL.
 */
export function validateGuardOptions<TDb>(options: CheckDatabaseOptions<TDb>, caller: GuardCaller): void {
  const where = `${caller}(options)`;
  const spec = caller === "checkDatabase" ? SPEC : BACKGROUND_SPEC;
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    checkOptions(options, where, spec);
  }
  const { config, database, steps, retry, ...rest } = options as CheckDatabaseOptions<TDb> & {
    retry?: unknown;
  };
  checkOptions(
    {
      ...rest,
      ...(Array.isArray(steps) && { steps }),
      ...(retry !== undefined && { retry: typeof retry === "object" && retry !== null ? retry : {} }),
    },
    where,
    spec,
  );
  if (rest.policy !== undefined) {
    try {
      assertCheckPolicy(rest.policy);
    } catch (error) {
      const e = error as UsageError;
      throw new UsageError("E_INVALID_OPTION", `${where}: option \`policy\`: ${e.message.split("\n")[0]}`, {
        ...(e.hint !== undefined && { hint: e.hint }),
      });
    }
  }
  assertInstanceTtl(rest.instanceTtlMs, where);
  if (typeof steps !== "string" && steps !== undefined && !Array.isArray(steps)) {
    throw new UsageError("E_INVALID_OPTION", `${where}: option \`steps\` must be an array or a folder path`, {
      hint: `the options are ${shapeOf(spec)}`,
    });
  }
}

/** Throws E_INVALID_OPTION unless `ttl` is undefined or within {@link INSTANCE_TTL_BOUNDS}. */
export function assertInstanceTtl(ttl: unknown, where: string): void {
  const { min, max } = INSTANCE_TTL_BOUNDS;
  if (ttl === undefined || (typeof ttl === "number" && Number.isFinite(ttl) && ttl >= min && ttl <= max))
    return;
  throw new UsageError(
    "E_INVALID_OPTION",
    `${where}: instanceTtlMs must be between ${min} ms (5 s) and ${max} ms (1 hour), got ${String(ttl)}`,
    {
      hint: "instanceTtlMs: 120000 (the default, 2 minutes); an instance that crashed blocks contract steps for this long",
    },
  );
}

/** `{ config, database, … }`: every option a caller accepts. */
export function shapeOf(spec: OptionsSpec): string {
  return `{ ${Object.keys(spec)
    .map((k) => k.replace(/\?$/, ""))
    .join(", ")} }`;
}

/** Splits the options into the upgrader's (config loaded, URL opened, folder read) and the guard's. */
export async function resolveGuardOptions<TDb>(
  options: CheckDatabaseOptions<TDb>,
  caller: GuardCaller = "checkDatabase",
): Promise<{ upgrader: UpgraderOptions<TDb>; behaviour: GuardBehaviour }> {
  validateGuardOptions(options, caller);
  const WHERE = `${caller}(options)`;
  const { config, database, steps, ...rest } = options;
  const {
    policy,
    onWarning,
    logger,
    on,
    instanceTtlMs,
    autoKeepAlive,
    bypass,
    cwd: cwdOption,
    retry: _retry,
    ...wiring
  } = rest as typeof rest & { retry?: unknown };
  const behaviour = Object.fromEntries(
    Object.entries({ policy, onWarning, logger, on, instanceTtlMs, autoKeepAlive, bypass }).filter(
      ([, value]) => value !== undefined,
    ),
  ) as GuardBehaviour;
  const cwd = cwdOption ?? process.cwd();
  const fromConfig: Partial<LoadedLockstepConfig> =
    config === undefined ? {} : await loadConfigOption(config, cwd, options, WHERE);
  const adapter =
    options.adapter ?? (await databaseOption(database, cwd, options, WHERE)) ?? fromConfig.adapter;
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

async function loadConfigOption<TDb>(
  config: unknown,
  cwd: string,
  options: CheckDatabaseOptions<TDb>,
  WHERE: string,
) {
  if (typeof config !== "string" && !(config instanceof URL)) {
    throw new UsageError(
      "E_INVALID_OPTION",
      `${WHERE}: option \`config\` must be the config file's path or file: URL, got ${config === null ? "null" : typeof config}`,
      {
        hint: 'config: "./lockstep.config.ts"; or spread a loaded config: checkDatabase({ ...(await loadLockstepConfig()) })',
      },
    );
  }
  try {
    return await loadLockstepConfig(config, {
      cwd,
      ...(typeof options.database === "string" && { database: options.database }),
      ...(options.appVersion !== undefined && { appVersion: options.appVersion }),
    });
  } catch (error) {
    // The loader speaks to the CLI ("check the --config path"); a library caller passed `config`.
    if (error instanceof ConfigError && error.code === "E_CONFIG_NOT_FOUND") {
      throw new ConfigError("E_CONFIG_NOT_FOUND", `${WHERE}: ${error.message.split("\n")[0]}`, {
        hint: `check the \`config\` option's path (a relative one resolves against \`cwd\`, here ${cwd}), or pass an absolute path or a file: URL`,
      });
    }
    throw error;
  }
}

/** The adapter for `database` (a URL or an adapter); undefined when none is given. */
async function databaseOption<TDb>(
  database: unknown,
  cwd: string,
  options: CheckDatabaseOptions<TDb>,
  WHERE: string,
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
