/**
 * One backup, fail-safe: the folder is writable and has room, the dump is complete and not
 * empty, its sha256 is recorded with the table checksums in a 0600 manifest beside it; an
 * optional restore into a scratch database proves it; the oldest beyond `keep` are pruned.
 */
import { accessSync, chmodSync, closeSync, constants, mkdirSync, openSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { redactUrl } from "../adapters/url.js";
import { LockstepError } from "../core/errors.js";
import { LOCKSTEP_VERSION } from "../version.js";
import { noSpace } from "./backup-tool.js";
import { type BackupEngine, engineFor, type ProgressFn, randomSuffix } from "./engine.js";
import { type BackupManifest, MANIFEST_SUFFIX, sha256File, writeManifest } from "./manifest.js";
import { checkFreeSpace, manifestsFor, prune, reusableBackup } from "./retention.js";
import { verifyInScratch } from "./verify-backup.js";

/** Default folder for backups, relative to the config's folder. */
export const DEFAULT_BACKUP_DIR = "backups";

/** Options of {@link takeBackup}. */
export interface TakeBackupOptions {
  /** The database URL (with its password: it goes to the tools through their environment only). */
  readonly url: string;
  /** Relative SQLite paths resolve against it. */
  readonly baseDir: string;
  /** The backup folder (created 0700 when missing). */
  readonly dir: string;
  readonly stamp: string | null;
  /** The release an upgrade is going to; null for a plain `lockstep backup`. */
  readonly target: string | null;
  /** Keep this many backups of this database in `dir`, removing the oldest. */
  readonly keep?: number | undefined;
  /** Restore into a scratch database and compare before calling it done. */
  readonly verify?: boolean | undefined;
  /** Progress of the dump (0..1), where the database reports it. */
  readonly progress?: ProgressFn | undefined;
}

/** What {@link takeBackup} did. */
export interface BackupOutcome {
  readonly manifest: BackupManifest;
  readonly manifestPath: string;
  /** An earlier backup of the same (stamp, target) was reused: none was taken. */
  readonly reused: boolean;
  /** Manifests removed by `keep`. */
  readonly pruned: readonly string[];
}

/** Takes one backup (or reuses the one of the same stamp and target); throws a coded error, never half-done. */
export async function takeBackup(options: TakeBackupOptions): Promise<BackupOutcome> {
  const engine = await engineFor(options.url, options.baseDir);
  const dir = resolve(options.baseDir, options.dir);
  ensureWritable(dir);
  const database = redactUrl(options.url);
  const previous = manifestsFor(dir, database);
  const tables = await engine.checksums();
  const reused = await reusableBackup(previous, options.stamp, options.target, tables);
  if (reused !== null) {
    return {
      manifest: reused,
      manifestPath: `${reused.file.replace(/\.[^/]*$/, "")}${MANIFEST_SUFFIX}`,
      reused: true,
      pruned: [],
    };
  }
  checkFreeSpace(dir, previous);
  const startedAt = new Date();
  const id = `${startedAt.toISOString().replace(/[-:]/g, "").replace(/\.\d+/, "")}-${randomSuffix()}`;
  const base = join(dir, `${safe(engine.name)}-${safe(options.stamp ?? "unstamped")}-${id}`);
  const file = `${base}${engine.extension}`;
  const manifestPath = `${base}${MANIFEST_SUFFIX}`;
  const { format, tool } = await dumpOrClean(engine, file, options.progress);
  const bytes = statSync(file).size;
  const draft: BackupManifest = {
    manifestVersion: 1,
    id,
    file,
    bytes,
    sha256: await sha256File(file),
    kind: engine.kind,
    format,
    tool,
    server: await engine.serverVersion(),
    database,
    databaseName: engine.name,
    stampBefore: options.stamp,
    target: options.target,
    lockstepVersion: LOCKSTEP_VERSION,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    tables,
    verified: null,
    restore: {
      lockstep: `lockstep restore '${manifestPath}' --database '${database}'`,
      native: engine.nativeRestoreCommand(file, format),
    },
  };
  const manifest = options.verify ? { ...draft, verified: await verifyOrClean(engine, draft, file) } : draft;
  writeManifest(manifestPath, manifest);
  const pruned = options.keep !== undefined ? prune(dir, database, options.keep) : [];
  return { manifest, manifestPath, reused: false, pruned };
}

function ensureWritable(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    accessSync(dir, constants.W_OK);
    if (!statSync(dir).isDirectory()) throw new Error("not a folder");
  } catch (error) {
    throw new LockstepError(
      "E_BACKUP_DIR_UNWRITABLE",
      `cannot write backups to ${dir}: ${(error as Error).message}`,
      {
        cause: error,
        hint: "pass --backup=DIR (or --to DIR) naming a folder you can write, or set backup.dir in the config; nothing was written to the database",
      },
    );
  }
}

/** Dumps to `file`; on any failure the partial file is removed. An empty file is a failure. */
async function dumpOrClean(engine: BackupEngine, file: string, progress?: ProgressFn) {
  try {
    // Created 0600 before the tool writes into it: never readable by others, not even mid-dump.
    closeSync(openSync(file, "wx", 0o600));
    const done = await engine.dump(file, progress);
    chmodSync(file, 0o600);
    if (statSync(file).size === 0) {
      throw new LockstepError("E_BACKUP_FAILED", `the backup ${file} is empty`, {
        hint: "check the database and the dump tool's output; nothing was written to the database",
      });
    }
    return done;
  } catch (error) {
    rmSync(file, { force: true });
    const code = (error as NodeJS.ErrnoException).code;
    if (NO_SPACE_CODES.includes(code ?? ""))
      throw noSpace(`no room to write ${file}: ${(error as Error).message}`, error);
    if (error instanceof LockstepError) throw error;
    throw new LockstepError(
      "E_BACKUP_FAILED",
      `backup of ${engine.kind} database failed: ${(error as Error).message}`,
      {
        cause: error,
        hint: "fix the cause above and rerun; nothing was written to the database",
      },
    );
  }
}

async function verifyOrClean(engine: BackupEngine, manifest: BackupManifest, file: string) {
  try {
    await verifyInScratch(engine, manifest);
    return { at: new Date().toISOString(), ok: true };
  } catch (error) {
    rmSync(file, { force: true });
    throw error;
  }
}

/**
 * Errors that mean the backup file could not grow: the disk is full or a file size limit
 * (`ulimit -f`) was hit. SQLite reports the latter as a plain SQLITE_IOERR (its backup only writes the new file).
 */
const NO_SPACE_CODES = ["ENOSPC", "EFBIG", "EDQUOT", "SQLITE_FULL", "SQLITE_IOERR", "SQLITE_IOERR_WRITE"];

function safe(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]+/g, "_");
}
