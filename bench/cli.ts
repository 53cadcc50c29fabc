/**
 * `npm run bench:cli`: the CLI's cold start against a peer's, in one run on one PostgreSQL
 * server (issue 13 item 4). `lockstep status` with a `.ts` config and with an `.mjs` config vs
 * node-pg-migrate 9's `up` with nothing to do (one applied migration), each a fresh process,
 * alternating round by round; prints each one's median wall time and the median of the
 * pairwise ratios (round i's lockstep time / round i's node-pg-migrate time).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import pg from "pg";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const CLI = join(REPO, "dist", "cli", "main.js");
const PG_MIGRATE = join(REPO, "node_modules", "node-pg-migrate", "bin", "node-pg-migrate.js");
const DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/test";
const DATABASE = "lockstep_bench_cli";
/** The goals: lockstep / node-pg-migrate, median of the pairwise ratios. */
const GOALS = { ts: 0.7, mjs: 0.6 } as const;

export const USAGE = `usage: npm run bench:cli -- [options]

Cold start: \`lockstep status\` with a .ts config and with an .mjs config vs node-pg-migrate 9's
\`up\` with nothing to do, on one PostgreSQL server (database ${DATABASE}, created and dropped).
Each run is a fresh process; the three alternate round by round. Prints each one's median wall
time and the median of the pairwise ratios (goals: .ts <= ${GOALS.ts}, .mjs <= ${GOALS.mjs}).

  --runs N          rounds (default 10)
  --postgres URL    PostgreSQL server (default $BENCH_POSTGRES_URL or ${DEFAULT_POSTGRES_URL})
  --json            print the figures as JSON on stdout
  -h, --help        print this help
`;

type Name = "ts" | "mjs" | "npm";

function usageError(message: string): never {
  process.stderr.write(`bench:cli: ${message}\n\n${USAGE}`);
  process.exit(2);
}

function options() {
  let values: { runs: string; postgres?: string; json: boolean; help: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        runs: { type: "string", default: "10" },
        postgres: { type: "string" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (error) {
    usageError((error as Error).message);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs <= 0) usageError(`--runs needs a positive integer, got ${values.runs}`);
  const server = values.postgres ?? process.env.BENCH_POSTGRES_URL ?? DEFAULT_POSTGRES_URL;
  return { runs, json: values.json, server };
}

/** The same URL, another database. */
function databaseUrl(server: string, database: string): string {
  const url = new URL(server);
  url.pathname = `/${database}`;
  return url.toString();
}

async function onServer(server: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: server });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

const STEP = (version: string) => `import { upgrade } from "lockstep";

export default upgrade({
  version: "${version}",
  name: "create-items",
  async run({ db }) {
    await db.query("CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL)");
  },
});
`;

/** Three projects: lockstep with a .ts config and steps, the same in .mjs, node-pg-migrate. */
function makeProjects(url: string): Record<Name, string> {
  const root = mkdtempSync(join(tmpdir(), "lockstep-bench-cli-"));
  const files: Record<string, string> = {};
  for (const ext of ["ts", "mjs"] as const) {
    files[`${ext}/package.json`] = JSON.stringify({ name: "app", version: "1.0.0", type: "module" });
    files[`${ext}/lockstep.config.${ext}`] =
      `import { defineConfig } from "lockstep";\n\nexport default defineConfig({ database: ${JSON.stringify(url)}, steps: "./upgrades" });\n`;
    files[`${ext}/upgrades/1.0.0-create-items.${ext}`] = STEP("1.0.0");
  }
  files["npm/package.json"] = JSON.stringify({ name: "app", version: "1.0.0", type: "module" });
  files["npm/migrations/1700000000000_create-npm-items.js"] =
    'export const up = (pgm) => {\n  pgm.createTable("npm_items", { id: "id", name: { type: "text", notNull: true } });\n};\n';
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  for (const ext of ["ts", "mjs"]) {
    mkdirSync(join(root, ext, "node_modules"));
    symlinkSync(REPO, join(root, ext, "node_modules", "lockstep"), "dir");
  }
  return { ts: join(root, "ts"), mjs: join(root, "mjs"), npm: join(root, "npm") };
}

/** One fresh process; its wall time in ms. A failure stops the bench with its output. */
function timed(name: Name, dir: string, url: string, args?: string[]): number {
  const argv = args ?? (name === "npm" ? [PG_MIGRATE, "up", "-m", "migrations"] : [CLI, "status"]);
  const start = performance.now();
  const run = spawnSync(process.execPath, argv, {
    cwd: dir,
    env: { ...process.env, DATABASE_URL: url },
    encoding: "utf8",
  });
  const ms = performance.now() - start;
  if (run.status !== 0) {
    throw new Error(`${name}: ${argv.slice(1).join(" ")} exited ${run.status}\n${run.stdout}${run.stderr}`);
  }
  return ms;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Rounds of the three, each round in a rotated order so none always runs first. */
function measure(dirs: Record<Name, string>, url: string, runs: number): Record<Name, number[]> {
  const times: Record<Name, number[]> = { ts: [], mjs: [], npm: [] };
  const names: Name[] = ["ts", "mjs", "npm"];
  for (let round = 0; round < runs; round++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(round + i) % names.length] as Name;
      times[name].push(timed(name, dirs[name], url));
    }
  }
  return times;
}

async function main(): Promise<void> {
  const { runs, json, server } = options();
  const url = databaseUrl(server, DATABASE);
  await onServer(server, `DROP DATABASE IF EXISTS ${DATABASE}`);
  await onServer(server, `CREATE DATABASE ${DATABASE}`);
  const dirs = makeProjects(url);
  try {
    // Set-up: the step applied by lockstep, the migration by node-pg-migrate; then the
    // first status with the .ts config compiles it (timed: the cache-cold start).
    timed("ts", dirs.ts, url, [CLI, "init", "--version", "0.0.0"]);
    timed("ts", dirs.ts, url, [CLI, "upgrade", "--yes"]);
    timed("npm", dirs.npm, url);
    const tsFirst = timed("ts", dirs.ts, url);
    timed("mjs", dirs.mjs, url);
    const nodeBare = median(Array.from({ length: 5 }, () => timed("npm", dirs.npm, url, ["-e", "0"])));
    const times = measure(dirs, url, runs);
    const ratio = (name: "ts" | "mjs") => median(times[name].map((ms, i) => ms / (times.npm[i] as number)));
    const figures = {
      runs,
      ts_ms: Math.round(median(times.ts)),
      mjs_ms: Math.round(median(times.mjs)),
      node_pg_migrate_ms: Math.round(median(times.npm)),
      ts_first_run_ms: Math.round(tsFirst),
      node_bare_ms: Math.round(nodeBare),
      ts_vs_node_pg_migrate: Number(ratio("ts").toFixed(3)),
      mjs_vs_node_pg_migrate: Number(ratio("mjs").toFixed(3)),
    };
    if (json) {
      process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
      return;
    }
    const goal = (name: "ts" | "mjs", value: number) =>
      `${value.toFixed(2)} (goal <= ${GOALS[name]}: ${value <= GOALS[name] ? "met" : "MISSED"})`;
    process.stdout.write(
      [
        `cold start, ${runs} rounds, median wall time (PostgreSQL ${DATABASE})`,
        `  lockstep status, .ts config    ${figures.ts_ms} ms (first run, compiling: ${figures.ts_first_run_ms} ms)`,
        `  lockstep status, .mjs config   ${figures.mjs_ms} ms`,
        `  node-pg-migrate up (no-op)     ${figures.node_pg_migrate_ms} ms`,
        `  node -e 0                      ${figures.node_bare_ms} ms`,
        `median of pairwise ratios vs node-pg-migrate`,
        `  .ts   ${goal("ts", figures.ts_vs_node_pg_migrate)}`,
        `  .mjs  ${goal("mjs", figures.mjs_vs_node_pg_migrate)}`,
        "",
      ].join("\n"),
    );
  } finally {
    rmSync(dirname(dirs.ts), { recursive: true, force: true });
    await onServer(server, `DROP DATABASE IF EXISTS ${DATABASE}`);
  }
}

await main();
