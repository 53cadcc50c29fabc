/** Proves a backup: restore it into a new scratch database, compare the checksums, drop the scratch. */
import { LockstepError } from "../core/errors.js";
import type { BackupEngine } from "./engine.js";
import type { BackupManifest } from "./manifest.js";
import { type ChecksumDifference, compareChecksums } from "./table-checksums.js";

/** Restores `manifest`'s file into a scratch copy beside `engine`'s database; E_RESTORE_MISMATCH when it differs. */
export async function verifyInScratch(engine: BackupEngine, manifest: BackupManifest): Promise<void> {
  const scratch = await engine.scratch();
  try {
    await restoreInto(scratch.engine, manifest);
    throwOnDifferences(manifest, compareChecksums(manifest.tables, await scratch.engine.checksums()));
  } finally {
    await scratch.drop();
  }
}

/** Loads the backup into `engine` (MongoDB archives are told which database they came from). */
export async function restoreInto(engine: BackupEngine, manifest: BackupManifest): Promise<void> {
  if ("sourceDatabase" in engine)
    (engine as { sourceDatabase: string | null }).sourceDatabase = manifest.databaseName;
  await engine.restore(manifest.file, manifest.format);
}

/** E_RESTORE_MISMATCH naming the tables that differ. */
export function throwOnDifferences(
  manifest: BackupManifest,
  differences: readonly ChecksumDifference[],
): void {
  if (differences.length === 0) return;
  const list = differences
    .slice(0, 5)
    .map((d) => `${d.name} (rows ${d.expected?.rows ?? "none"} expected, ${d.actual?.rows ?? "none"} found)`)
    .join(", ");
  throw new LockstepError(
    "E_RESTORE_MISMATCH",
    `the restored data differs from backup ${manifest.id}: ${list}${differences.length > 5 ? ", …" : ""}`,
    {
      hint: "the backup may have been taken while the app wrote; take a backup with the app stopped, or restore another one",
    },
  );
}
