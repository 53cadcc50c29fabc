/**
 * The manifest beside every backup: what the file is, where it came from and how to restore
 * it. Written 0600 (it names hosts and users), read back and checked before a restore.
 */
import { createHash } from "node:crypto";
import { createReadStream, readFileSync, statSync, writeFileSync } from "node:fs";
import { LockstepError } from "../core/errors.js";
import type { BackupFormat, BackupKind } from "./engine.js";
import type { TableChecksum } from "./table-checksums.js";

/** The manifest file's name ends with this. */
export const MANIFEST_SUFFIX = ".manifest.json";

/** Everything lockstep knows about one backup. */
export interface BackupManifest {
  readonly manifestVersion: 1;
  /** Unique; the history entry `backup` carries it. */
  readonly id: string;
  /** The backup file's absolute path. */
  readonly file: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly kind: BackupKind;
  readonly format: BackupFormat;
  /** The tool that wrote it (`pg_dump -Fc`, `better-sqlite3 online backup API`). */
  readonly tool: string;
  readonly server: string;
  /** The database's URL with its password redacted. */
  readonly database: string;
  /** The database's name (MongoDB archives restore from it). */
  readonly databaseName: string;
  readonly stampBefore: string | null;
  /** The release the upgrade that took it was going to (null for `lockstep backup`). */
  readonly target: string | null;
  readonly lockstepVersion: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  /** Per table/collection row counts and checksums at backup time. */
  readonly tables: readonly TableChecksum[];
  /** Restored into a scratch database and compared (`backup --verify`), when it was. */
  readonly verified: { readonly at: string; readonly ok: boolean } | null;
  /** The commands that restore it: lockstep's, and the database's own. */
  readonly restore: { readonly lockstep: string; readonly native: string };
}

/** Writes the manifest, readable by its owner only. */
export function writeManifest(path: string, manifest: BackupManifest): void {
  writeFileSync(path, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
}

/** Reads and checks a manifest; E_MANIFEST_INVALID naming what is wrong. */
export function readManifest(path: string): BackupManifest {
  let value: Partial<BackupManifest>;
  try {
    value = JSON.parse(readFileSync(path, "utf8")) as Partial<BackupManifest>;
  } catch (error) {
    throw invalid(path, (error as Error).message, error);
  }
  if (value === null || typeof value !== "object" || value.manifestVersion !== 1) {
    throw invalid(path, "not a lockstep backup manifest (manifestVersion 1)");
  }
  for (const key of ["id", "file", "sha256", "kind", "format", "databaseName"] as const) {
    if (typeof value[key] !== "string") throw invalid(path, `"${key}" is missing`);
  }
  if (!Array.isArray(value.tables)) throw invalid(path, `"tables" is missing`);
  return value as BackupManifest;
}

/** The sha256 of a file, streamed. */
export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(path)
      .on("data", (d) => hash.update(d))
      .on("error", reject)
      .on("end", () => resolve(hash.digest("hex")));
  });
}

/** Whether the manifest's file is there with its recorded size and sha256. */
export async function fileMatches(manifest: BackupManifest): Promise<boolean> {
  try {
    if (statSync(manifest.file).size !== manifest.bytes) return false;
    return (await sha256File(manifest.file)) === manifest.sha256;
  } catch {
    return false;
  }
}

/** Fails with E_BACKUP_CORRUPT unless the manifest's file has its recorded sha256. */
export async function assertFileMatches(manifest: BackupManifest): Promise<void> {
  if (await fileMatches(manifest)) return;
  throw new LockstepError(
    "E_BACKUP_CORRUPT",
    `backup ${manifest.file} is missing or does not match its manifest (bytes ${manifest.bytes}, sha256 ${manifest.sha256.slice(0, 12)}…)`,
    { hint: "restore another backup (`ls` the backup folder for its manifests); this one cannot be trusted" },
  );
}

function invalid(path: string, why: string, cause?: unknown): LockstepError {
  return new LockstepError("E_MANIFEST_INVALID", `${path}: ${why}`, {
    ...(cause !== undefined && { cause }),
    hint: "give the *.manifest.json written beside the backup, unchanged",
  });
}
