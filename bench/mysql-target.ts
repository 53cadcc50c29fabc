import mysql from "mysql2/promise";
import {
  type ItemV1,
  newCounts,
  type RelationshipV1,
  rewriteRelationships,
} from "../examples/datalab/model.js";
import { LOCKSTEP_TABLES, storeFor } from "../examples/datalab/stores/store.js";
import { ItemChecksum } from "./checksum.js";
import { rewriteStatement } from "./rewrite.js";
import type { BenchTarget, Timing } from "./target.js";

/** The bench's own database on the MySQL/MariaDB server. */
export const BENCH_DATABASE = "lockstep_bench";
/** The pristine 0.1.0 items every method starts from (a copy of what the seed wrote). */
const TEMPLATE = "items_seed";
const READ_PAGE = 10000;

interface ItemRow extends mysql.RowDataPacket {
  id: number;
  item_id: string;
  refcode: string | null;
  data: string | Record<string, unknown>;
}

/** MariaDB's JSON is LONGTEXT (text here); MySQL 8 returns it parsed. */
function dataOf(row: ItemRow): { name: string; type: string; relationships: RelationshipV1[] } {
  return (typeof row.data === "string" ? JSON.parse(row.data) : row.data) as ReturnType<typeof dataOf>;
}

/** `url` with its database replaced. */
function withDatabase(url: string, database: string): string {
  const parsed = new URL(url.replace(/^mariadb:/i, "mysql:"));
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** MySQL/MariaDB: items(id, item_id, refcode, data json) in database lockstep_bench, seeded by the example's store. */
export class MysqlTarget implements BenchTarget {
  readonly name = "mysql" as const;
  readonly needsInit = true;
  readonly lockstepUrl: string;
  seededBy = "the example's mysql store seed()";
  readonly #adminUrl: string;
  #conn: mysql.Connection | undefined;

  constructor(serverUrl: string) {
    this.#adminUrl = serverUrl.replace(/^mariadb:/i, "mysql:");
    this.lockstepUrl = withDatabase(serverUrl, BENCH_DATABASE);
  }

  async #db(): Promise<mysql.Connection> {
    this.#conn ??= await mysql.createConnection({ uri: this.lockstepUrl });
    return this.#conn;
  }

  async #admin(sql: string): Promise<void> {
    const admin = await mysql.createConnection({ uri: this.#adminUrl });
    try {
      await admin.query(sql);
    } finally {
      await admin.end();
    }
  }

  async prepare(items: readonly ItemV1[]): Promise<void> {
    await this.#admin(`drop database if exists ${BENCH_DATABASE}`);
    await this.#admin(`create database ${BENCH_DATABASE} character set utf8mb4`);
    await (await storeFor("mysql")).seed(this.lockstepUrl, items);
    await (await this.#db()).query(`rename table items to ${TEMPLATE}`);
  }

  async reset(): Promise<void> {
    const db = await this.#db();
    await db.query(`drop table if exists items, ${LOCKSTEP_TABLES.join(", ")}`);
    await db.query(`create table items like ${TEMPLATE}`);
    await db.query(`insert into items select * from ${TEMPLATE} order by id`);
    await db.query("analyze table items");
  }

  async naive(limit: number): Promise<Timing> {
    const db = await this.#db();
    const started = performance.now();
    // As peers' docs do it: read the items, then for each one look every target up and write it back.
    const [rows] = await db.query<ItemRow[]>(
      "select id, item_id, refcode, data from items where refcode is not null order by id limit ?",
      [limit],
    );
    const counts = newCounts();
    for (const row of rows) {
      const data = dataOf(row);
      const refcodeOf = new Map<string, string | null>();
      for (const rel of data.relationships) {
        const [found] = await db.query<ItemRow[]>("select refcode from items where item_id = ?", [
          rel.item_id,
        ]);
        if (found[0]) refcodeOf.set(rel.item_id, found[0].refcode);
      }
      const relationships = rewriteRelationships(data.relationships, refcodeOf, counts);
      await db.query("update items set data = ? where id = ?", [
        JSON.stringify({ ...data, relationships }),
        row.id,
      ]);
    }
    return { docs: rows.length, ms: performance.now() - started };
  }

  /** The store's range statement once, over the whole key range. */
  async single(): Promise<Timing> {
    const db = await this.#db();
    const sql = await rewriteStatement("mysql");
    const [[bounds]] = await db.query<mysql.RowDataPacket[]>(
      "select min(id) as lo, max(id) as hi from items",
    );
    const started = performance.now();
    const [result] = await db.query<mysql.ResultSetHeader>(sql, [bounds!.lo, bounds!.hi]);
    return { docs: result.affectedRows, ms: performance.now() - started };
  }

  async checksum(limit = Number.POSITIVE_INFINITY): Promise<string> {
    const db = await this.#db();
    const sum = new ItemChecksum();
    let after = 0;
    while (sum.count < limit) {
      const [rows] = await db.query<ItemRow[]>(
        "select id, item_id, refcode, data from items where id > ? order by id limit ?",
        [after, Math.min(READ_PAGE, limit - sum.count)],
      );
      for (const row of rows) sum.add({ item_id: row.item_id, refcode: row.refcode, ...dataOf(row) });
      if (rows.length === 0) break;
      after = rows[rows.length - 1]!.id;
    }
    return sum.digest();
  }

  /** Ends the connection and drops the bench's database: the shared server keeps nothing of a run. */
  async close(): Promise<void> {
    await this.#conn?.end();
    this.#conn = undefined;
    await this.#admin(`drop database if exists ${BENCH_DATABASE}`);
  }
}
