import mysql from "mysql2/promise";
import type { ItemV1, RelationshipV1 } from "../examples/datalab/model.js";
import { LOCKSTEP_TABLES, storeFor } from "../examples/datalab/stores/store.js";
import { checksumByPages } from "./checksum.js";
import { naiveRewrite, withDatabase } from "./naive.js";
import { rewriteStatement } from "./rewrite.js";
import type { BenchTarget, Timing } from "./target.js";

/** The bench's own database on the MySQL/MariaDB server. */
export const BENCH_DATABASE = "lockstep_bench";
/** The pristine 0.1.0 items every method starts from (a copy of what the seed wrote). */
const TEMPLATE = "items_seed";

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
    const [rows] = await db.query<ItemRow[]>(
      "select id, item_id, refcode, data from items where refcode is not null order by id limit ?",
      [limit],
    );
    await naiveRewrite(
      rows.map((row) => ({ id: row.id, data: dataOf(row) })),
      async (itemId) =>
        (await db.query<ItemRow[]>("select refcode from items where item_id = ?", [itemId]))[0][0],
      (id, json) => db.query("update items set data = ? where id = ?", [json, id]),
    );
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
    const read = async (after: unknown, n: number) =>
      (
        await db.query<ItemRow[]>(
          "select id, item_id, refcode, data from items where id > ? order by id limit ?",
          [after ?? 0, n],
        )
      )[0];
    return checksumByPages(
      limit,
      read,
      (row) => ({ item_id: row.item_id, refcode: row.refcode, ...dataOf(row) }),
      (row) => row.id,
    );
  }

  /** Ends the connection and drops the bench's database: the shared server keeps nothing of a run. */
  async close(): Promise<void> {
    await this.#conn?.end();
    this.#conn = undefined;
    await this.#admin(`drop database if exists ${BENCH_DATABASE}`);
  }
}
