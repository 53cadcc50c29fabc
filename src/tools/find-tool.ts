/**
 * External tools lockstep runs (dump, restore and client programs): finding one on PATH, and
 * the error for a missing one, naming the Debian package that installs it.
 */
import { spawnSync } from "node:child_process";
import { LockstepError, type LockstepErrorCode } from "../core/errors.js";

/** A tool lockstep runs, and where to get it. */
export interface ToolSpec {
  /** Names tried in order (`mariadb-dump`, then `mysqldump`). */
  readonly names: readonly string[];
  /** The Debian package that installs it, for the hint. */
  readonly debianPackage: string;
}

/** The first of `names` on PATH (it answers `--version`), or null. */
export function findTool(names: readonly string[], env: NodeJS.ProcessEnv): string | null {
  for (const name of names) {
    const found = spawnSync(name, ["--version"], { env, stdio: "ignore" });
    if (found.error === undefined && found.status === 0) return name;
  }
  return null;
}

/** How a command reports a missing tool: its own error code, why it needs the tool, the fix. */
export interface MissingToolError {
  /** The command's documented code (E_BACKUP_TOOL_MISSING, E_REHEARSAL_COPY). */
  readonly code: LockstepErrorCode;
  /** Why lockstep needs it, after "… is not on PATH: ". */
  readonly why: string;
  /** The hint, given the Debian package. */
  readonly hint: (debianPackage: string) => string;
  /** The error class; LockstepError unless given. */
  readonly make?: (code: LockstepErrorCode, message: string, hint: string) => LockstepError;
}

/** `names` are not on PATH: the caller's code, naming the package that has them. */
export function toolMissing(spec: ToolSpec, how: MissingToolError): LockstepError {
  const message = `${spec.names.join(" or ")} is not on PATH: ${how.why}`;
  const hint = how.hint(spec.debianPackage);
  return how.make ? how.make(how.code, message, hint) : new LockstepError(how.code, message, { hint });
}
