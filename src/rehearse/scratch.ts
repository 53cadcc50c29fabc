/**
 * What every database's scratch copy offers the rehearsal: where it is, how to fill it from the
 * source (reading the source only), and how to drop it. One file per database beside this one.
 */
import { randomBytes } from "node:crypto";
import { DatabaseError, LockstepError, UpgradeInterruptedError } from "../core/errors.js";
import { stopReason } from "../core/stop-signal.js";
import type { MissingToolError } from "../tools/find-tool.js";
import type { PipeEvents } from "../tools/pipe-tools.js";

/** Progress of one phase of a rehearsal (copy, drop): `done` of `total` `unit`s (total unknown: null). */
export interface PhaseProgress {
  readonly phase: "copy" | "drop";
  readonly done: number;
  readonly total: number | null;
  readonly unit: string;
}

/** Receives {@link PhaseProgress}. */
export type ProgressListener = (progress: PhaseProgress) => void;

/** A scratch database for one rehearsal: checked, not yet created. */
export interface ScratchTarget {
  /** The database kind, as adapters name it. */
  readonly kind: string;
  /** The scratch's URL, for an adapter (holds the source's credentials: never printed). */
  readonly url: string;
  /** The scratch's name as shown (a database, schema or file path). */
  readonly name: string;
  /** Creates the scratch and copies the source into it; returns how ("template", "pg_dump | pg_restore", …). */
  copy(signal: AbortSignal, progress: ProgressListener): Promise<string>;
  /** Drops the scratch if this rehearsal created it (never anything else); safe to call twice. */
  drop(): Promise<void>;
}

/** Where a rehearsal copies from, and what the user asked for. */
export interface ScratchRequest {
  /** The source database URL. */
  readonly source: string;
  /** The folder a relative SQLite path resolves against. */
  readonly baseDir: string;
  /** The scratch's name (`--scratch`): a database/schema name, or an SQLite file path. */
  readonly scratch?: string;
  /** Where a default SQLite scratch file goes. Default: the system's temp folder. */
  readonly tmpDir?: string;
}

/** `<source>_rehearse_<random>`, cut to `max` characters keeping the random part. */
export function defaultScratchName(source: string, max: number): string {
  const suffix = `_rehearse_${randomBytes(4).toString("hex")}`;
  return `${source.slice(0, Math.max(1, max - suffix.length))}${suffix}`;
}

/** E_REHEARSAL_TARGET: the scratch would be the source, or it exists already. */
export function targetError(why: string, hint: string): LockstepError {
  return new LockstepError("E_REHEARSAL_TARGET", `cannot rehearse into that scratch: ${why}`, { hint });
}

/**
 * Refuses a scratch `name` that is the `source` (compared by `same`) or longer than the
 * database allows (`max`); `what` names it ("database", "schema").
 */
export function checkScratchName(
  name: string,
  source: string,
  max: number,
  what: string,
  same: (a: string, b: string) => boolean = (a, b) => a === b,
): void {
  if (same(name, source)) {
    throw targetError(
      `${name} is the source ${what}`,
      `name another ${what} with --scratch, or leave it out`,
    );
  }
  if (name === "" || name.length > max) {
    throw targetError(`a ${what} name must have 1 to ${max} characters`, "use a shorter --scratch");
  }
}

/** The refusal for a scratch that exists: lockstep drops only what it created. */
export function scratchExists(name: string, what: string): LockstepError {
  return targetError(
    `${name} already exists (${what}); lockstep creates the scratch itself and drops only what it created`,
    "name a scratch that does not exist (--scratch NAME), or leave --scratch out for a fresh random name",
  );
}

/** E_REHEARSAL_COPY, with the cause kept. */
export function copyError(message: string, hint: string, cause?: unknown): LockstepError {
  return new DatabaseError("E_REHEARSAL_COPY", message, { hint, ...(cause !== undefined && { cause }) });
}

/** E_REHEARSAL_COPY for a copy tool missing from PATH (src/tools/find-tool.ts names it). */
export const COPY_TOOL_MISSING: MissingToolError = {
  code: "E_REHEARSAL_COPY",
  why: "the rehearsal copies the database with it",
  hint: (pkg) => `install ${pkg} (the version of the server or newer), or put it on PATH`,
  make: (code, message, hint) => new DatabaseError(code, message, { hint }),
};

/** A dump piped into a restore (src/tools/pipe-tools.ts) as a rehearsal's copy: progress, errors. */
export function copyEvents(
  secrets: readonly string[],
  signal: AbortSignal,
  progress: ProgressListener,
): PipeEvents {
  return {
    secrets,
    progress: (bytes, done) =>
      progress({ phase: "copy", done: bytes, total: done ? bytes : null, unit: "bytes" }),
    failed: (program, code, tail) =>
      copyError(
        `${program} failed (exit ${code}) while copying the database: ${tail}`,
        "fix what the tool says (a tool older than the server, a missing privilege), then rehearse again; the scratch was dropped",
      ),
    stopped: () => copyStopped(signal),
  };
}

/** The error a copy stopped by `signal` ends with (exit 130/143 like a stopped upgrade). */
export function copyStopped(signal: AbortSignal): UpgradeInterruptedError {
  const reason = stopReason(signal);
  return new UpgradeInterruptedError(`rehearsal stopped by ${reason} during the copy`, reason);
}

/** Throws {@link copyStopped} when a stop was asked for. */
export function throwIfCopyStopped(signal: AbortSignal): void {
  if (signal.aborted) throw copyStopped(signal);
}

/** Quotes an SQL identifier with `quote` (`"` on PostgreSQL, a backtick on MySQL). */
export function quoteIdent(name: string, quote: '"' | "`"): string {
  return `${quote}${name.replaceAll(quote, quote + quote)}${quote}`;
}
