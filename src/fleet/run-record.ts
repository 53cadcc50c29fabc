/**
 * The run record: every fleet `upgrade`/`init` writes `<runs dir>/<id>.json` (0600) as it goes,
 * after each target, so `upgrade --resume <id>` knows what failed or never started. It holds
 * target names and redacted URLs, never a credential.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
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
  /** The rollout and command options the run was given. */
  readonly options: Readonly<Record<string, unknown>>;
  /** The run this one resumed. */
  readonly resumes?: string;
  /** One per finished target while it runs; one per target at the end. */
  readonly results: readonly TargetResult[];
}

/** The folder run records go to, unless the config or LOCKSTEP_RUNS_DIR says otherwise. */
export const DEFAULT_RUNS_DIR = ".lockstep/runs";

/** A new, sortable run id: `20261126-051500-ab12` (UTC). */
export function newRunId(now: Date = new Date()): string {
  const iso = now.toISOString();
  const date = iso.slice(0, 10).replaceAll("-", "");
  const time = iso.slice(11, 19).replaceAll(":", "");
  return `${date}-${time}-${randomBytes(2).toString("hex")}`;
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
 * Writes the record (0600, replaced whole so a reader never sees half of it); returns its path.
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
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new LockstepError("E_RUN_RECORD", `cannot write the run record ${path} (${reason})`, {
      cause: error,
      hint: "set `runsDir` in the config or LOCKSTEP_RUNS_DIR to a writable folder (run records go to .lockstep/runs in the cwd by default)",
    });
  }
  return path;
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
