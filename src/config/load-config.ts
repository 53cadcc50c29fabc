import { existsSync, readFileSync } from "node:fs";
import { dirname, extname, join, resolve } from "node:path";
import { adapterFromUrl } from "../adapters/from-url.js";
import type { Adapter } from "../core/adapter.js";
import { didYouMean, unknownKeys } from "../core/did-you-mean.js";
import { ConfigError, LockstepError } from "../core/errors.js";
import type { StepSource } from "../core/registry.js";
import type { LeaseOptions } from "../core/upgrader.js";
import {
  BACKUP_KEYS,
  type BackupConfig,
  CONFIG_KEYS,
  LEASE_KEYS,
  type LockstepConfig,
  MONGODB_KEYS,
  type MongoStampOptions,
} from "./define-config.js";
import { importModule } from "./import-module.js";
import { loadStepsDir } from "./load-steps-dir.js";

/** Config file names looked for, in order, when `--config` is not given. */
export const CONFIG_FILE_NAMES = [
  "lockstep.config.ts",
  "lockstep.config.mts",
  "lockstep.config.js",
  "lockstep.config.mjs",
  "lockstep.config.json",
];

/** What every database of one config shares: the steps, the app version, the lease, backups. */
export interface SharedConfig {
  readonly path: string;
  readonly steps: readonly StepSource<any>[];
  readonly appVersion: string;
  /** Where the app version came from, for error messages. */
  readonly appVersionSource: string;
  readonly stepsDir: string;
  readonly lease: LeaseOptions | undefined;
  /** See {@link LockstepConfig.stepsBuildSchema}. */
  readonly stepsBuildSchema: boolean;
  /** The config's `backup`, its `dir` resolved against the config's folder. */
  readonly backup: { readonly dir: string; readonly keep?: number } | undefined;
  /** The config's folder: its relative paths (SQLite files, `databases`) resolve against it. */
  readonly configDir: string;
  /** The config's `mongodb`, for every mongodb:// URL. */
  readonly mongodb: MongoStampOptions | undefined;
  /** The config's `databases` (a fleet), as written. */
  readonly databases: LockstepConfig["databases"];
  /** The config's `runsDir`, resolved against the config's folder. */
  readonly runsDir: string | undefined;
}

/** A loaded, validated config with its one database. */
export interface ResolvedConfig extends SharedConfig {
  readonly adapter: Adapter<any>;
  /** The database URL (null when the config gives an adapter), for backups. */
  readonly databaseUrl: string | null;
  /** The folder a relative SQLite path in {@link databaseUrl} resolves against. */
  readonly databaseBaseDir: string;
}

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions {
  /** Folder the config is searched in and a `--database` SQLite path resolves against. */
  readonly cwd: string;
  /** An explicit config path (`--config`). */
  readonly configPath?: string;
  /** A database URL that overrides the config's (`--database`). */
  readonly databaseUrl?: string;
  /** An explicit app version, overriding the config and package.json. */
  readonly appVersion?: string;
  /** The config file, when the caller has read it already. */
  readonly file?: ConfigFile;
}

/** A config file read and checked, before its database is opened or its steps loaded. */
export interface ConfigFile {
  readonly path: string;
  /** The config file's folder: the config's relative paths resolve against it. */
  readonly dir: string;
  readonly config: Partial<LockstepConfig>;
}

/** Finds the config file: the explicit path, or the first known name in `cwd`. */
export function findConfig(cwd: string, configPath?: string): string {
  if (configPath !== undefined) {
    const path = resolve(cwd, configPath);
    if (!existsSync(path)) {
      throw new ConfigError("E_CONFIG_NOT_FOUND", `config file not found: ${path}`, {
        hint: "check the --config path",
      });
    }
    return path;
  }
  for (const name of CONFIG_FILE_NAMES) {
    const path = join(cwd, name);
    if (existsSync(path)) return path;
  }
  throw new ConfigError(
    "E_CONFIG_NOT_FOUND",
    `no lockstep config in ${cwd} (looked for ${CONFIG_FILE_NAMES.join(", ")})`,
    {
      hint: "create lockstep.config.ts with defineConfig({ database, steps }), or pass --config <path>",
    },
  );
}

/** Finds, imports and checks the config file, without opening its database or loading its steps. */
export async function readConfig(cwd: string, configPath?: string): Promise<ConfigFile> {
  const path = findConfig(cwd, configPath);
  return { path, dir: dirname(path), config: checkConfig(await readConfigFile(path), path) };
}

/** Where `lockstep new` writes: the steps folder, else `stepsDir`, else `upgrades`, beside the config. */
export function stepsDirOf(file: ConfigFile): string {
  const { config, dir } = file;
  return resolve(dir, typeof config.steps === "string" ? config.steps : (config.stepsDir ?? "upgrades"));
}

/** Loads and validates the config, builds its adapter and reads the app version. */
export async function loadConfig(options: LoadConfigOptions): Promise<ResolvedConfig> {
  const file = await configFile(options);
  const { path, dir, config } = file;
  const databaseSpec = options.databaseUrl ?? config.database;
  if (databaseSpec === undefined || databaseSpec === null || databaseSpec === "") {
    const fleet = config.databases !== undefined;
    throw new ConfigError(
      "E_CONFIG_INVALID",
      `${path} names no database${fleet ? " (only `databases`)" : ""}`,
      {
        hint: fleet
          ? "this command works on one database: pass --database URL (one of the config's databases)"
          : 'add database: "sqlite:./app.db" (or a postgres://, mysql://, mongodb:// URL), or pass --database URL',
      },
    );
  }
  // A path in the config means the same from any working directory; one typed on the
  // command line means what the shell's working directory says.
  const baseDir = options.databaseUrl !== undefined ? options.cwd : dir;
  // The database first: a bad URL is reported before the steps are loaded.
  const adapter =
    typeof databaseSpec === "string"
      ? await adapterFromUrl(databaseSpec, { baseDir, ...mongoOptionsFor(databaseSpec, config.mongodb) })
      : validateAdapter(databaseSpec, path);
  const shared = await loadSharedConfig({ ...options, file });
  const databaseUrl = typeof databaseSpec === "string" ? databaseSpec : null;
  return { ...shared, adapter, databaseUrl, databaseBaseDir: baseDir };
}

/** The shared config with one database URL (a fleet's target): its own adapter, not opened. */
export async function configForUrl(
  shared: SharedConfig,
  url: string,
  baseDir: string,
): Promise<ResolvedConfig> {
  const adapter = await adapterFromUrl(url, { baseDir, ...mongoOptionsFor(url, shared.mongodb) });
  return { ...shared, adapter, databaseUrl: url, databaseBaseDir: baseDir };
}

/** Loads and validates the config, its steps and the app version, without any database. */
export async function loadSharedConfig(options: LoadConfigOptions): Promise<SharedConfig> {
  const file = await configFile(options);
  const { path, dir, config } = file;
  let steps: readonly StepSource<any>[];
  if (typeof config.steps === "string") {
    steps = await loadStepsDir(resolve(dir, config.steps));
  } else if (Array.isArray(config.steps)) {
    steps = config.steps;
  } else {
    throw new ConfigError("E_CONFIG_INVALID", `${path}: "steps" must be an array of steps or a folder path`, {
      hint: 'steps: [upgrade({ version: "1.1.0", name: "…", run })] or steps: "./upgrades"',
    });
  }
  const { version, source } = resolveAppVersion(options.appVersion, config.appVersion, dir, path);
  return {
    path,
    steps,
    appVersion: version,
    appVersionSource: source,
    stepsDir: stepsDirOf(file),
    lease: config.lease,
    stepsBuildSchema: config.stepsBuildSchema ?? false,
    backup: config.backup && {
      dir: resolve(dir, config.backup.dir ?? "backups"),
      ...(config.backup.keep !== undefined && { keep: config.backup.keep }),
    },
    configDir: dir,
    mongodb: config.mongodb,
    databases: config.databases,
    runsDir: config.runsDir === undefined ? undefined : resolve(dir, config.runsDir),
  };
}

function configFile(options: LoadConfigOptions): Promise<ConfigFile> {
  return options.file ? Promise.resolve(options.file) : readConfig(options.cwd, options.configPath);
}

async function readConfigFile(path: string): Promise<unknown> {
  try {
    if (extname(path) === ".json") return JSON.parse(readFileSync(path, "utf8"));
    const module = await importModule(path);
    return module.default ?? module.config;
  } catch (error) {
    if (error instanceof LockstepError) throw error;
    const message = (error as Error).message;
    throw new ConfigError("E_CONFIG_INVALID", `cannot load config ${path}: ${message}`, {
      cause: error,
      hint: /top-level await .*"cjs" output format/i.test(message)
        ? 'the nearest package.json makes this file CommonJS, where a top-level await cannot run: rename it lockstep.config.mts, or add "type": "module" to package.json'
        : "fix the error in the config file (or a step file it imports)",
    });
  }
}

/** Refuses a config that is not an object, or has a key (or lease key) lockstep does not know. */
function checkConfig(value: unknown, path: string): Partial<LockstepConfig> {
  if (value === null || typeof value !== "object") {
    throw new ConfigError("E_CONFIG_INVALID", `${path} does not export a config`, {
      hint: "export default defineConfig({ database, steps })",
    });
  }
  checkKeys(value, CONFIG_KEYS, path, "the config");
  const { lease } = value as { lease?: unknown };
  if (lease !== undefined) {
    if (lease === null || typeof lease !== "object") {
      throw new ConfigError("E_CONFIG_INVALID", `${path}: "lease" must be an object`, {
        hint: `lease: { ${LEASE_KEYS.join(", ")} } (milliseconds)`,
      });
    }
    checkKeys(lease, LEASE_KEYS, path, "lease");
  }
  const { mongodb } = value as { mongodb?: unknown };
  if (mongodb !== undefined) {
    const valid =
      mongodb !== null &&
      typeof mongodb === "object" &&
      Object.values(mongodb).every((v) => typeof v === "string" && v !== "");
    if (!valid) {
      throw new ConfigError("E_CONFIG_INVALID", `${path}: "mongodb" must be an object of non-empty strings`, {
        hint: 'mongodb: { app: "datalab" } (or { stampId: "datalab_schema_version" })',
      });
    }
    checkKeys(mongodb, MONGODB_KEYS, path, "mongodb");
  }
  const { stepsBuildSchema } = value as { stepsBuildSchema?: unknown };
  if (stepsBuildSchema !== undefined && typeof stepsBuildSchema !== "boolean") {
    throw new ConfigError("E_CONFIG_INVALID", `${path}: "stepsBuildSchema" must be true or false`, {
      hint: "stepsBuildSchema: true when the steps create the app's schema from nothing",
    });
  }
  checkBackup((value as { backup?: unknown }).backup, path);
  const { runsDir } = value as { runsDir?: unknown };
  if (runsDir !== undefined && (typeof runsDir !== "string" || runsDir === "")) {
    throw new ConfigError("E_CONFIG_INVALID", `${path}: "runsDir" must be a folder path`, {
      hint: 'runsDir: ".lockstep/runs" (relative to the config)',
    });
  }
  return value as Partial<LockstepConfig>;
}

function checkBackup(backup: unknown, path: string): void {
  if (backup === undefined) return;
  const hint = 'backup: { dir: "backups", keep: 5 } (dir relative to the config, keep a positive integer)';
  if (backup === null || typeof backup !== "object") {
    throw new ConfigError("E_CONFIG_INVALID", `${path}: "backup" must be an object`, { hint });
  }
  checkKeys(backup, BACKUP_KEYS, path, "backup");
  const { dir, keep } = backup as BackupConfig;
  if (
    (dir !== undefined && (typeof dir !== "string" || dir === "")) ||
    (keep !== undefined && !(Number.isInteger(keep) && keep > 0))
  ) {
    throw new ConfigError("E_CONFIG_INVALID", `${path}: "backup" has a bad dir or keep`, { hint });
  }
}

function checkKeys(value: object, known: readonly string[], path: string, where: string): void {
  const [key] = unknownKeys(value, known);
  if (key === undefined) return;
  throw new ConfigError(
    "E_CONFIG_INVALID",
    `${path}: ${where} has an unknown key "${key}"${didYouMean(key, known)}`,
    { hint: `the keys of ${where} are ${known.join(", ")}` },
  );
}

/**
 * The config's `mongodb` for a MongoDB URL (so `--database mongodb://…` reads the config's
 * stamp document); a config whose default database is SQL may still name it for that case.
 */
function mongoOptionsFor(url: string, mongodb: LockstepConfig["mongodb"]): { mongodb?: MongoStampOptions } {
  return mongodb !== undefined && /^mongodb(\+srv)?:/i.test(url) ? { mongodb } : {};
}

function validateAdapter(value: unknown, path: string): Adapter<any> {
  const adapter = value as Partial<Adapter>;
  if (typeof adapter.readState !== "function" || typeof adapter.tryAcquireLease !== "function") {
    throw new ConfigError("E_CONFIG_INVALID", `${path}: "database" is neither a URL nor an adapter`, {
      hint: 'database: "sqlite:./app.db" or database: new SqliteAdapter({ filename })',
    });
  }
  return value as Adapter<any>;
}

/** The app version: explicit, else the config's, else the `version` of the nearest package.json above `configDir`. */
export function resolveAppVersion(
  explicit: string | undefined,
  fromConfig: string | undefined,
  configDir: string,
  configPath: string,
): { version: string; source: string } {
  if (explicit !== undefined) return { version: explicit, source: "--app-version" };
  if (fromConfig !== undefined) return { version: fromConfig, source: `appVersion in ${configPath}` };
  for (let dir = configDir; ; dir = dirname(dir)) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg)) {
      const { version } = JSON.parse(readFileSync(pkg, "utf8")) as { version?: string };
      if (typeof version !== "string") {
        throw new ConfigError("E_CONFIG_INVALID", `${pkg} has no "version"`, {
          hint: "add a version to package.json, or appVersion to the config",
        });
      }
      return { version, source: `"version" in ${pkg}` };
    }
    if (dirname(dir) === dir) break;
  }
  throw new ConfigError(
    "E_CONFIG_INVALID",
    `no package.json above ${configPath} and no appVersion in the config`,
    {
      hint: "set appVersion in the config, or pass --app-version",
    },
  );
}
