import type { Adapter } from "../core/adapter.js";
import type { StepSource } from "../core/registry.js";
import type { LeaseOptions } from "../core/upgrader.js";

/** What `lockstep.config.ts` (or `.js`, `.mjs`, `.json`) declares. */
export interface LockstepConfig<TDb = any> {
  /**
   * The database: a URL (`sqlite:./app.db`, `postgres://…`, `mysql://…`, `mongodb://…`)
   * or an adapter instance. `--database URL` overrides it. Optional when `databases` is given.
   */
  readonly database?: string | Adapter<TDb>;
  /**
   * Many databases (a fleet): URLs or `{ name, url }`, or a function returning them (a catalog
   * query in the app's code). `status`, `plan`, `upgrade` and `init` then run on each;
   * `--targets` overrides it and `--database URL` picks one database instead.
   */
  readonly databases?: DatabasesSpec;
  /** Where fleet run records go, relative to this file (default `.lockstep/runs` in the cwd; `LOCKSTEP_RUNS_DIR` overrides). */
  readonly runsDir?: string;
  /**
   * The steps: definitions (`upgrade({...})`), classes with `@registerUpgrade` methods, or
   * the path of a folder of step files (each default-exports a step or an array of steps),
   * relative to the config file.
   */
  readonly steps: readonly StepSource<TDb>[] | string;
  /** The code version. Defaults to the `version` of the nearest package.json above the config. */
  readonly appVersion?: string;
  /** Where `lockstep new` writes step files, relative to the config (default: `steps` when it is a folder, else "upgrades"). */
  readonly stepsDir?: string;
  readonly lease?: LeaseOptions;
  /**
   * MongoDB: which stamp document the database URL's database holds, kept with the config
   * so `--database URL` reads the same one (`{ app: "datalab" }` reads datalab's
   * `datalab_schema_version`). A URL's `?app=`/`?stampId=` may repeat it; a different value
   * is an error. Only for a `mongodb://` database URL.
   */
  readonly mongodb?: MongoStampOptions;
  /**
   * The steps build the schema from nothing (the first step creates the app's tables). A new,
   * empty database (no table or collection besides lockstep's) then gets every step from
   * `lockstep upgrade` and the start-up check's policy `upgrade`; without it such a database
   * is UNINITIALISED, as lockstep never guesses. Default false.
   */
  readonly stepsBuildSchema?: boolean;
  /**
   * Back up before every `lockstep upgrade` (as `--backup` does): `dir` relative to this file
   * (default "backups"), and keep the newest `keep` backups per database (default: all).
   */
  readonly backup?: BackupConfig;
}

/** One entry of the config's `databases`: a URL, or a URL with the name shown for it. */
export type DatabaseEntry = string | { readonly name?: string; readonly url: string };

/** The config's `databases`: a list, or a function (a catalog query) returning one. */
export type DatabasesSpec =
  | readonly DatabaseEntry[]
  | (() => readonly DatabaseEntry[] | Promise<readonly DatabaseEntry[]>);

/** Where `upgrade` backs up to, and how many backups it keeps. */
export interface BackupConfig {
  readonly dir?: string;
  readonly keep?: number;
}

/** Where lockstep finds the stamp on MongoDB (the seed's layout). */
export interface MongoStampOptions {
  /** The app of the seed's layout: the stamp is `<app>_schema_version`. Default "lockstep". */
  readonly app?: string;
  /** The stamp document's `_id`; default `<app>_schema_version`. */
  readonly stampId?: string;
}

/** Every key a config may have; any other is refused with the closest of these. */
export const CONFIG_KEYS = [
  "database",
  "steps",
  "appVersion",
  "stepsDir",
  "lease",
  "mongodb",
  "stepsBuildSchema",
  "backup",
  "databases",
  "runsDir",
] as const satisfies readonly (keyof LockstepConfig)[];

/** Every key of the config's `lease`. */
export const LEASE_KEYS = ["ttlMs", "waitMs", "pollMs"] as const satisfies readonly (keyof LeaseOptions)[];

/** Every key of the config's `backup`. */
export const BACKUP_KEYS = ["dir", "keep"] as const satisfies readonly (keyof BackupConfig)[];

/** Every key of the config's `mongodb`. */
export const MONGODB_KEYS = ["app", "stampId"] as const satisfies readonly (keyof MongoStampOptions)[];

/** Types a config file; returns it unchanged. */
export function defineConfig<TDb = any>(config: LockstepConfig<TDb>): LockstepConfig<TDb> {
  return config;
}
