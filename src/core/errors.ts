/**
 * lockstep's errors: one small hierarchy with stable codes, modelled on the MongoDB
 * driver's `MongoError`. Tests and callers match `code`, never message text. Every
 * message says what happened and the next command to run.
 */

/** Every stable error code lockstep raises. */
export type LockstepErrorCode =
  | "E_INVALID_VERSION"
  | "E_STAMP_INVALID"
  | "E_DUPLICATE_STEP"
  | "E_INVALID_STEP"
  | "E_INVALID_BATCH"
  | "E_CONFIG_NOT_FOUND"
  | "E_CONFIG_INVALID"
  | "E_DATABASE_URL"
  | "E_DATABASE_NOT_FOUND"
  | "E_DATABASE_UNREADABLE"
  | "E_DATABASE_READONLY"
  | "E_DATABASE_UNREACHABLE"
  | "E_DATABASE_AUTH"
  | "E_DRIVER_MISSING"
  | "E_UNINITIALISED"
  | "E_UPGRADE_PENDING"
  | "E_ALREADY_INITIALISED"
  | "E_INIT_BELOW_APPLIED"
  | "E_FROM_VERSION_CONFLICT"
  | "E_AHEAD"
  | "E_OLDER_CODE_RUNNING"
  | "E_DEV_VERSION"
  | "E_LOCK_HELD"
  | "E_LEASE_LOST"
  | "E_INTERRUPTED"
  | "E_NOT_INTERRUPTED"
  | "E_PRECONDITION_FAILED"
  | "E_STEP_FAILED"
  | "E_STORE_WRITE_FAILED"
  | "E_STORE_DAMAGED"
  | "E_CONFIRMATION_REQUIRED"
  | "E_ABORTED"
  | "E_UNSUPPORTED"
  | "E_STEP_FILE_EXISTS"
  | "E_INVALID_OPTION"
  | "E_USAGE"
  | "E_UNSETTLED"
  | "E_INTERRUPTED_BY_SIGNAL"
  | "E_REHEARSAL_TARGET"
  | "E_REHEARSAL_COPY"
  | "E_REHEARSAL_DROP"
  | "E_REHEARSAL_BUDGET"
  | "E_REHEARSAL_UNSUPPORTED"
  | "E_BACKUP_TOOL_MISSING"
  | "E_BACKUP_FAILED"
  | "E_BACKUP_NO_SPACE"
  | "E_BACKUP_DIR_UNWRITABLE"
  | "E_BACKUP_NEEDS_URL"
  | "E_BACKUP_CORRUPT"
  | "E_MANIFEST_INVALID"
  | "E_RESTORE_FAILED"
  | "E_RESTORE_NOT_EMPTY"
  | "E_RESTORE_MISMATCH"
  | "E_TARGETS_INVALID"
  | "E_TARGETS_EMPTY"
  | "E_RUN_NOT_FOUND"
  | "E_RUN_RECORD"
  | "E_INIT_NOT_EMPTY"
  | "E_INIT_BUILDS_SCHEMA";

/** Base class of every error lockstep throws on purpose. */
export class LockstepError extends Error {
  override readonly name: string = "LockstepError";
  readonly code: LockstepErrorCode;
  /** The next thing the operator should do, when there is one. */
  readonly hint: string | undefined;

  constructor(code: LockstepErrorCode, message: string, options: { cause?: unknown; hint?: string } = {}) {
    super(options.hint ? `${message}\n  → ${options.hint}` : message, { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
  }
}

/** A version string that is not semver (optionally with a leading `v`). */
export class InvalidVersionError extends LockstepError {
  override readonly name = "InvalidVersionError";
  constructor(
    readonly value: string,
    readonly source: string,
  ) {
    super("E_INVALID_VERSION", `invalid version ${JSON.stringify(value)} in ${source}`, {
      hint: 'use a semantic version such as "1.2.0" (a leading "v" is accepted)',
    });
  }
}

/**
 * The database's stamp is not a version lockstep can read (garbage, a number, a PEP 440
 * epoch): `init --version X --force` overwrites it.
 */
export class StampInvalidError extends LockstepError {
  override readonly name = "StampInvalidError";
  constructor(
    readonly raw: unknown,
    readonly location: string,
  ) {
    super(
      "E_STAMP_INVALID",
      `the database's stamp ${describeRaw(raw)} in ${location} is not a version lockstep can read`,
      {
        hint: "find the release this database is in the format of, then `lockstep init --version X.Y.Z --force` rewrites the stamp",
      },
    );
  }
}

function describeRaw(raw: unknown): string {
  return typeof raw === "string" ? JSON.stringify(raw) : `${String(raw)} (a ${typeof raw}, not a string)`;
}

/** Two registered steps with the same identity (version + name), or a malformed step. */
export class StepDefinitionError extends LockstepError {
  override readonly name = "StepDefinitionError";
}

/** The configuration is missing, fails to load, or is not valid. */
export class ConfigError extends LockstepError {
  override readonly name = "ConfigError";
}

/** A caller passed an option lockstep does not know or accept (library options, CLI flags). */
export class UsageError extends LockstepError {
  override readonly name = "UsageError";
}

/** The database cannot be opened, reached or understood. */
export class DatabaseError extends LockstepError {
  override readonly name = "DatabaseError";
}

/** The database's state forbids the requested action (uninitialised, ahead, interrupted...). */
export class RefusedError extends LockstepError {
  override readonly name = "RefusedError";
}

/** Another upgrader holds the lease, or ours was taken over. */
export class LeaseError extends LockstepError {
  override readonly name = "LeaseError";
  constructor(
    code: "E_LOCK_HELD" | "E_LEASE_LOST",
    message: string,
    readonly holder: LeaseHolderSummary | undefined,
    options: { cause?: unknown; hint?: string } = {},
  ) {
    super(code, message, options);
  }
}

/** Who holds a lease, as shown in errors. */
export interface LeaseHolderSummary {
  owner: string;
  host: string;
  pid: number;
  expiresAt: string;
}

/** Preconditions of pending steps failed: nothing was applied. */
export class PreconditionError extends LockstepError {
  override readonly name = "PreconditionError";
  constructor(
    message: string,
    readonly failures: readonly PreconditionFailureSummary[],
    options: { hint?: string } = {},
  ) {
    super("E_PRECONDITION_FAILED", message, options);
  }
}

/** One failed precondition, as carried by {@link PreconditionError}. */
export interface PreconditionFailureSummary {
  step: string;
  description: string;
  message: string;
  count?: number;
  skippable: boolean;
}

/** A step threw. Earlier steps stay applied; `results` says which. */
export class StepFailedError extends LockstepError {
  override readonly name = "StepFailedError";
  constructor(
    message: string,
    readonly step: string,
    readonly results: readonly unknown[],
    options: { cause?: unknown; hint?: string } = {},
  ) {
    super("E_STEP_FAILED", message, options);
  }
}

/**
 * A write to lockstep's own store (history, marker, ledger entry, stamp) failed around a
 * step: not the step's fault. `stepBodyRan` says whether the step's own code ran.
 */
export class StoreWriteError extends LockstepError {
  override readonly name = "StoreWriteError";
  constructor(
    message: string,
    readonly step: string,
    readonly stepBodyRan: boolean,
    readonly results: readonly unknown[],
    options: { cause?: unknown; hint?: string } = {},
  ) {
    super("E_STORE_WRITE_FAILED", message, options);
  }
}

/**
 * The upgrade was asked to stop (`UpgradeOptions.signal`; the CLI's SIGINT/SIGTERM) and
 * stopped at a safe point. `signal` is the abort reason ("SIGINT", "SIGTERM", or "abort").
 */
export class UpgradeInterruptedError extends LockstepError {
  override readonly name = "UpgradeInterruptedError";
  constructor(
    message: string,
    readonly signal: string,
    readonly results: readonly unknown[] = [],
    options: { cause?: unknown; hint?: string } = {},
  ) {
    super("E_INTERRUPTED_BY_SIGNAL", message, options);
  }
}

/** The message without the hint glued to it. */
export function summaryOf(error: LockstepError): string {
  return error.message.split("\n  → ")[0] ?? error.message;
}

/** Codes that mean "the database's state forbids this now": the CLI exits 3, a fleet reports `refused`. */
export const REFUSAL_CODES: ReadonlySet<LockstepErrorCode> = new Set<LockstepErrorCode>([
  "E_LOCK_HELD",
  "E_LEASE_LOST",
  "E_INTERRUPTED",
  "E_STORE_DAMAGED",
  "E_STAMP_INVALID",
  "E_AHEAD",
  "E_OLDER_CODE_RUNNING",
  "E_UNINITIALISED",
  "E_UPGRADE_PENDING",
  "E_ALREADY_INITIALISED",
  "E_INIT_BELOW_APPLIED",
  "E_INIT_NOT_EMPTY",
  "E_INIT_BUILDS_SCHEMA",
  "E_FROM_VERSION_CONFLICT",
  "E_RESTORE_NOT_EMPTY",
  "E_PRECONDITION_FAILED",
  "E_DEV_VERSION",
  "E_REHEARSAL_TARGET",
]);

/** True when `error` is a refusal (see {@link REFUSAL_CODES}). */
export function isRefusal(error: unknown): boolean {
  return isLockstepError(error) && REFUSAL_CODES.has(error.code);
}

/** True when `error` is a lockstep error with the given code. */
export function isLockstepError(error: unknown, code?: LockstepErrorCode): error is LockstepError {
  return error instanceof LockstepError && (code === undefined || error.code === code);
}
