/**
 * `lockstep restore`: a backup into an empty database (or, forced and confirmed, the same
 * one wiped first), proven by the manifest's per-table counts and checksums.
 */
import { redactUrl, scrub, secretsOf } from "../adapters/url.js";
import { DatabaseError, LockstepError, RefusedError, UsageError } from "../core/errors.js";
import { engineFor } from "./engine.js";
import { assertFileMatches, type BackupManifest, readManifest } from "./manifest.js";
import { compareChecksums } from "./table-checksums.js";
import { restoreInto, throwOnDifferences } from "./verify-backup.js";

/** Options of {@link restoreBackup}. */
export interface RestoreBackupOptions {
  readonly manifestPath: string;
  /** The database restored into. */
  readonly url: string;
  readonly baseDir: string;
  /** Restore into a database that holds data, wiping it first (after `confirm`). */
  readonly force?: boolean;
  /** Called before a forced restore wipes a database that holds data; throws to cancel. */
  readonly confirm?: (database: string) => Promise<void>;
}

/** What {@link restoreBackup} did. */
export interface RestoreOutcome {
  readonly manifest: BackupManifest;
  readonly database: string;
  readonly wiped: boolean;
  readonly tables: number;
  readonly rows: number;
  readonly durationMs: number;
}

/** Restores and verifies; a coded error when the target is not empty, the file is damaged or the data differs. */
export async function restoreBackup(options: RestoreBackupOptions): Promise<RestoreOutcome> {
  const started = Date.now();
  const manifest = readManifest(options.manifestPath);
  await assertFileMatches(manifest);
  const engine = await engineFor(options.url, options.baseDir);
  const database = redactUrl(options.url);
  if (engine.kind !== manifest.kind) {
    throw new UsageError(
      "E_INVALID_OPTION",
      `backup ${manifest.id} is of a ${manifest.kind} database; ${database} is ${engine.kind}`,
      {
        hint: `restore it into a ${manifest.kind} database: --database URL`,
      },
    );
  }
  const wiped = !(await engine
    .isEmpty()
    .catch((error: unknown) => unreachable(error, options.url, database)));
  if (wiped) {
    if (options.force !== true) {
      throw new RefusedError(
        "E_RESTORE_NOT_EMPTY",
        `${database} holds data: lockstep restores into an empty database`,
        {
          hint: "restore into a new, empty database (--database URL), or into this one with --force (it is wiped first)",
        },
      );
    }
    await options.confirm?.(database);
    await engine.wipe();
  }
  await restoreInto(engine, manifest);
  const actual = await engine.checksums();
  throwOnDifferences(manifest, compareChecksums(manifest.tables, actual));
  return {
    manifest,
    database,
    wiped,
    tables: actual.length,
    rows: actual.reduce((n, t) => n + t.rows, 0),
    durationMs: Date.now() - started,
  };
}

/** The database restored into cannot be opened: a coded error, the password scrubbed. */
function unreachable(error: unknown, url: string, database: string): never {
  if (error instanceof LockstepError) throw error;
  throw new DatabaseError(
    "E_DATABASE_UNREACHABLE",
    `cannot open ${database}: ${scrub(String((error as Error)?.message ?? error), secretsOf(url))}`,
    {
      cause: error,
      hint: "create the empty database first (createdb NAME, CREATE DATABASE NAME), check the URL, then restore again",
    },
  );
}
