/**
 * The run record: every fleet `upgrade`/`init` writes `<runs dir>/<id>.json` (0600) as it goes,
 * after each target, so `upgrade --resume <id>` knows what failed or never started. It holds
 * target names and redacted URLs, never a credential.
 */
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { LockstepError } from "../core/errors.js";
import type { TargetResult } from "./target-result.js";
import type { TargetSource } from "./targets.js";

/** What a run record holds. */
export interface RunRecord {
  readonly id: string;
  readonly command: "upgrade" | "init";
  readonly appVersion: string;
  readonly startedAt: string;
  /** Null while the run goes on (or when it died). */
  readonly finishedAt: string | null;
  readonly source: TargetSource;
  /** The folder the run ran in: a relative --targets path or glob is read from there again on resume. */
  readonly cwd?: string;
  /** The rollout and command options the run was given. */
  readonly options: Readonly<Record<string, unknown>>;
  /** The run this one resumed. */
  readonly resumes?: string;
  /** One per finished target while it runs; one per target at the end. */
  readonly results: readonly TargetResult[];
}

/** The folder run records go to, unless the config or LOCKSTEP_RUNS_DIR says otherwise. */
export const DEFAULT_RUNS_DIR = ".lockstep/runs";

/**
 * A new, sortable run id: `20261126-051500-ab12cd34` (UTC). Four random bytes: runs started in
 * the same second (a CI matrix) pick one id in 2^32; `createRunRecord` re-picks on a clash.
 */
export function newRunId(now: Date = new Date()): string {
  const iso = now.toISOString();
  const date = iso.slice(0, 10).replaceAll("-", "");
  const time = iso.slice(11, 19).replaceAll(":", "");
  return `${date}-${time}-${randomBytes(4).toString("hex")}`;
}

/** How many ids `createRunRecord` tries before it gives up. */
const ID_ATTEMPTS = 10;

/**
 * Creates a new run's record under an id no other run has: the complete file is linked into
 * place, which fails if that id's record exists, so two runs never share (and overwrite) one.
 * Returns the record as written and its path.
 */
export function createRunRecord(
  dir: string,
  record: Omit<RunRecord, "id">,
  nextId: () => string = newRunId,
): { record: RunRecord; path: string } {
  for (let attempt = 0; attempt < ID_ATTEMPTS; attempt++) {
    const created = { id: nextId(), ...record } as RunRecord;
    const path = join(dir, `${created.id}.json`);
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      if (placeExclusively(path, `${JSON.stringify(created, null, 2)}\n`)) return { record: created, path };
    } catch (error) {
      throw recordError(path, error);
    }
  }
  // 2^32 ids a second: only a broken id source gets here.
  throw new Error(`no free run id in ${dir} after ${ID_ATTEMPTS} tries`);
}

/** Where run records live: LOCKSTEP_RUNS_DIR, else the config's `runsDir`, else `.lockstep/runs` in the cwd. */
export function runsDirOf(
  cwd: string,
  env: Readonly<Record<string, string | undefined>>,
  configured?: string,
): string {
  const fromEnv = env.LOCKSTEP_RUNS_DIR;
  if (fromEnv !== undefined && fromEnv !== "") return resolve(cwd, fromEnv);
  return configured ?? resolve(cwd, DEFAULT_RUNS_DIR);
}

/**
 * Writes `text` to `path` unless a file is there (false then). Linked from a complete
 * temporary file, so a reader never sees half of it; where the filesystem has no hard links,
 * created with O_EXCL instead.
 */
function placeExclusively(path: string, text: string): boolean {
  const temporary = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  writeFileSync(temporary, text, { mode: 0o600 });
  try {
    chmodSync(temporary, 0o600);
    try {
      linkSync(temporary, path);
    } catch (error) {
      if (!NO_LINKS.has((error as NodeJS.ErrnoException).code ?? "")) throw error;
      writeFileSync(path, text, { mode: 0o600, flag: "wx" });
    }
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  } finally {
    rmSync(temporary, { force: true });
  }
}

/** What `link` fails with on a filesystem without hard links. */
const NO_LINKS = new Set(["EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS"]);

/**
 * Writes a created record again (0600, replaced whole so a reader never sees half of it); returns its path.
 * A folder that cannot hold it (a file, under a file, read-only, gone) is E_RUN_RECORD.
 */
export function writeRunRecord(dir: string, record: RunRecord): string {
  const path = join(dir, `${record.id}.json`);
  const temporary = `${path}.tmp`;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(temporary, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
    chmodSync(temporary, 0o600);
    renameSync(temporary, path);
  } catch (error) {
    throw recordError(path, error);
  }
  return path;
}

/** E_RUN_RECORD: the runs folder cannot hold the record. */
function recordError(path: string, error: unknown): LockstepError {
  const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
  return new LockstepError("E_RUN_RECORD", `cannot write the run record ${path} (${reason})`, {
    cause: error,
    hint: "set `runsDir` in the config or LOCKSTEP_RUNS_DIR to a writable folder (run records go to .lockstep/runs in the cwd by default)",
  });
}

/** Reads run `id`'s record; E_RUN_NOT_FOUND (naming recent runs) when there is none. */
export function readRunRecord(dir: string, id: string): RunRecord {
  const path = join(dir, `${id}.json`);
  let text: string | undefined;
  if (/^[\w.-]+$/.test(id)) {
    try {
      text = readFileSync(path, "utf8");
    } catch {
      text = undefined;
    }
  }
  if (text === undefined) {
    const recent = recentRunIds(dir);
    throw new LockstepError("E_RUN_NOT_FOUND", `no fleet run ${JSON.stringify(id)} in ${dir}`, {
      hint:
        recent.length > 0
          ? `recent runs: ${recent.join(", ")} (\`lockstep upgrade --resume <id>\`)`
          : `no run record in ${dir}: run \`lockstep upgrade --targets …\` from the folder it ran in (or set LOCKSTEP_RUNS_DIR)`,
    });
  }
  try {
    return JSON.parse(text) as RunRecord;
  } catch (error) {
    throw new LockstepError("E_RUN_NOT_FOUND", `the run record ${path} is not JSON`, {
      cause: error,
      hint: "it was edited or cut short: run the upgrade again with --targets",
    });
  }
}

/** The newest run ids in `dir`, newest first. */
export function recentRunIds(dir: string, count = 5): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith(".json"))
      .map((f) => f.slice(0, -".json".length))
      .sort()
      .reverse()
      .slice(0, count);
  } catch {
    return [];
  }
}
