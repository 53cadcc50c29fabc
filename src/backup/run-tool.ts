/**
 * Runs a database's own dump or restore tool: secrets only in its environment (never argv,
 * which `ps` shows every user), a missing tool or a full disk as a coded error.
 */
import { spawn } from "node:child_process";
import { createReadStream } from "node:fs";
import { LockstepError } from "../core/errors.js";

/** A tool lockstep runs, and where to get it. */
export interface ToolSpec {
  /** Names tried in order (`mariadb-dump`, then `mysqldump`). */
  readonly names: readonly string[];
  /** The Debian package that installs it, for the hint. */
  readonly debianPackage: string;
}

/** Options of {@link runTool}. */
export interface RunToolOptions {
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
export async function runTool(spec: ToolSpec, options: RunToolOptions): Promise<string> {
  for (const name of spec.names) {
    const outcome = await runOnce(name, options);
    if (outcome === "missing") continue;
    return name;
  }
  throw toolMissing(spec, options.purpose);
}

/** E_BACKUP_TOOL_MISSING, naming the package and the way around it. */
export function toolMissing(spec: ToolSpec, purpose: "backup" | "restore"): LockstepError {
  return new LockstepError(
    "E_BACKUP_TOOL_MISSING",
    `${spec.names.join(" or ")} is not on PATH: lockstep needs it to ${purpose === "backup" ? "back up" : "restore"} this database`,
    {
      hint: `install it (Debian/Ubuntu: \`apt-get install ${spec.debianPackage}\`), or run the upgrade without --backup (and no backup in the config) after taking a backup your own way`,
    },
  );
}

function runOnce(name: string, options: RunToolOptions): Promise<"ok" | "missing"> {
  return new Promise((resolve, reject) => {
    const child = spawn(name, [...options.args], {
      env: { ...process.env, ...options.env },
      stdio: [options.stdinFile ? "pipe" : "ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr?.on("data", (d) => {
      if (stderr.length < 8000) stderr += d;
    });
    if (options.stdinFile && child.stdin) {
      const input = createReadStream(options.stdinFile);
      input.on("error", (error) => child.kill() && reject(error));
      child.stdin.on("error", () => undefined);
      input.pipe(child.stdin);
    }
    child.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") resolve("missing");
      else reject(error);
    });
    child.on("close", (code, signal) => {
      if (code === 0) return resolve("ok");
      reject(toolFailed(name, code, signal, scrubAll(stderr.trim(), options.secrets ?? []), options.purpose));
    });
  });
}

function scrubAll(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s !== "") out = out.split(s).join("***");
  return out;
}

function toolFailed(
  name: string,
  code: number | null,
  signal: NodeJS.Signals | null,
  stderr: string,
  purpose: "backup" | "restore",
): LockstepError {
  const how = signal ? `was killed by ${signal}` : `exited with ${code}`;
  const message = `${name} ${how}${stderr ? `: ${stderr.split("\n").slice(-5).join(" / ")}` : ""}`;
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
