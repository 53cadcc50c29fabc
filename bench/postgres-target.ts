import pg from "pg";
import type { ItemV1, RelationshipV1, RelationshipV2 } from "../examples/datalab/model.js";
import { storeFor } from "../examples/datalab/stores/store.js";
import { checksumByPages } from "./checksum.js";
import { naiveRewrite, withDatabase } from "./naive.js";
import { rewriteStatement } from "./rewrite.js";
import type { BenchTarget, Timing } from "./target.js";

/** The bench's own database and the schema of lockstep's tables in it. */
export const BENCH_DATABASE = "lockstep_bench";
const LOCKSTEP_SCHEMA = "lockstep_bench";
/** The pristine 0.1.0 items every method starts from (a copy of what the seed wrote). */
const TEMPLATE = "items_seed";
const SEED_CHUNK = 5000;

interface ItemRow {
  id: string;
  item_id: string;
  refcode: string | null;
  data: { name: string; type: string; relationships: (RelationshipV1 | RelationshipV2)[] };
}

/** PostgreSQL: items(id bigserial, item_id unique, refcode, data jsonb) in database lockstep_bench. */
export class PostgresTarget implements BenchTarget {
  readonly name = "postgres" as const;
  readonly needsInit = true;
  readonly lockstepUrl: string;
  /** Who wrote the template: the example's store, or the bench's equivalent seeder. */
  seededBy = "";
  readonly #adminUrl: string;
  readonly #url: string;
  #client: pg.Client | undefined;

  constructor(serverUrl: string) {
    this.#adminUrl = serverUrl;
    this.#url = withDatabase(serverUrl, BENCH_DATABASE);
    this.lockstepUrl = `${this.#url}?schema=${LOCKSTEP_SCHEMA}`;
  }

  async #db(): Promise<pg.Client> {
    if (!this.#client) {
      this.#client = new pg.Client({ connectionString: this.#url });
      await this.#client.connect();
    }
    return this.#client;
  }

  async prepare(items: readonly ItemV1[]): Promise<void> {
    const admin = new pg.Client({ connectionString: this.#adminUrl });
    await admin.connect();
    try {
      await admin.query(`drop database if exists ${BENCH_DATABASE} with (force)`);
      await admin.query(`create database ${BENCH_DATABASE}`);
    } finally {
      await admin.end();
    }
    const store = await storeFor("postgres").catch(() => null);
    if (store) {
      await store.seed(this.#url, items);
      this.seededBy = "the example's postgres store seed()";
    } else {
      await this.#seed(items);
      this.seededBy = "the bench's seeder (no postgres store in the example yet)";
    }
    const db = await this.#db();
    await db.query(`alter table items rename to ${TEMPLATE}`);
  }

  /** The layout the example's SQL stores use: items(id, item_id, refcode, data). */
  async #seed(items: readonly ItemV1[]): Promise<void> {
    const db = await this.#db();
    await db.query(`create table items (
      id bigserial primary key, item_id text unique not null, refcode text, data jsonb not null)`);
    for (let at = 0; at < items.length; at += SEED_CHUNK) {
      const chunk = items.slice(at, at + SEED_CHUNK);
      await db.query(
        `insert into items (item_id, refcode, data)
         select item_id, refcode, data
           from unnest($1::text[], $2::text[], $3::jsonb[]) with ordinality as u(item_id, refcode, data, n)
          order by n`,
        [
          chunk.map((item) => item.item_id),
          chunk.map((item) => item.refcode),
          chunk.map(({ item_id, refcode, ...data }) => JSON.stringify(data)),
        ],
      );
    }
  }

  async reset(): Promise<void> {
    const db = await this.#db();
    await db.query(`drop schema if exists ${LOCKSTEP_SCHEMA} cascade`);
    await db.query("drop table if exists items");
    await db.query(`create table items (like ${TEMPLATE} including all)`);
    await db.query(`insert into items select * from ${TEMPLATE} order by id`);
    await db.query("vacuum analyze items");
  }

  async naive(limit: number): Promise<Timing> {
    const db = await this.#db();
    const started = performance.now();
    const { rows } = await db.query<ItemRow>(
      "select id, item_id, refcode, data from items where refcode is not null order by id limit $1",
      [limit],
    );
    await naiveRewrite(
      rows,
      async (itemId) =>
        (await db.query<{ refcode: string | null }>("select refcode from items where item_id = $1", [itemId]))
          .rows[0],
      (id, json) => db.query("update items set data = $1 where id = $2", [json, id]),
    );
    return { docs: rows.length, ms: performance.now() - started };
  }

  /** The store's range statement once, over the whole key range. */
  async single(): Promise<Timing> {
    const db = await this.#db();
    const sql = await rewriteStatement("postgres");
    const { rows } = await db.query<{ lo: string; hi: string }>(
      "select min(id) as lo, max(id) as hi from items",
    );
    const started = performance.now();
    const result = await db.query(sql, [rows[0]!.lo, rows[0]!.hi]);
    return { docs: result.rowCount ?? 0, ms: performance.now() - started };
  }

  async checksum(limit = Number.POSITIVE_INFINITY): Promise<string> {
    const db = await this.#db();
    const read = async (after: unknown, n: number) =>
      (
        await db.query<ItemRow>(
          "select id, item_id, refcode, data from items where id > $1 order by id limit $2",
          [after ?? "0", n],
        )
      ).rows;
    return checksumByPages(
      limit,
      read,
      (row) => ({ item_id: row.item_id, refcode: row.refcode, ...row.data }),
      (row) => row.id,
    );
  }

  /** Ends the connection and drops the bench's database: the shared server keeps nothing of a run. */
  async close(): Promise<void> {
    await this.#client?.end();
    this.#client = undefined;
    const admin = new pg.Client({ connectionString: this.#adminUrl });
    await admin.connect();
    try {
      await admin.query(`drop database if exists ${BENCH_DATABASE} with (force)`);
    } finally {
      await admin.end();
    }
  }
}
