/**
 * `npm run bench [-- --n N] [-- --only LIST] [-- --json] [-- --help]`: builds N items as the
 * datalab example's release 0.1.0 stored them (3 relationships each, about 1 % dangling) and
 * rewrites their relationships from item_id to refcode four ways, each on fresh data:
 * (a) naive, a query per lookup and a write per item (timed on the first --naive-limit
 * items); (b) lockstep's batch helper (`ctx.batch`) and (d) its set-based page mode
 * (`ctx.batchRanges`: the example's DATALAB_REWRITE=set variant), each through a real `lockstep upgrade` child that
 * reports its own peak RSS; (c) the same statement once over the whole table (rewrite.ts).
 * Every result is checked against the example's own model code before its rate counts. Then
 * 8 upgraders race one upgrade against one alone (race.ts). On PostgreSQL, MariaDB/MySQL,
 * SQLite and a MongoDB-protocol server; a server that does not answer is skipped with one
 * line saying how to include it (servers.ts).
 *
 * For profiling: `--methods lockstep,single`, `--page-size N` (the bench's config only),
 * `--cpu-prof-dir DIR` (the lockstep child), `--mongodb-n N`, `--mongodb-naive-limit N`.
 */
import { generateItems, type ItemV1 } from "../examples/datalab/model.js";
import {
  DATABASES,
  DEFAULT_SQLITE_NAIVE_LIMIT,
  listOf,
  METHODS,
  NAIVE_LIMIT,
  parseBenchArgs,
  positiveInt,
} from "./args.js";
import { expectedChecksum } from "./checksum.js";
import {
  type LockstepResult,
  type MethodOptions,
  type MethodResult,
  notRun,
  runLockstepUpgrade,
  runNaive,
  runSingle,
} from "./methods.js";
import { MongodbTarget } from "./mongodb-target.js";
import { MysqlTarget } from "./mysql-target.js";
import { PostgresTarget } from "./postgres-target.js";
import { runRace } from "./race.js";
import { type Results, racing, type Skipped, summary, type TargetResult, table } from "./report.js";
import { checkServer } from "./servers.js";
import { SqliteTarget } from "./sqlite-target.js";
import type { BenchTarget, TargetName } from "./target.js";

/**
 * FerretDB 1.24 on SQLite (this machine's MongoDB-protocol server) scans the whole collection
 * for every `item_id` lookup, index or not: ~0.14 ms per document, so one findOne costs ~150 ms
 * at 2k items and a page's `$in` lookup ~0.8 s; at 200k items a run would take hours. Its
 * figures are taken on a smaller N unless `--mongodb-n` says otherwise.
 */
const DEFAULT_MONGODB_N = 2000;

const values = parseBenchArgs(process.argv.slice(2), process.env);

const n = positiveInt("n", values.n);
const naiveLimit = values.naiveLimit === undefined ? null : positiveInt("naive-limit", values.naiveLimit);
const mongodbN =
  values["mongodb-n"] === undefined
    ? Math.min(n, DEFAULT_MONGODB_N)
    : positiveInt("mongodb-n", values["mongodb-n"]);
const mongodbNaiveLimit = positiveInt("mongodb-naive-limit", values["mongodb-naive-limit"]);
const raceProcesses = positiveInt("race-processes", values["race-processes"]);
const pageSize =
  values["page-size"] === undefined ? undefined : positiveInt("page-size", values["page-size"]);
const methods = new Set(listOf("methods", values.methods, METHODS));
const names: TargetName[] = values.only ? listOf("only", values.only, DATABASES) : [...DATABASES];

/** Progress for humans goes to stderr, so `--json` leaves stdout to the result. */
function log(text: string): void {
  process.stderr.write(`${text}\n`);
}

const options: MethodOptions = { log, pageSize, cpuProfDir: values["cpu-prof-dir"] };

/** (d) needs a set-based statement the server can run per range: FerretDB 1.24 has no update pipeline, $merge or $lookup. */
function setModeNote(target: BenchTarget): string | null {
  return target.name === "mongodb"
    ? "no set-based rewrite on this server (the datalab store has none: no update pipeline, $merge or $lookup)"
    : null;
}

/** Items the naive method is timed on, per database. */
function naiveLimitOf(name: TargetName): number {
  if (name === "mongodb") return mongodbNaiveLimit;
  return naiveLimit ?? (name === "sqlite" ? DEFAULT_SQLITE_NAIVE_LIMIT : NAIVE_LIMIT);
}

async function method<T extends MethodResult>(
  name: string,
  run: () => Promise<T>,
): Promise<T | LockstepResult> {
  return methods.has(name as (typeof METHODS)[number]) ? run() : notRun("not run (--methods)");
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
    const limit = Math.min(naiveLimitOf(target.name), items.length);
    const naive = await method("naive", () => runNaive(target, items, limit, options));
    const lockstep = (await method("lockstep", () =>
      runLockstepUpgrade(target, expected, "js", options),
    )) as LockstepResult;
    const setNote = setModeNote(target);
    const lockstepSet = (
      setNote === null
        ? await method("lockstep_set", () => runLockstepUpgrade(target, expected, "set", options))
        : notRun(setNote)
    ) as LockstepResult;
    const single = await method("single", () => runSingle(target, expected, options));
    const race = methods.has("race") ? await runRace(target, expected, raceProcesses, options) : null;
    const ok = naive.ok && lockstep.ok && lockstepSet.ok && single.ok && (race?.ok ?? true);
    return { seededBy: target.seededBy, ok, naive, lockstep, lockstep_set: lockstepSet, single, race };
  } finally {
    await target.close();
  }
}

function targetFor(name: TargetName, url: string): BenchTarget & { seededBy: string } {
  if (name === "postgres") return new PostgresTarget(url);
  if (name === "mysql") return new MysqlTarget(url);
  if (name === "sqlite") return new SqliteTarget();
  return new MongodbTarget(url);
}

const urls: Record<TargetName, string> = {
  postgres: values.postgres,
  mysql: values.mysql,
  sqlite: "",
  mongodb: values.mongodb,
};
const results: Results = {};
const skipped: Skipped = {};
for (const name of names) {
  const server = await checkServer(name, urls[name], { mayStartFerretdb: values.mongodbIsDefault, log });
  if (!server.run) {
    log(`${name}: skipped: ${server.reason}`);
    skipped[name] = server.reason;
    continue;
  }
  try {
    const targetN = name === "mongodb" ? mongodbN : n;
    log(`${name}: generating ${targetN} items with the example's generateItems…`);
    results[name] = { n: targetN, ...(await bench(targetFor(name, urls[name]), generateItems(targetN))) };
  } finally {
    server.stop?.();
  }
}
if (values.json) {
  const out: Record<string, unknown> = {};
  for (const [name, result] of Object.entries(results)) out[name] = summary(result);
  for (const [name, reason] of Object.entries(skipped)) out[name] = { skipped: reason };
  const race = racing(results);
  if (Object.keys(race).length > 0) out.racing = race;
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
} else {
  const notes = [
    ...(results.mongodb && results.mongodb.n < n
      ? [
          `mongodb runs at N = ${results.mongodb.n}, not ${n}: FerretDB 1.24 on SQLite scans the collection for every item_id lookup (--mongodb-n to override).`,
        ]
      : []),
    ...(pageSize ? [`lockstep page size ${pageSize} (bench config)`] : []),
  ];
  process.stdout.write(table(results, skipped, notes));
}
if (Object.values(results).some((r) => !r.ok)) process.exitCode = 1;
