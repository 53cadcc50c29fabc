/**
 * `npm run bench:guard [-- --runs N]`: the start-up guard's in-process time on a database that
 * is current (issue 10): `checkDatabase` with policy refuse — open, register this instance, read
 * the state, close — run N times (default 20) on SQLite, PostgreSQL and MySQL/MariaDB; prints
 * the median, minimum and maximum per database. Databases: a temp SQLite file, schema
 * `lockstep_bench_guard_<pid>` of $BENCH_POSTGRES_URL (default 127.0.0.1:5432/test), database
 * `lockstep_bench_guard_<pid>` on $BENCH_MYSQL_URL (default root@127.0.0.1:3306); all dropped after.
 * A server that is not there is skipped with one line.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { adapterFromUrl, checkDatabase, Upgrader, upgrade } from "../src/index.js";

const { values } = parseArgs({ options: { runs: { type: "string", default: "20" } } });
const RUNS = Number(values.runs);
const NAME = `lockstep_bench_guard_${process.pid}`;
const steps = [upgrade({ version: "1.0.0", name: "noop", run() {} })];

interface Target {
  readonly name: string;
  readonly url: string;
  setUp(): Promise<void>;
  tearDown(): Promise<void>;
}

function sqlTarget(name: string, url: string, admin: string, create: string, drop: string): Target {
  const run = async (sql: string) => {
    const adapter = await adapterFromUrl(admin);
    await adapter.open({ create: false });
    try {
      await adapter.write(
        null,
        async (_w, db) => {
          const client = db as { query(sql: string): Promise<unknown> };
          await client.query(sql);
        },
        { transactional: false },
      );
    } finally {
      await adapter.close();
    }
  };
  return { name, url, setUp: () => run(create), tearDown: () => run(drop) };
}

function targets(): Target[] {
  const dir = mkdtempSync(join(tmpdir(), "lockstep-bench-guard-"));
  const pg = process.env.BENCH_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
  const my = process.env.BENCH_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";
  return [
    {
      name: "sqlite",
      url: `sqlite:${join(dir, "guard.db")}`,
      setUp: async () => {},
      tearDown: async () => rmSync(dir, { recursive: true, force: true }),
    },
    sqlTarget("postgres", `${pg}?schema=${NAME}`, pg, `create schema ${NAME}`, `drop schema ${NAME} cascade`),
    sqlTarget(
      "mysql",
      my.replace(/\/[^/]*$/, `/${NAME}`),
      my,
      `create database ${NAME}`,
      `drop database ${NAME}`,
    ),
  ];
}

async function measure(target: Target): Promise<number[]> {
  const setup = new Upgrader({ adapter: await adapterFromUrl(target.url), appVersion: "1.0.0", steps });
  await setup.open({ create: true });
  await setup.init({ version: "1.0.0" });
  await setup.close();
  const times: number[] = [];
  for (let i = 0; i <= RUNS; i++) {
    const started = performance.now();
    const result = await checkDatabase({
      database: target.url,
      appVersion: "1.0.0",
      steps,
      policy: "refuse",
      autoKeepAlive: false,
    });
    const elapsed = performance.now() - started;
    await result.close();
    if (result.status !== "CURRENT") throw new Error(`${target.name}: ${result.status}, expected CURRENT`);
    if (i > 0) times.push(elapsed); // the first run loads the driver
  }
  return times.sort((a, b) => a - b);
}

for (const target of targets()) {
  try {
    await target.setUp();
  } catch (error) {
    console.log(`${target.name}: skipped (${(error as Error).message.split("\n")[0]})`);
    continue;
  }
  try {
    const t = await measure(target);
    const ms = (v: number) => `${v.toFixed(1)} ms`;
    console.log(
      `${target.name}: checkDatabase on a current database, ${RUNS} runs: median ${ms(t[Math.floor(t.length / 2)]!)} (min ${ms(t[0]!)}, max ${ms(t.at(-1)!)})`,
    );
  } finally {
    await target.tearDown();
  }
}
