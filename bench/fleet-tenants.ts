/**
 * The fleet bench's tenants: a template made once (a table of `rows` rows, `bench_runs`, the
 * stamp 1.0.0 written by `lockstep init`), then fresh copies of it per measured run, and the
 * check that each step was applied exactly once per tenant and the data step reached every
 * row. PostgreSQL copies with CREATE DATABASE … TEMPLATE; SQLite copies the file.
 */
import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import type pg from "pg";
import { withDatabase } from "../src/tools/database-url.js";
import { withPostgresAt } from "../test/support/postgres-fixture.js";
import { BENCH_FROM, BENCH_STEPS, type BenchProject, runLockstepIn } from "./fleet-project.js";

/** One tenant as a targets file names it. */
export interface BenchTarget {
  readonly name: string;
  readonly url: string;
}

/** A kind of tenant the bench measures. */
export interface TenantKind {
  readonly label: string;
  /** Makes the template tenant (data, `bench_runs`, stamp). */
  template(): Promise<void>;
  /** `count` fresh copies of the template for the run called `set`. */
  copies(set: string, count: number): Promise<BenchTarget[]>;
  /** What is wrong with the tenants after their upgrade (empty: each step once, every row done). */
  verify(targets: readonly BenchTarget[]): Promise<string[]>;
  /** Drops everything this kind made (never throws; safe to call twice). */
  dispose(): Promise<void>;
}

/** What a tenant's `bench_runs` and data must say after the upgrade, or the problem. */
function checkTenant(name: string, runs: { step: string; n: number }[], unscored: number): string[] {
  const problems: string[] = [];
  const seen = new Map(runs.map((r) => [r.step, Number(r.n)]));
  for (const step of BENCH_STEPS) {
    if (seen.get(step) !== 1) problems.push(`${name}: ${step} applied ${seen.get(step) ?? 0} times`);
  }
  for (const step of seen.keys()) {
    if (!(BENCH_STEPS as readonly string[]).includes(step)) problems.push(`${name}: unexpected ${step}`);
  }
  if (unscored !== 0) problems.push(`${name}: ${unscored} rows without a score`);
  return problems;
}

/** Stamps a tenant at {@link BENCH_FROM} through the CLI, as an operator would. */
async function stamp(project: BenchProject, url: string): Promise<void> {
  const run = await runLockstepIn(project, ["init", "--version", BENCH_FROM, "--database", url, "--json"]);
  if (run.code !== 0) throw new Error(`lockstep init failed (exit ${run.code}): ${run.stdout}${run.stderr}`);
}

const quote = (identifier: string) => `"${identifier.replaceAll('"', '""')}"`;

/** PostgreSQL tenants: databases `lockstep_benchfleet_<pid>_…` on `server`. */
export function postgresTenants(project: BenchProject, server: string, rows: number): TenantKind {
  const prefix = `lockstep_benchfleet_${process.pid}_`;
  const template = `${prefix}template`;
  const connect = <T>(database: string | null, fn: (c: pg.Client) => Promise<T>): Promise<T> =>
    withPostgresAt(database ? withDatabase(server, database) : server, fn);
  return {
    label: "postgres",
    async template() {
      await connect(null, (c) => c.query(`create database ${quote(template)}`));
      await connect(template, async (c) => {
        await c.query("create table items (id bigint primary key, payload text not null)");
        await c.query(
          "insert into items select g, md5(g::text) || repeat('x', 40) from generate_series(1, $1::int) g",
          [rows],
        );
        await c.query("create table bench_runs (step text not null)");
        await c.query("vacuum analyze items");
      });
      await stamp(project, withDatabase(server, template));
    },
    async copies(set, count) {
      const out: BenchTarget[] = [];
      await connect(null, async (c) => {
        for (let i = 1; i <= count; i++) {
          const name = `${prefix}${set}_${String(i).padStart(3, "0")}`;
          await c.query(`create database ${quote(name)} template ${quote(template)}`);
          out.push({ name: `${set}-${i}`, url: withDatabase(server, name) });
        }
      });
      return out;
    },
    async verify(targets) {
      const problems: string[] = [];
      for (const target of targets) {
        const database = decodeURIComponent(new URL(target.url).pathname.slice(1));
        await connect(database, async (c) => {
          const runs = await c.query<{ step: string; n: number }>(
            "select step, count(*)::int as n from bench_runs group by step",
          );
          const unscored = await c.query<{ n: number }>(
            "select count(*)::int as n from items where score is null",
          );
          problems.push(...checkTenant(target.name, runs.rows, unscored.rows[0]!.n));
        });
      }
      return problems;
    },
    async dispose() {
      // DROP DATABASE waits for a checkpoint (~1.5 s here): drops side by side share them.
      const found = await connect(null, (c) =>
        c.query<{ name: string }>(
          "select datname as name from pg_database where left(datname, length($1)) = $1",
          [prefix],
        ),
      ).then(
        (r) => r.rows.map((row) => row.name),
        (error: Error) => {
          process.stderr.write(
            `bench:fleet: could not list the databases named ${prefix}…: ${error.message}\n`,
          );
          return [];
        },
      );
      const drop = async () => {
        for (let name = found.pop(); name !== undefined; name = found.pop()) {
          await connect(null, (c) =>
            c.query(`drop database if exists ${quote(name as string)} with (force)`),
          ).catch((error: Error) =>
            process.stderr.write(`bench:fleet: could not drop ${name}: ${error.message}\n`),
          );
        }
      };
      await Promise.all(Array.from({ length: 8 }, drop));
    },
  };
}

/** SQLite tenants: files in the bench project's `sqlite/` folder (removed with the project). */
export function sqliteTenants(project: BenchProject, rows: number): TenantKind {
  const dir = join(project.dir, "sqlite");
  const template = join(dir, "template.db");
  return {
    label: "sqlite",
    async template() {
      mkdirSync(dir, { recursive: true });
      const db = new Database(template);
      try {
        db.exec("create table items (id integer primary key, payload text not null)");
        db.exec("create table bench_runs (step text not null)");
        const insert = db.prepare("insert into items values (?, ?)");
        db.transaction(() => {
          for (let i = 1; i <= rows; i++)
            insert.run(i, `${i.toString(16).padStart(8, "0")}${"x".repeat(64)}`);
        })();
      } finally {
        db.close();
      }
      await stamp(project, `sqlite:${template}`);
    },
    async copies(set, count) {
      mkdirSync(join(dir, set), { recursive: true });
      return Array.from({ length: count }, (_, i) => {
        const file = join(dir, set, `tenant-${String(i + 1).padStart(3, "0")}.db`);
        copyFileSync(template, file);
        return { name: `${set}-${i + 1}`, url: `sqlite:${file}` };
      });
    },
    async verify(targets) {
      const problems: string[] = [];
      for (const target of targets) {
        const db = new Database(target.url.slice("sqlite:".length), { readonly: true });
        try {
          const runs = db.prepare("select step, count(*) as n from bench_runs group by step").all() as {
            step: string;
            n: number;
          }[];
          const { n } = db.prepare("select count(*) as n from items where score is null").get() as {
            n: number;
          };
          problems.push(...checkTenant(target.name, runs, n));
        } finally {
          db.close();
        }
      }
      return problems;
    },
    async dispose() {
      // The files go with the project folder.
    },
  };
}
