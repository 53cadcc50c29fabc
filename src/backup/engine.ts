/**
 * What one database kind does for a backup: dump, restore, checksums, emptiness, a scratch
 * copy. One file per kind beside this one; `engineFor(url)` picks it by the URL's scheme.
 */
import { resolve } from "node:path";
import { UsageError } from "../core/errors.js";
import type { TableChecksum } from "./table-checksums.js";

/** The database kinds lockstep backs up. */
export type BackupKind = "sqlite" | "postgres" | "mysql" | "mongodb";

/** How a backup file was made, so `restore` knows how to read it. */
export type BackupFormat = "sqlite-file" | "pg-custom" | "mysql-sql" | "mongo-archive" | "mongo-ejson-gz";

/** Reports how far a dump or restore is (0..1), where the database can say. */
export type ProgressFn = (fraction: number) => void;

/** One database, as backups see it. */
export interface BackupEngine {
  readonly kind: BackupKind;
  /** The file name extension of its backups (`.sqlite`, `.pgdump`, `.sql`, `.ejson.gz`). */
  readonly extension: string;
  /** A short name for the database, used in backup file names. */
  readonly name: string;
  /** e.g. "PostgreSQL 15.20"; never throws. */
  serverVersion(): Promise<string>;
  /** Row counts and checksums of every user table/collection (lockstep's lease and instances left out). */
  checksums(): Promise<TableChecksum[]>;
  /** True when the database holds no table or collection (or does not exist yet). */
  isEmpty(): Promise<boolean>;
  /** Writes the backup to `file`; returns the format and the tool used. */
  dump(file: string, progress?: ProgressFn): Promise<{ format: BackupFormat; tool: string }>;
  /** Loads `file` into this database (empty, or wiped first with `wipe`). */
  restore(file: string, format: BackupFormat): Promise<void>;
  /** Drops every table/collection (restore --force). */
  wipe(): Promise<void>;
  /** A new, empty scratch database beside this one, and how to drop it. */
  scratch(): Promise<{ engine: BackupEngine; drop(): Promise<void> }>;
  /** The native command that restores `file` by hand, with no secret in it. */
  nativeRestoreCommand(file: string, format: BackupFormat): string;
}

/** The kind a database URL names, or null. */
export function kindOf(url: string): BackupKind | null {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === "sqlite" || (scheme === undefined && /\.(db|sqlite3?)$/i.test(url))) return "sqlite";
  if (scheme === "postgres" || scheme === "postgresql") return "postgres";
  if (scheme === "mysql" || scheme === "mariadb") return "mysql";
  if (scheme === "mongodb" || scheme === "mongodb+srv") return "mongodb";
  return null;
}

/** The backup engine for a database URL; relative SQLite paths resolve against `baseDir`. */
export async function engineFor(url: string, baseDir: string): Promise<BackupEngine> {
  switch (kindOf(url)) {
    case "sqlite": {
      const { SqliteBackup } = await import("./sqlite-backup.js");
      const path = url.replace(/^sqlite:/i, "").replace(/^\/\/(?=\/)/, "");
      return new SqliteBackup(resolve(baseDir, path));
    }
    case "postgres": {
      const { PostgresBackup } = await import("./postgres-backup.js");
      return new PostgresBackup(url);
    }
    case "mysql": {
      const { MysqlBackup } = await import("./mysql-backup.js");
      return new MysqlBackup(url);
    }
    case "mongodb": {
      const { MongoBackup } = await import("./mongodb-backup.js");
      return new MongoBackup(url);
    }
    default:
      throw new UsageError("E_BACKUP_NEEDS_URL", "backups need the database as a URL lockstep knows", {
        hint: "give the database as sqlite:, postgres://, mysql:// or mongodb:// (in the config or --database URL)",
      });
  }
}

/** lockstep's tables/collections whose rows change without an upgrade: left out of checksums. */
export const VOLATILE_TABLES: readonly string[] = [
  "lockstep_lease",
  "lockstep_instances",
  "lockstep_transaction_probe__",
];

/** A random suffix for scratch databases and backup ids. */
export function randomSuffix(): string {
  return Math.random().toString(36).slice(2, 10);
}

/** Runs `fn` on the open connection `conn`, then ends it (a failed end ignored). */
export async function usingConnection<C, T>(
  conn: C,
  end: (c: C) => Promise<unknown>,
  fn: (c: C) => Promise<T>,
): Promise<T> {
  try {
    return await fn(conn);
  } finally {
    await end(conn).catch(() => undefined);
  }
}
