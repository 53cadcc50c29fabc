/**
 * Runs a database's own dump or restore tool (src/tools/run-tool.ts) with backup's error codes:
 * E_BACKUP_TOOL_MISSING, E_BACKUP_FAILED / E_RESTORE_FAILED, and a full disk as E_BACKUP_NO_SPACE.
 */
import { LockstepError } from "../core/errors.js";
import type { MissingToolError, ToolSpec } from "../tools/find-tool.js";
import { runTool, type ToolFailure } from "../tools/run-tool.js";

export type { ToolSpec } from "../tools/find-tool.js";

/** Options of {@link runBackupTool}. */
export interface BackupToolOptions {
  readonly args: readonly string[];
  /** Added to the environment: PGPASSWORD, MYSQL_PWD. */
  readonly env?: Readonly<Record<string, string>>;
  /** A file piped into the tool's stdin. */
  readonly stdinFile?: string;
  /** Secrets to scrub from the tool's messages. */
  readonly secrets?: readonly string[];
  /** Backup or restore, for the error code. */
  readonly purpose: "backup" | "restore";
}

/** Runs the first of `spec.names` found on PATH; resolves with the name used. */
export function runBackupTool(spec: ToolSpec, options: BackupToolOptions): Promise<string> {
  const { purpose, ...run } = options;
  return runTool(spec, {
    ...run,
    missing: backupToolMissing(purpose),
    failed: (failure) => toolFailed(failure, purpose),
  });
}

/** E_BACKUP_TOOL_MISSING, naming the package and the way around it. */
function backupToolMissing(purpose: "backup" | "restore"): MissingToolError {
  return {
    code: "E_BACKUP_TOOL_MISSING",
    why: `lockstep needs it to ${purpose === "backup" ? "back up" : "restore"} this database`,
    hint: (pkg) =>
      `install it (Debian/Ubuntu: \`apt-get install ${pkg}\`), or run the upgrade without --backup (and no backup in the config) after taking a backup your own way`,
  };
}

function toolFailed(failure: ToolFailure, purpose: "backup" | "restore"): LockstepError {
  const { name, code, signal, stderr, tail } = failure;
  const how = signal ? `was killed by ${signal}` : `exited with ${code}`;
  const message = `${name} ${how}${stderr ? `: ${tail}` : ""}`;
  if (signal === "SIGXFSZ" || /No space left|File too large/i.test(stderr)) return noSpace(message);
  return new LockstepError(purpose === "backup" ? "E_BACKUP_FAILED" : "E_RESTORE_FAILED", message, {
    hint:
      purpose === "backup"
        ? "fix the cause above and rerun; nothing was written to the database"
        : "fix the cause above, then restore again into an empty database (or the same one with --force)",
  });
}

/** E_BACKUP_NO_SPACE: the disk (or a file size limit) stopped the backup. */
export function noSpace(message: string, cause?: unknown): LockstepError {
  return new LockstepError("E_BACKUP_NO_SPACE", message, {
    ...(cause !== undefined && { cause }),
    hint: "free space where backups go (or lower `keep` in the config's backup), or pass --backup=DIR on a larger disk; nothing was written to the database",
  });
}
