/** Backups before an upgrade and restores proven by checksums (the CLI's `backup`, `restore`, `upgrade --backup`). */
export { type BackupEngine, type BackupKind, engineFor, kindOf } from "./engine.js";
export { type BackupManifest, readManifest, sha256File } from "./manifest.js";
export { type RestoreBackupOptions, type RestoreOutcome, restoreBackup } from "./restore-backup.js";
export type { TableChecksum } from "./table-checksums.js";
export { type BackupOutcome, DEFAULT_BACKUP_DIR, type TakeBackupOptions, takeBackup } from "./take-backup.js";
