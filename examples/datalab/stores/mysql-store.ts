import type { StepContext } from "lockstep";
import mysql from "mysql2/promise";
import type { ItemV1 } from "../model.js";
import { type DatalabStore, LOCKSTEP_TABLES, SEED_BATCH, sqlItemCodec, withOpened } from "./store.js";

/** Runs `fn` with a connection of its own to `url` (mysql2 takes mariadb:// as mysql://). */
function withConnection<T>(url: string, fn: (conn: mysql.Connection) => Promise<T>): Promise<T> {
  const uri = url.replace(/^mariadb:/i, "mysql:");
  return withOpened(
    () => mysql.createConnection({ uri }),
    (conn) => conn.end(),
    fn,
  );
}

/**
 * 0.2.0's rewrite of the items with ids between the two `?`, as model.ts's rewriteRelationships
 * builds it: JSON_TABLE (MySQL 8, MariaDB 10.6+) unnests each item's relationships, GROUP_CONCAT
 * puts them back in array order (JSON_ARRAYAGG's ORDER BY is MariaDB's only), and the join on a
 * derived table lets MySQL read the table it updates.
 */
const REWRITE = `
update items i
  join (
    select s.id, concat('[', coalesce(group_concat(
             case
               when e.ord is null then null
               when json_contains_path(e.rel, 'one', '$.refcode') then e.rel
               when t.item_id is null then json_object(
                 'refcode', null, 'legacy_item_id', e.item_id, 'dangling', true,
                 'relation', e.relation, 'type', e.type)
               when t.refcode is null then json_object(
                 'refcode', null, 'legacy_item_id', e.item_id, 'target_without_refcode', true,
                 'relation', e.relation, 'type', e.type)
               else json_object('refcode', t.refcode, 'relation', e.relation, 'type', e.type)
             end order by e.ord separator ','), ''), ']') as rels
      from items s
      left join json_table(s.data, '$.relationships[*]' columns (
             ord for ordinality, rel json path '$', item_id varchar(255) path '$.item_id',
             relation varchar(255) path '$.relation', type varchar(255) path '$.type')) e on true
      left join items t on t.item_id = e.item_id
     where s.refcode is not null and s.id between ? and ?
     group by s.id) n on n.id = i.id
   set i.data = json_set(i.data, '$.relationships', json_extract(n.rels, '$'))`;

/** The datalab example on MySQL/MariaDB: items(id, item_id, refcode, data json). */
export const mysqlStore: DatalabStore = {
  async reset(url) {
    await withConnection(url, async (c) => {
      await c.query(`drop table if exists items, ${LOCKSTEP_TABLES.join(", ")}`);
    });
  },

  async seed(url, items) {
    await withConnection(url, async (c) => {
      await c.query(`create table if not exists items (
        id bigint auto_increment primary key, item_id varchar(64) not null unique, refcode varchar(64),
        data json not null) engine=InnoDB default charset=utf8mb4`);
      for (let start = 0; start < items.length; start += SEED_BATCH) {
        const batch = items.slice(start, start + SEED_BATCH);
        await c.query("insert into items (item_id, refcode, data) values ?", [
          batch.map(({ item_id, refcode, ...data }) => [item_id, refcode, JSON.stringify(data)]),
        ]);
      }
    });
  },

  async items(url) {
    return withConnection(url, async (c) => {
      const [rows] = await c.query<mysql.RowDataPacket[]>(
        "select item_id, refcode, data from items order by id",
      );
      return rows.map((r) => ({
        item_id: String(r.item_id),
        refcode: (r.refcode as string | null) ?? null,
        // MariaDB's JSON is LONGTEXT: mysql2 returns it as text there, parsed on MySQL 8.
        ...((typeof r.data === "string" ? JSON.parse(r.data) : r.data) as Omit<
          ItemV1,
          "item_id" | "refcode"
        >),
      }));
    });
  },

  async refcodesOf(db, itemIds) {
    if (itemIds.length === 0) return new Map();
    const [rows] = await (db as mysql.Connection).query<mysql.RowDataPacket[]>(
      "select item_id, refcode from items where item_id in (?)",
      [itemIds],
    );
    return new Map(rows.map((r) => [String(r.item_id), (r.refcode as string | null) ?? null]));
  },

  itemsSource: (fields) => ({ table: "items", key: "id", ...(fields && { fields }) }),
  rewriteStatement: REWRITE,
  withoutRefcode: { table: "items", where: "refcode is null" },
  ...sqlItemCodec,

  async indexRefcode(ctx: StepContext<mysql.Connection>) {
    if (ctx.dryRun) return;
    // MySQL 8 has no CREATE INDEX IF NOT EXISTS (MariaDB has): look first. The step holds
    // the lease, so nobody creates it in between.
    const [found] = await ctx.db.query<mysql.RowDataPacket[]>(
      `select 1 from information_schema.statistics
       where table_schema = database() and table_name = 'items' and index_name = 'items_refcode' limit 1`,
    );
    if (found.length === 0) await ctx.db.query("create unique index items_refcode on items (refcode)");
  },

  async dropItemField(ctx: StepContext<mysql.Connection>, field) {
    const path = `$.${field}`;
    const [result] = await ctx.db.query<mysql.ResultSetHeader>(
      "update items set data = json_remove(data, ?) where json_contains_path(data, 'one', ?)",
      [path, path],
    );
    return result.affectedRows;
  },
};
