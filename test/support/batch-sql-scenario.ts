/**
 * The batched step of test/batch-sql.test.ts and its child process: a table `things` of
 * rows with gaps in their keys, rewritten page by page with a counter column `n` the
 * transform increments, so a row rewritten twice shows n = 2.
 */
import type { Adapter } from "../../src/core/adapter.js";
import { upgrade } from "../../src/core/registry.js";
import type { StepDefinition } from "../../src/core/step.js";
import type { AdapterFixture } from "./fixtures.js";
import { Harness } from "./harness.js";

/** Rows in `things`. */
export const BATCH_ROWS = 5000;
/** Rows per page: 25 pages. */
export const BATCH_PAGE_SIZE = 200;

/** One row of `things` as the tests compare them. */
export interface ThingRow {
  id: number;
  n: number;
  label: string;
  doc: unknown;
}

/** Options of {@link batchStep}. */
export interface BatchStepOptions {
  readonly pagesPerSecond?: number;
  /** Called with the keys of every page the transform receives. */
  readonly seen?: (keys: readonly unknown[]) => void;
}

/** 1.1.0/rewrite-things: bumps `n`, upper-cases `label`, stores a JSON `doc`. The same source in parent and child. */
export function batchStep(options: BatchStepOptions = {}): StepDefinition {
  return upgrade({
    version: "1.1.0",
    name: "rewrite-things",
    batched: true,
    async run(ctx) {
      const result = await ctx.batch(
        { table: "things", key: "id" },
        (rows) => {
          options.seen?.(rows.map((r) => r.id));
          return rows.map((r) => ({
            key: r.id,
            set: {
              n: Number(r.n) + 1,
              label: String(r.label).toUpperCase(),
              doc: { from: r.label, parity: Number(r.id) % 2, tags: ["t", Number(r.id) % 5] },
            },
          }));
        },
        {
          pageSize: BATCH_PAGE_SIZE,
          ...(options.pagesPerSecond !== undefined && { pagesPerSecond: options.pagesPerSecond }),
        },
      );
      return { read: result.read, written: result.written };
    },
  });
}

/** Runs `sql` on an opened adapter's plain handle and returns its rows. */
export async function sqlRows(adapter: Adapter<any>, sql: string): Promise<Record<string, unknown>[]> {
  const db = adapter.handle();
  if (adapter.kind === "sqlite") {
    const statement = db.prepare(sql);
    if (statement.reader) return statement.all() as Record<string, unknown>[];
    statement.run();
    return [];
  }
  if (adapter.kind === "postgres") return (await db.query(sql)).rows;
  const [rows] = await db.query(sql);
  return Array.isArray(rows) ? rows : [];
}

/** Creates `things` with {@link BATCH_ROWS} rows whose keys are 3, 6, 9, … (gaps, so pages are not id ranges). */
export async function createThings(adapter: Adapter<any>): Promise<void> {
  const create = {
    sqlite:
      "create table things (id integer primary key, n integer not null default 0, label text not null, doc text)",
    postgres:
      "create table things (id bigint primary key, n integer not null default 0, label text not null, doc jsonb)",
    mysql:
      "create table things (id bigint primary key, n int not null default 0, label varchar(64) not null, doc json) engine=InnoDB",
  }[adapter.kind];
  if (!create) throw new Error(`no things table for ${adapter.kind}`);
  await sqlRows(adapter, create);
  for (let start = 1; start <= BATCH_ROWS; start += 1000) {
    const values: string[] = [];
    for (let i = start; i < start + 1000 && i <= BATCH_ROWS; i++) values.push(`(${3 * i}, 'item-${i}')`);
    await sqlRows(adapter, `insert into things (id, label) values ${values.join(", ")}`);
  }
}

/** Every row of `things` in key order, with keys and counters as numbers and `doc` parsed. */
export async function readThings(adapter: Adapter<any>): Promise<ThingRow[]> {
  const rows = await sqlRows(adapter, "select id, n, label, doc from things order by id");
  return rows.map((r) => ({
    id: Number(r.id),
    n: Number(r.n),
    label: String(r.label),
    doc: typeof r.doc === "string" ? JSON.parse(r.doc) : (r.doc ?? null),
  }));
}

/** A fresh database stamped 1.0.0 with `things` filled. */
export async function preparedThings(fixture: AdapterFixture): Promise<Harness> {
  const h = await Harness.create(fixture);
  try {
    await createThings(await h.adapter());
    await (await h.upgrader("1.0.0", [])).init();
    return h;
  } catch (error) {
    await h.dispose();
    throw error;
  }
}

/** The `things` of a harness's database, in key order. */
export async function thingsOf(h: Harness): Promise<ThingRow[]> {
  return readThings(await h.adapter());
}
