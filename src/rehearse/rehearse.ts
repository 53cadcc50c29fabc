/**
 * A rehearsal: copy the source database into a scratch one, run `run` (the real upgrade) on
 * the scratch, and drop the scratch whatever happened (a failing step, a stop, an error in
 * the copy). The source is only read.
 */
import { adapterFromUrl } from "../adapters/from-url.js";
import { badUrl, redactUrl, scrub, secretsOf } from "../adapters/url.js";
import { isLockstepError, LockstepError } from "../core/errors.js";
import { mongodbScratch } from "./mongodb-scratch.js";
import { mysqlScratch } from "./mysql-scratch.js";
import { postgresScratch } from "./postgres-scratch.js";
import { copyError, type ProgressListener, type ScratchRequest, type ScratchTarget } from "./scratch.js";
import { sqliteScratch } from "./sqlite-scratch.js";

export type { PhaseProgress, ProgressListener, ScratchTarget } from "./scratch.js";

/** Options of {@link rehearse}. */
export interface RehearsalOptions<T> extends ScratchRequest {
  /** A `--scratch` file path resolves against this folder. */
  readonly cwd: string;
  /** The environment the dump tools run with (PATH; PGPASSWORD/MYSQL_PWD are added per call). */
  readonly env: NodeJS.ProcessEnv;
  /** Stops the copy (the run watches it itself); the scratch is still dropped. */
  readonly signal?: AbortSignal;
  readonly onProgress?: ProgressListener;
  /** Called once the scratch is chosen and checked, before anything is created. */
  readonly onScratch?: (target: ScratchTarget) => void;
  /** The work to rehearse, given the scratch's URL. */
  run(scratchUrl: string): Promise<T>;
}

/** What a rehearsal did, phase by phase. */
export interface Rehearsal<T> {
  readonly kind: string;
  readonly scratch: string;
  /** How the copy was made. */
  readonly method: string;
  readonly copyMs: number;
  /** The run's value, or what it threw. */
  readonly outcome:
    | { readonly ok: true; readonly value: T }
    | { readonly ok: false; readonly error: unknown };
  readonly dropMs: number;
  /** Why the scratch could not be dropped (it is then left behind: its name is in the report). */
  readonly dropError: unknown;
}

/** Chooses and checks the scratch for `request.source` (nothing is created yet). */
export async function scratchFor(
  request: ScratchRequest & { cwd: string; env: NodeJS.ProcessEnv },
): Promise<ScratchTarget> {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(request.source)?.[1]?.toLowerCase();
  if (scheme === "postgres" || scheme === "postgresql") {
    return postgresScratch(request.source, request.scratch, request.env);
  }
  if (scheme === "mysql" || scheme === "mariadb")
    return mysqlScratch(request.source, request.scratch, request.env);
  if (scheme === "mongodb" || scheme === "mongodb+srv")
    return mongodbScratch(request.source, request.scratch);
  const adapter = await adapterFromUrl(request.source, { baseDir: request.baseDir });
  if (adapter.kind !== "sqlite")
    throw badUrl(request.source, "rehearse does not know this database's scheme");
  const { filename } = adapter as unknown as { filename: string };
  if (filename === ":memory:" || filename.endsWith("/:memory:")) {
    throw new LockstepError("E_REHEARSAL_UNSUPPORTED", "an in-memory SQLite database cannot be rehearsed", {
      hint: "rehearse a database file",
    });
  }
  return sqliteScratch(filename, request.cwd, request.scratch, request.tmpDir);
}

/**
 * Copies, runs, drops. A failed copy is thrown after the drop; the run's failure is returned
 * in `outcome`, so the report still lists what ran.
 */
export async function rehearse<T>(options: RehearsalOptions<T>): Promise<Rehearsal<T>> {
  const target = await scratchFor(options).catch((error: unknown) => {
    throw coded(error, options.source);
  });
  options.onScratch?.(target);
  const signal = options.signal ?? new AbortController().signal;
  const progress = options.onProgress ?? (() => undefined);
  const started = Date.now();
  let method: string;
  try {
    progress({ phase: "copy", done: 0, total: null, unit: "" });
    method = await target.copy(signal, progress);
  } catch (error) {
    const { dropError } = await dropScratch(target, progress);
    if (dropError !== null) throw dropFailed(target.name, dropError);
    throw coded(error, options.source);
  }
  const copyMs = Date.now() - started;
  let outcome: Rehearsal<T>["outcome"];
  try {
    outcome = { ok: true, value: await options.run(target.url) };
  } catch (error) {
    outcome = { ok: false, error };
  }
  const dropped = await dropScratch(target, progress);
  return { kind: target.kind, scratch: target.name, method, copyMs, outcome, ...dropped };
}

/** E_REHEARSAL_DROP: the scratch is left behind, named so it can be dropped by hand. */
export function dropFailed(name: string, cause: unknown): LockstepError {
  return new LockstepError(
    "E_REHEARSAL_DROP",
    `the rehearsal could not drop its scratch ${name}: ${(cause as Error)?.message ?? String(cause)}`,
    { cause, hint: `drop ${name} by hand (it is a copy: the source was not touched)` },
  );
}

/** A driver's error while preparing or filling the scratch, as E_REHEARSAL_COPY (no secret in it). */
function coded(error: unknown, source: string): unknown {
  if (isLockstepError(error)) return error;
  const message = scrub((error as Error)?.message ?? String(error), secretsOf(source));
  return copyError(
    `cannot copy ${redactUrl(source)} into a scratch database: ${message}`,
    "check that the server is reachable and that the URL's user may create and drop databases; the source was not touched",
    error,
  );
}

async function dropScratch(
  target: ScratchTarget,
  progress: ProgressListener,
): Promise<{ dropMs: number; dropError: unknown }> {
  const started = Date.now();
  progress({ phase: "drop", done: 0, total: 1, unit: "scratch" });
  let dropError: unknown = null;
  try {
    await target.drop();
  } catch (error) {
    dropError = error;
  }
  progress({ phase: "drop", done: 1, total: 1, unit: "scratch" });
  return { dropMs: Date.now() - started, dropError };
}
