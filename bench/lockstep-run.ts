import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CLI = join(ROOT, "dist/cli/main.js");
const RSS_HOOK = join(ROOT, "bench/report-rss.mjs");
/** The example's own config; the bench's variant only adds a page size (for sweeps). */
const EXAMPLE_CONFIG = join(ROOT, "examples/datalab/lockstep.config.ts");
const VARIANT_CONFIG = join(ROOT, "bench/lockstep.config.ts");

/** Options of {@link runLockstep}. */
export interface LockstepRunOptions {
  readonly url: string;
  /** Rows per page for the 0.2.0 step (through the bench's config); default: the step's own. */
  readonly pageSize?: number;
  /** "set": the example's 0.2.0 step in its set-based form (DATALAB_REWRITE=set, `ctx.batchRanges`). */
  readonly step?: "js" | "set";
  /** Extra flags for node, e.g. `--cpu-prof`. */
  readonly nodeFlags?: readonly string[];
}

/** What one `lockstep` child did. */
export interface LockstepRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Wall-clock time of the whole child process (start-up, config, plan and step). */
  readonly wallMs: number;
  /** The child's own peak RSS, in bytes. */
  readonly maxRssBytes: number;
  /** The child's own CPU time (user + system), in ms. */
  readonly cpuMs: number;
}

/** Runs `dist/cli/main.js <args> --config … --database <url>` as a child that reports its own peak RSS. */
export async function runLockstep(
  args: readonly string[],
  options: LockstepRunOptions,
): Promise<LockstepRun> {
  const dir = mkdtempSync(join(tmpdir(), "lockstep-bench-"));
  const rssFile = join(dir, "rss");
  const set = options.step === "set";
  const config = options.pageSize === undefined ? EXAMPLE_CONFIG : VARIANT_CONFIG;
  const started = performance.now();
  try {
    const child = spawn(
      process.execPath,
      [
        ...(options.nodeFlags ?? []),
        // For experiments only (e.g. V8 heap flags): extra node flags for every lockstep child.
        ...(process.env.BENCH_NODE_FLAGS?.split(" ").filter(Boolean) ?? []),
        "--import",
        RSS_HOOK,
        CLI,
        ...args,
        "--config",
        config,
        "--database",
        options.url,
      ],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          BENCH_RSS_FILE: rssFile,
          ...(options.pageSize !== undefined && { BENCH_PAGE_SIZE: String(options.pageSize) }),
          ...(set ? { DATALAB_REWRITE: "set" } : { DATALAB_REWRITE: "" }),
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    const status = await new Promise<number | null>((resolve, reject) => {
      child.on("error", reject);
      child.on("close", (code) => resolve(code));
    });
    const wallMs = performance.now() - started;
    const [maxRssBytes = 0, cpuMs = 0] = readFileSync(rssFile, "utf8").split(" ").map(Number);
    return { status, stdout, stderr, wallMs, maxRssBytes, cpuMs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The 0.2.0 step's result in `lockstep upgrade --json` output. */
export interface StepFigures {
  readonly durationMs: number;
  readonly counts: Readonly<Record<string, number>>;
}

/** Picks the step's duration and counts out of `upgrade --json`'s result object. */
export function stepFigures(run: LockstepRun, version: string): StepFigures {
  const result = JSON.parse(run.stdout) as {
    results?: { step: string; status: string; durationMs: number; counts?: Record<string, number> }[];
  };
  const step = result.results?.find((r) => r.step.startsWith(version));
  if (step?.status !== "applied") {
    throw new Error(`lockstep upgrade did not apply ${version}: ${run.stdout.slice(0, 2000)}`);
  }
  return { durationMs: step.durationMs, counts: step.counts ?? {} };
}
