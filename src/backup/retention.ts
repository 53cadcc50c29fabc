/**
 * Bounded disk: the manifests already in a backup folder, the free-space check against the
 * last backup's size, `keep: N` per database, and the no-duplicate rule for one (stamp, target).
 */
import { readdirSync, rmSync, statfsSync } from "node:fs";
import { join } from "node:path";
import { noSpace } from "./backup-tool.js";
import { type BackupManifest, fileMatches, MANIFEST_SUFFIX, readManifest } from "./manifest.js";
import { compareChecksums, type TableChecksum } from "./table-checksums.js";

/** Free space needed beyond the last backup's size. */
export const FREE_SPACE_FACTOR = 1.2;

/** Every readable manifest in `dir` for `database` (its redacted URL), oldest first. */
export function manifestsFor(dir: string, database: string): { path: string; manifest: BackupManifest }[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith(MANIFEST_SUFFIX));
  } catch {
    return [];
  }
  const out: { path: string; manifest: BackupManifest }[] = [];
  for (const name of names) {
    try {
      const manifest = readManifest(join(dir, name));
      if (manifest.database === database) out.push({ path: join(dir, name), manifest });
    } catch {
      // Not ours or damaged: never pruned, never reused.
    }
  }
  return out.sort((a, b) => a.manifest.startedAt.localeCompare(b.manifest.startedAt));
}

/**
 * E_BACKUP_NO_SPACE when `dir`'s filesystem has less free space than the last backup of this
 * database took, times {@link FREE_SPACE_FACTOR}.
 */
export function checkFreeSpace(dir: string, previous: readonly { manifest: BackupManifest }[]): void {
  const last = previous.at(-1)?.manifest;
  if (last === undefined) return;
  const stats = statfsSync(dir);
  const free = Number(stats.bavail) * Number(stats.bsize);
  const needed = Math.ceil(last.bytes * FREE_SPACE_FACTOR);
  if (free < needed) {
    throw noSpace(
      `${dir} has ${free} bytes free; the last backup of this database took ${last.bytes} (${needed} needed with a margin)`,
    );
  }
}

/**
 * lockstep's own tables change at every attempt (a history entry, the floor row rewritten and
 * put back around a failed step) without any change of the app's data; the stamp is compared
 * on its own.
 */
const OWN_TABLE = /(^|\.)lockstep_[a-z_]+$/;

/** The app's data is as `manifest` recorded it (lockstep's own tables aside). */
function sameData(manifest: BackupManifest, now: readonly TableChecksum[]): boolean {
  const app = (tables: readonly TableChecksum[]) => tables.filter((t) => !OWN_TABLE.test(t.name));
  return compareChecksums(app(manifest.tables), app(now)).length === 0;
}

/**
 * A backup of the same database at the same stamp for the same target whose file still
 * matches its sha256 and whose data is still the database's (`now`, its checksums): a
 * crash-looping `upgrade --backup` reuses it instead of taking another. Once the app wrote
 * since, restoring it would lose those writes: a new one is taken.
 */
export async function reusableBackup(
  previous: readonly { manifest: BackupManifest }[],
  stamp: string | null,
  target: string | null,
  now: readonly TableChecksum[],
): Promise<BackupManifest | null> {
  if (target === null) return null;
  for (const { manifest } of [...previous].reverse()) {
    if (manifest.stampBefore !== stamp || manifest.target !== target) continue;
    if (manifest.verified?.ok === false || !sameData(manifest, now)) continue;
    if (await fileMatches(manifest)) return manifest;
  }
  return null;
}

/** Removes the oldest backups of this database beyond `keep`; returns the manifests removed. */
export function prune(dir: string, database: string, keep: number): string[] {
  const all = manifestsFor(dir, database);
  const removed: string[] = [];
  for (const { path, manifest } of all.slice(0, Math.max(0, all.length - keep))) {
    rmSync(manifest.file, { force: true });
    rmSync(path, { force: true });
    removed.push(path);
  }
  return removed;
}
