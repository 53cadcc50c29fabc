/**
 * The fleet bench's app: a temp project at release 3.0.0 whose config names no database (the
 * targets come from a file), with three steps that work on PostgreSQL and SQLite alike:
 * a column added, a data step that updates every row, an index. Each step records itself in
 * the tenant's `bench_runs` inside its own transaction, so "applied exactly once" is counted
 * in the tenant's data. Runs `lockstep` as a child that reports its own CPU time.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { collectRun } from "../test/support/cli.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CLI = join(ROOT, "dist/cli/main.js");
const USAGE_HOOK = join(ROOT, "bench/fleet-usage.mjs");

/** The steps every tenant gets, in order. */
export const BENCH_STEPS = ["2.0.0/add-score", "2.0.0/backfill-score", "3.0.0/index-score"] as const;

/** The release the tenants are stamped at before the upgrade. */
export const BENCH_FROM = "1.0.0";

const LIB = `/** Runs one statement on the step's connection (better-sqlite3 or pg) and records the step. */
export async function exec(ctx, sql) {
  if (ctx.dryRun) return;
  const record = "insert into bench_runs (step) values ('" + ctx.version + "/" + ctx.name + "')";
  if (ctx.databaseKind === "sqlite") {
    ctx.db.exec(sql);
    ctx.db.exec(record);
  } else {
    await ctx.db.query(sql);
    await ctx.db.query(record);
  }
}
`;

/** Each step's SQL per database. */
const STEP_SQL: Record<(typeof BENCH_STEPS)[number], { postgres: string; sqlite: string }> = {
  "2.0.0/add-score": {
    postgres: "alter table items add column score integer",
    sqlite: "alter table items add column score integer",
  },
  "2.0.0/backfill-score": {
    postgres: "update items set score = ('x' || substr(md5(payload), 1, 6))::bit(24)::int % 1000",
    sqlite: "update items set score = (unicode(substr(payload, 7, 1)) * 131 + id * 17) % 1000",
  },
  "3.0.0/index-score": {
    postgres: "create index items_score on items (score)",
    sqlite: "create index items_score on items (score)",
  },
};

function stepFile(id: (typeof BENCH_STEPS)[number]): string {
  const [version, name] = id.split("/");
  const sql = STEP_SQL[id];
  return `import { upgrade } from "lockstep";
import { exec } from "./lib/exec.js";

export default upgrade({
  version: "${version}",
  name: "${name}",
  run: (ctx) => exec(ctx, ctx.databaseKind === "sqlite" ? ${JSON.stringify(sql.sqlite)} : ${JSON.stringify(sql.postgres)}),
});
`;
}

/** A temp project folder; `dispose` removes it. */
export interface BenchProject {
  readonly dir: string;
  write(name: string, text: string): string;
  dispose(): void;
}

/** Makes the bench's project (package.json 3.0.0, config, steps, node_modules/lockstep → this repo). */
export function makeBenchProject(): BenchProject {
  const dir = mkdtempSync(join(tmpdir(), "lockstep-benchfleet-"));
  const write = (name: string, text: string) => {
    const path = join(dir, name);
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path, text);
    return path;
  };
  mkdirSync(join(dir, "node_modules"));
  symlinkSync(ROOT, join(dir, "node_modules", "lockstep"), "dir");
  write("package.json", JSON.stringify({ name: "bench-tenants", version: "3.0.0", type: "module" }));
  write(
    "lockstep.config.js",
    `import { defineConfig } from "lockstep";\nexport default defineConfig({ steps: "./upgrades" });\n`,
  );
  write("upgrades/lib/exec.js", LIB);
  for (const id of BENCH_STEPS) write(`upgrades/${id.replace("/", "-")}.js`, stepFile(id));
  return { dir, write, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/** What one lockstep child did. */
export interface ChildRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly wallMs: number;
  /** The child's own CPU time (user + system), in ms. */
  readonly cpuMs: number;
}

/** The running child, so a Ctrl-C of the bench can wait for it to stop before cleaning up. */
let running: Promise<unknown> | undefined;

/** Resolves when no lockstep child runs. */
export async function childStopped(): Promise<void> {
  await running?.catch(() => undefined);
}

/** Runs `lockstep args…` in the project, timed from spawn to exit. */
export async function runLockstepIn(project: BenchProject, args: readonly string[]): Promise<ChildRun> {
  const usageFile = join(project.dir, `usage-${Date.now()}.json`);
  const started = performance.now();
  const child = spawn(process.execPath, ["--import", USAGE_HOOK, CLI, ...args], {
    cwd: project.dir,
    env: { ...process.env, NO_COLOR: "1", BENCH_USAGE_FILE: usageFile },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = collectRun(child);
  running = exited;
  const { code, stdout, stderr } = await exited;
  const wallMs = performance.now() - started;
  let cpuMs = Number.NaN;
  try {
    const usage = JSON.parse(readFileSync(usageFile, "utf8")) as { userMs: number; systemMs: number };
    cpuMs = usage.userMs + usage.systemMs;
  } catch {
    // The child died before its exit hook: no CPU figure.
  }
  return { code, stdout, stderr, wallMs, cpuMs };
}

/** One fleet result, as `upgrade --json` prints it. */
export interface FleetResult {
  readonly name: string;
  readonly status: string;
  readonly stepsApplied: number;
  readonly durationMs: number;
  readonly error: { code: string; message: string } | null;
}

/** The results of an `upgrade --targets … --json` child; throws unless every tenant was upgraded with every step. */
export function upgradedResults(run: ChildRun, tenants: number): FleetResult[] {
  let out: { results?: FleetResult[] };
  try {
    out = JSON.parse(run.stdout) as { results?: FleetResult[] };
  } catch {
    throw new Error(
      `lockstep upgrade printed no JSON (exit ${run.code}):\n${run.stdout}\n${run.stderr.slice(-3000)}`,
    );
  }
  const results = out.results ?? [];
  const bad = results.filter((r) => r.status !== "upgraded" || r.stepsApplied !== BENCH_STEPS.length);
  if (run.code !== 0 || results.length !== tenants || bad.length > 0) {
    throw new Error(
      `lockstep upgrade (exit ${run.code}) did not upgrade all ${tenants} tenants with ${BENCH_STEPS.length} steps: ` +
        JSON.stringify(bad.slice(0, 3)),
    );
  }
  return results;
}
