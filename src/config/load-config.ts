import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, extname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { tsImport } from "tsx/esm/api";
import { adapterFromUrl } from "../adapters/from-url.js";
import type { Adapter } from "../core/adapter.js";
import { ConfigError, LockstepError } from "../core/errors.js";
import type { StepSource } from "../core/registry.js";
import type { LeaseOptions } from "../core/upgrader.js";
import type { LockstepConfig } from "./define-config.js";

/** Config file names looked for, in order, when `--config` is not given. */
export const CONFIG_FILE_NAMES = [
  "lockstep.config.ts",
  "lockstep.config.mts",
  "lockstep.config.js",
  "lockstep.config.mjs",
  "lockstep.config.json",
];

/** A loaded, validated config. */
export interface ResolvedConfig {
  readonly path: string;
  readonly adapter: Adapter<any>;
  readonly steps: readonly StepSource<any>[];
  readonly appVersion: string;
  /** Where the app version came from, for error messages. */
  readonly appVersionSource: string;
  readonly stepsDir: string;
  readonly lease: LeaseOptions | undefined;
}

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions {
  /** Folder the config is searched in and relative URLs resolve against. */
  readonly cwd: string;
  /** An explicit config path (`--config`). */
  readonly configPath?: string;
  /** A database URL that overrides the config's (`--database`). */
  readonly databaseUrl?: string;
  /** An explicit app version, overriding the config and package.json. */
  readonly appVersion?: string;
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

/** Imports a module, TypeScript included (through tsx), without a build step. */
export async function importModule(path: string): Promise<Record<string, unknown>> {
  const ext = extname(path);
  const module = (
    ext === ".ts" || ext === ".mts" || ext === ".cts" || ext === ".tsx"
      ? await tsImport(pathToFileURL(path).href, import.meta.url)
      : await import(pathToFileURL(path).href)
  ) as Record<string, unknown>;
  // A TypeScript file in a CommonJS package compiles to `exports.default = …`, which an
  // ESM import sees as `default.default`.
  const inner = module.default as Record<string, unknown> | undefined;
  if (inner && typeof inner === "object" && inner.__esModule === true && "default" in inner) return inner;
  return module;
}

/** Loads and validates the config, builds its adapter and reads the app version. */
export async function loadConfig(options: LoadConfigOptions): Promise<ResolvedConfig> {
  const path = findConfig(options.cwd, options.configPath);
  const raw = await readConfigFile(path);
  const configDir = dirname(path);

  const databaseSpec = options.databaseUrl ?? raw.database;
  if (databaseSpec === undefined || databaseSpec === null || databaseSpec === "") {
    throw new ConfigError("E_CONFIG_INVALID", `${path} names no database`, {
      hint: 'add database: "sqlite:./app.db" (or a postgres://, mysql://, mongodb:// URL), or pass --database URL',
    });
  }
  const adapter =
    typeof databaseSpec === "string"
      ? await adapterFromUrl(databaseSpec, { baseDir: options.cwd })
      : validateAdapter(databaseSpec, path);

  let steps: readonly StepSource<any>[];
  let stepsDir: string;
  if (typeof raw.steps === "string") {
    stepsDir = resolve(configDir, raw.steps);
    steps = await loadStepsDir(stepsDir);
  } else if (Array.isArray(raw.steps)) {
    steps = raw.steps;
    stepsDir = resolve(configDir, raw.stepsDir ?? "upgrades");
  } else {
    throw new ConfigError("E_CONFIG_INVALID", `${path}: "steps" must be an array of steps or a folder path`, {
      hint: 'steps: [upgrade({ version: "1.1.0", name: "…", run })] or steps: "./upgrades"',
    });
  }
  const { version, source } = resolveAppVersion(options.appVersion, raw.appVersion, configDir, path);
  return { path, adapter, steps, appVersion: version, appVersionSource: source, stepsDir, lease: raw.lease };
}

async function readConfigFile(path: string): Promise<Partial<LockstepConfig>> {
  let value: unknown;
  try {
    if (extname(path) === ".json") {
      value = JSON.parse(readFileSync(path, "utf8"));
    } else {
      const module = await importModule(path);
      value = module.default ?? module.config;
    }
  } catch (error) {
    if (error instanceof LockstepError) throw error;
    throw new ConfigError("E_CONFIG_INVALID", `cannot load config ${path}: ${(error as Error).message}`, {
      cause: error,
      hint: "fix the error in the config file (or a step file it imports)",
    });
  }
  if (value === null || typeof value !== "object") {
    throw new ConfigError("E_CONFIG_INVALID", `${path} does not export a config`, {
      hint: "export default defineConfig({ database, steps })",
    });
  }
  return value as Partial<LockstepConfig>;
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

async function loadStepsDir(dir: string): Promise<StepSource<any>[]> {
  if (!existsSync(dir)) {
    throw new ConfigError("E_CONFIG_INVALID", `steps folder not found: ${dir}`, {
      hint: "create it, or `lockstep new <version> <name>` writes the first step there",
    });
  }
  const files = readdirSync(dir)
    .filter((file) => /\.(ts|mts|js|mjs)$/.test(file) && !file.endsWith(".d.ts"))
    .sort();
  const steps: StepSource<any>[] = [];
  for (const file of files) {
    let module: Record<string, unknown>;
    try {
      module = await importModule(join(dir, file));
    } catch (error) {
      throw new ConfigError(
        "E_CONFIG_INVALID",
        `cannot load step file ${join(dir, file)}: ${(error as Error).message}`,
        {
          cause: error,
          hint: "fix the error in that step file",
        },
      );
    }
    const exported = module.default;
    if (exported === undefined) {
      throw new ConfigError("E_CONFIG_INVALID", `step file ${join(dir, file)} has no default export`, {
        hint: "export default upgrade({ version, name, run })",
      });
    }
    steps.push(...(Array.isArray(exported) ? exported : [exported]));
  }
  return steps;
}

function resolveAppVersion(
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
