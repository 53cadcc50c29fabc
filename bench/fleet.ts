/**
 * `npm run bench:fleet [-- --tenants N] [-- --sqlite N] [-- --json] [-- --help]`: upgrades a
 * fleet of tenant databases with `lockstep upgrade --targets FILE --concurrency 4` and, on
 * fresh copies of the same data in the same run, with `--concurrency 1`; prints both wall
 * times and the ratio (goal: at least 2x on PostgreSQL), and checks that each step was
 * applied exactly once per tenant. The child's own CPU time is printed beside its wall time:
 * a child busy for its whole wall time cannot gain from running targets side by side (SQLite:
 * better-sqlite3 runs every statement synchronously on the one JavaScript thread).
 *
 * Everything it makes is dropped at the end, after a failure or Ctrl-C too.
 */
import { cpus, loadavg } from "node:os";
import { parseFleetArgs } from "./fleet-args.js";
import {
  BENCH_FROM,
  BENCH_STEPS,
  type BenchProject,
  childStopped,
  makeBenchProject,
  runLockstepIn,
  upgradedResults,
} from "./fleet-project.js";
import { postgresTenants, sqliteTenants, type TenantKind } from "./fleet-tenants.js";
import { checkServer } from "./servers.js";

/** The concurrency measured against the baseline of 1. */
const CONCURRENCY = 4;

/** One measured `lockstep upgrade --targets` run. */
interface Measured {
  readonly concurrency: number;
  readonly wallMs: number;
  /** The lockstep child's CPU time (user + system). */
  readonly cpuMs: number;
  /** The sum of the targets' own durations (what they would take one after the other). */
  readonly targetMsSum: number;
}

/** What the bench reports for one kind of tenant. */
interface KindFigures {
  readonly tenants: number;
  readonly rows: number;
  readonly steps: number;
  readonly runs: readonly Measured[];
  /** Wall time at concurrency 1 over wall time at {@link CONCURRENCY}. */
  readonly ratio: number;
  /** Each step applied exactly once per tenant, every row reached, in both runs. */
  readonly exactlyOnce: boolean;
  /** The machine's 1-minute load average before and after (other work competes for its cores). */
  readonly load: readonly [number, number];
}

const args = parseFleetArgs(process.argv.slice(2), process.env);
const log = (line: string) => process.stderr.write(`${line}\n`);

/** Upgrades `count` fresh copies with `--concurrency c`, then checks every tenant. */
async function measure(project: BenchProject, kind: TenantKind, count: number, c: number): Promise<Measured> {
  const set = `c${c}`;
  log(`${kind.label}: ${count} fresh tenants for --concurrency ${c}`);
  const targets = await kind.copies(set, count);
  const file = project.write(
    `${kind.label}-${set}.txt`,
    `${targets.map((t) => `${t.name}=${t.url}`).join("\n")}\n`,
  );
  log(`${kind.label}: lockstep upgrade --targets ${kind.label}-${set}.txt --concurrency ${c}`);
  const run = await runLockstepIn(project, [
    "upgrade",
    "--targets",
    file,
    "--concurrency",
    String(c),
    "--yes",
    "--json",
  ]);
  const results = upgradedResults(run, count);
  const problems = await kind.verify(targets);
  if (problems.length > 0)
    throw new Error(`${kind.label} --concurrency ${c}: ${problems.slice(0, 5).join("; ")}`);
  return {
    concurrency: c,
    wallMs: run.wallMs,
    cpuMs: run.cpuMs,
    targetMsSum: results.reduce((sum, r) => sum + r.durationMs, 0),
  };
}

/** Both runs on one kind: the concurrent one first, so any cache it warms favours the baseline. */
async function benchKind(
  project: BenchProject,
  kind: TenantKind,
  count: number,
  rows: number,
): Promise<KindFigures> {
  const loadBefore = loadavg()[0]!;
  log(`${kind.label}: template tenant with ${rows} rows, stamped ${BENCH_FROM}`);
  await kind.template();
  const concurrent = await measure(project, kind, count, CONCURRENCY);
  const baseline = await measure(project, kind, count, 1);
  return {
    tenants: count,
    rows,
    steps: BENCH_STEPS.length,
    runs: [baseline, concurrent],
    ratio: baseline.wallMs / concurrent.wallMs,
    exactlyOnce: true,
    load: [loadBefore, loadavg()[0]!],
  };
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function describeKind(label: string, figures: KindFigures | { skipped: string }): string {
  if ("skipped" in figures) return `${label}: skipped: ${figures.skipped}`;
  const load = figures.load.map((l) => l.toFixed(1)).join(" → ");
  const lines = [
    `${label}: ${figures.tenants} tenants x ${figures.rows} rows, ${figures.steps} steps each (one updates every row); ${cpus().length} cores, load average ${load}`,
  ];
  for (const run of figures.runs) {
    lines.push(
      `  --concurrency ${run.concurrency}: ${seconds(run.wallMs).padStart(7)} wall, lockstep CPU ${seconds(run.cpuMs).padStart(7)} ` +
        `(${Math.round((run.cpuMs / run.wallMs) * 100)} % of wall), targets' own time summed ${seconds(run.targetMsSum)}`,
    );
  }
  lines.push(
    `  ratio ${figures.ratio.toFixed(2)}x (--concurrency 1 / --concurrency ${CONCURRENCY}); each step applied exactly once per tenant: ${figures.exactlyOnce ? "yes" : "NO"}`,
  );
  return lines.join("\n");
}

async function main(project: BenchProject, kinds: TenantKind[]): Promise<void> {
  const out: Record<string, KindFigures | { skipped: string }> = {};
  if (args.tenants > 0) {
    const check = await checkServer("postgres", args.postgres, { mayStartFerretdb: false, log });
    if (check.run) {
      const kind = postgresTenants(project, args.postgres, args.rows);
      kinds.push(kind);
      out.postgres = await benchKind(project, kind, args.tenants, args.rows);
    } else {
      log(`postgres: skipped: ${check.reason}`);
      out.postgres = { skipped: check.reason };
    }
  }
  if (args.sqlite > 0) {
    const kind = sqliteTenants(project, args.sqliteRows);
    kinds.push(kind);
    out.sqlite = await benchKind(project, kind, args.sqlite, args.sqliteRows);
  }
  if (args.json) process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  else
    for (const [label, figures] of Object.entries(out))
      process.stdout.write(`${describeKind(label, figures)}\n`);
}

const project = makeBenchProject();
const kinds: TenantKind[] = [];
let cleaning: Promise<void> | undefined;
/** Drops every database and file the bench made; once, whoever asks first. */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await childStopped();
    for (const kind of kinds) await kind.dispose();
    project.dispose();
  })();
  return cleaning;
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    log(`bench:fleet: ${signal}: dropping the bench's databases`);
    void cleanup().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  });
}
try {
  await main(project, kinds);
} catch (error) {
  log(`bench:fleet: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
