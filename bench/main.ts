/**
 * `npm run bench [-- --n N] [-- --only postgres|mongodb] [-- --json] [-- --help]`: builds N items as the
 * datalab example's release 0.1.0 stored them (3 relationships each, about 1 % dangling) and
 * rewrites their relationships from item_id to refcode three ways, each on fresh data:
 * (a) naive, a query per lookup and a write per item (timed on the first --naive-limit
 * items); (b) lockstep's batch helper through a real `lockstep upgrade` child, which reports
 * its own peak RSS; (c) one set-based statement. Every result is checked against the
 * example's own model code before its rate counts.
 *
 * For profiling: `--methods lockstep,single`, `--page-size N` (the bench's config only),
 * `--cpu-prof-dir DIR` (the lockstep child), `--mongodb-n N`, `--mongodb-naive-limit N`.
 * A database whose server does not answer is skipped (see servers.ts); `--help` lists it all.
 */
import { generateItems, type ItemV1 } from "../examples/datalab/model.js";
import { parseBenchArgs, positiveInt, usageError } from "./args.js";
import { expectedChecksum } from "./checksum.js";
import { runLockstep, stepFigures } from "./lockstep-run.js";
import { MongodbTarget } from "./mongodb-target.js";
import { PostgresTarget } from "./postgres-target.js";
import { checkServer } from "./servers.js";
import type { BenchTarget, TargetName } from "./target.js";

/**
 * FerretDB 1.24 on SQLite (this machine's MongoDB-protocol server) scans the whole collection
 * for every `item_id` lookup, index or not: ~0.14 ms per document, so one findOne costs ~150 ms
 * at 2k items and a page's `$in` lookup ~0.8 s; at 200k items a run would take hours. Its
 * figures are taken on a smaller N unless `--mongodb-n` says otherwise.
 */
const DEFAULT_MONGODB_N = 2000;
const MB = 1024 * 1024;

const values = parseBenchArgs(process.argv.slice(2), process.env);

const n = positiveInt("n", values.n);
const naiveLimit = positiveInt("naive-limit", values["naive-limit"]);
const mongodbN =
  values["mongodb-n"] === undefined
    ? Math.min(n, DEFAULT_MONGODB_N)
    : positiveInt("mongodb-n", values["mongodb-n"]);
const mongodbNaiveLimit = positiveInt("mongodb-naive-limit", values["mongodb-naive-limit"]);
const pageSize =
  values["page-size"] === undefined ? undefined : positiveInt("page-size", values["page-size"]);
if (values.only !== undefined && values.only !== "postgres" && values.only !== "mongodb") {
  usageError(`--only takes postgres or mongodb, got ${values.only}`);
}
const METHODS = ["naive", "lockstep", "single"];
const methods = new Set(values.methods.split(","));
for (const method of methods) {
  if (!METHODS.includes(method)) usageError(`--methods takes ${METHODS.join(",")}, got ${method}`);
}
const names: TargetName[] = values.only ? [values.only as TargetName] : ["postgres", "mongodb"];

/** Progress for humans goes to stderr, so `--json` leaves stdout to the result. */
function log(text: string): void {
  process.stderr.write(`${text}\n`);
}

/** One method's figures; `rate` is null when it could not run, with the reason. */
interface MethodResult {
  readonly docs: number;
  readonly ms: number;
  readonly rate: number | null;
  readonly checksum: string;
  /** The data matched the model afterwards. */
  readonly ok: boolean;
  readonly note: string;
}

interface LockstepResult extends MethodResult {
  readonly wallMs: number;
  readonly peakRssBytes: number;
}

type Expected = ReturnType<typeof expectedChecksum>;

interface TargetResult {
  /** Items generated (before ~1 % were deleted). */
  readonly n: number;
  readonly naive: MethodResult;
  readonly lockstep: LockstepResult;
  readonly single: MethodResult;
  readonly seededBy: string;
  readonly ok: boolean;
}

function rate(docs: number, ms: number): number {
  return ms > 0 ? docs / (ms / 1000) : 0;
}

async function verify(
  target: BenchTarget,
  method: string,
  expected: string,
  limit?: number,
): Promise<{ checksum: string; ok: boolean }> {
  const checksum = await target.checksum(limit);
  const ok = checksum === expected;
  log(
    `  ${method}: checksum ${checksum} ${ok ? "matches the model" : `DIFFERS from the model's ${expected}`}`,
  );
  return { checksum, ok };
}

/** What a method that was not asked for (`--methods`) reports. */
const SKIPPED: MethodResult = {
  docs: 0,
  ms: 0,
  rate: null,
  checksum: "",
  ok: true,
  note: "not run (--methods)",
};

async function runNaive(target: BenchTarget, items: readonly ItemV1[]): Promise<MethodResult> {
  const limit = Math.min(target.name === "mongodb" ? mongodbNaiveLimit : naiveLimit, items.length);
  log(`${target.name}: (a) naive on the first ${limit} items`);
  const t = performance.now();
  await target.reset();
  log(`  fresh data in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const naive = await target.naive(limit);
  const check = await verify(target, "naive", expectedChecksum(items, limit).checksum, limit);
  return {
    ...naive,
    rate: check.ok ? rate(naive.docs, naive.ms) : null,
    checksum: check.checksum,
    ok: check.ok,
    note: naive.docs < items.length ? `first ${naive.docs} items only` : "",
  };
}

async function runLockstepUpgrade(target: BenchTarget, expected: Expected): Promise<LockstepResult> {
  log(`${target.name}: (b) lockstep upgrade --target-version 0.2.0`);
  await target.reset();
  if (target.needsInit) {
    const init = await runLockstep(["init", "--version", "0.1.0", "--json"], { url: target.lockstepUrl });
    if (init.status !== 0)
      throw new Error(`lockstep init exited ${init.status}: ${init.stderr}${init.stdout}`);
  }
  const run = await runLockstep(["upgrade", "--yes", "--target-version", "0.2.0", "--json"], {
    url: target.lockstepUrl,
    ...(pageSize !== undefined && { pageSize }),
    ...(values["cpu-prof-dir"] !== undefined && {
      nodeFlags: ["--cpu-prof", `--cpu-prof-dir=${values["cpu-prof-dir"]}`],
    }),
  });
  if (run.status !== 0) throw new Error(`lockstep upgrade exited ${run.status}: ${run.stderr}${run.stdout}`);
  const step = stepFigures(run, "0.2.0");
  log(
    `  step ${(step.durationMs / 1000).toFixed(1)} s, process ${(run.wallMs / 1000).toFixed(1)} s, peak RSS ${(run.maxRssBytes / MB).toFixed(0)} MB, counts ${JSON.stringify(step.counts)}`,
  );
  const check = await verify(target, "lockstep", expected.checksum);
  let ok = check.ok;
  if (step.counts.dangling !== expected.dangling) {
    log(`  lockstep counted ${step.counts.dangling} dangling, the model ${expected.dangling}`);
    ok = false;
  }
  const docs = step.counts.items ?? 0;
  return {
    docs,
    ms: step.durationMs,
    rate: ok ? rate(docs, step.durationMs) : null,
    checksum: check.checksum,
    ok,
    note: `whole process incl. start-up: ${rate(docs, run.wallMs).toFixed(0)} docs/s`,
    wallMs: run.wallMs,
    peakRssBytes: run.maxRssBytes,
  };
}

async function runSingle(target: BenchTarget, expected: Expected): Promise<MethodResult> {
  log(`${target.name}: (c) one set-based statement`);
  await target.reset();
  const single = await target.single();
  if (typeof single === "string") {
    log(`  not run: ${single}`);
    return { docs: 0, ms: 0, rate: null, checksum: "", ok: true, note: single };
  }
  const check = await verify(target, "single", expected.checksum);
  return {
    ...single,
    rate: check.ok ? rate(single.docs, single.ms) : null,
    checksum: check.checksum,
    ok: check.ok,
    note: "",
  };
}

async function bench(
  target: BenchTarget & { seededBy: string },
  items: readonly ItemV1[],
): Promise<Omit<TargetResult, "n">> {
  const expected = expectedChecksum(items);
  log(`${target.name}: seeding ${items.length} items…`);
  const t = performance.now();
  await target.prepare(items);
  log(`  seeded by ${target.seededBy} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  try {
    const naive = methods.has("naive") ? await runNaive(target, items) : SKIPPED;
    const lockstep = methods.has("lockstep")
      ? await runLockstepUpgrade(target, expected)
      : { ...SKIPPED, wallMs: 0, peakRssBytes: 0 };
    const single = methods.has("single") ? await runSingle(target, expected) : SKIPPED;
    return { seededBy: target.seededBy, ok: naive.ok && lockstep.ok && single.ok, naive, lockstep, single };
  } finally {
    await target.close();
  }
}

function ratio(a: number | null, b: number | null): number | null {
  return a === null || b === null || b === 0 ? null : a / b;
}

function round(value: number | null, digits: number): number | null {
  return value === null ? null : Number(value.toFixed(digits));
}

/** The `--json` shape: `{ postgres: { naive, lockstep, single, lockstep_vs_single, lockstep_vs_naive, peak_rss_mb } }`. */
function summary(result: TargetResult): Record<string, number | null> {
  return {
    naive: round(result.naive.rate, 1),
    lockstep: round(result.lockstep.rate, 1),
    single: round(result.single.rate, 1),
    lockstep_vs_single: round(ratio(result.lockstep.rate, result.single.rate), 3),
    lockstep_vs_naive: round(ratio(result.lockstep.rate, result.naive.rate), 2),
    peak_rss_mb: methods.has("lockstep") ? round(result.lockstep.peakRssBytes / MB, 1) : null,
  };
}

function table(results: Partial<Record<TargetName, TargetResult>>, skipped: Skipped): string {
  const fmt = (v: number | null, digits = 0) => (v === null ? "null" : v.toFixed(digits));
  const rows = [["database", "N", "method", "items", "seconds", "docs/s", "checksum", "note"]];
  for (const [name, result] of Object.entries(results)) {
    for (const method of ["naive", "lockstep", "single"] as const) {
      const m = result[method];
      rows.push([
        name,
        String(result.n),
        method,
        String(m.docs),
        m.rate === null && m.ms === 0 ? "-" : (m.ms / 1000).toFixed(2),
        fmt(m.rate),
        m.checksum,
        m.note,
      ]);
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) =>
    r
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join("  ")
      .trimEnd(),
  );
  lines.splice(1, 0, widths.map((w) => "-".repeat(w)).join("  "));
  lines.push("");
  for (const [name, result] of Object.entries(results)) {
    const s = summary(result);
    lines.push(
      `${name}: lockstep_vs_single ${fmt(s.lockstep_vs_single ?? null, 3)}, lockstep_vs_naive ${fmt(s.lockstep_vs_naive ?? null, 1)}, lockstep peak RSS ${fmt(s.peak_rss_mb ?? null, 1)} MB${result.ok ? "" : "  (RESULTS DIFFER FROM THE MODEL)"}`,
    );
  }
  const header = [
    "lockstep bench: N items generated by the datalab example (~1 % then deleted, so their links dangle), 3 relationships each.",
    "items = items rewritten and timed; lockstep's time is the 0.2.0 step's own duration (the whole child process is in the note).",
    ...(results.mongodb && results.mongodb.n < n
      ? [
          `mongodb runs at N = ${results.mongodb.n}, not ${n}: FerretDB 1.24 on SQLite scans the collection for every item_id lookup (--mongodb-n to override).`,
        ]
      : []),
    ...(pageSize ? [`lockstep page size ${pageSize} (bench config)`] : []),
    ...Object.entries(skipped).map(([name, reason]) => `${name}: skipped: ${reason}`),
  ];
  if (Object.keys(results).length === 0) return `${header.join("\n")}\n`;
  return `${header.join("\n")}\n\n${lines.join("\n")}\n`;
}

type Skipped = Partial<Record<TargetName, string>>;

const results: Partial<Record<TargetName, TargetResult>> = {};
const skipped: Skipped = {};
for (const name of names) {
  const url = name === "postgres" ? values.postgres : values.mongodb;
  const server = await checkServer(name, url, { mayStartFerretdb: values.mongodbIsDefault, log });
  if (!server.run) {
    log(`${name}: skipped: ${server.reason}`);
    skipped[name] = server.reason;
    continue;
  }
  try {
    const targetN = name === "mongodb" ? mongodbN : n;
    log(`${name}: generating ${targetN} items with the example's generateItems…`);
    const target = name === "postgres" ? new PostgresTarget(url) : new MongodbTarget(url);
    results[name] = { n: targetN, ...(await bench(target, generateItems(targetN))) };
  } finally {
    server.stop?.();
  }
}
if (values.json) {
  const out: Record<string, Record<string, number | null> | { skipped: string }> = {};
  for (const [name, result] of Object.entries(results)) out[name] = summary(result);
  for (const [name, reason] of Object.entries(skipped)) out[name] = { skipped: reason };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
} else {
  process.stdout.write(table(results, skipped));
}
if (Object.values(results).some((r) => !r.ok)) process.exitCode = 1;
