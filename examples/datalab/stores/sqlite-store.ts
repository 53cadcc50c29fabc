import { existsSync, rmSync } from "node:fs";
import { resolve } from "node:path";
import Database from "better-sqlite3";
import type { StepContext } from "lockstep";
import type { ItemV1 } from "../model.js";
import { type DatalabStore, sqlItemCodec } from "./store.js";

function fileOf(url: string): string {
  return resolve(url.replace(/^sqlite:(\/\/)?/, ""));
}

/**
 * 0.2.0's rewrite of the items with ids ?1..?2, as model.ts's rewriteRelationships builds it
 * (json_group_array in array order); one already keyed by refcode is kept, so a rerun changes nothing.
 */
const REWRITE = `
update items
   set data = json_set(data, '$.relationships', (
     select json(coalesce(json_group_array(json(
              case
                when json_type(e.value, '$.refcode') is not null then e.value
                when t.item_id is null then json_object(
                  'refcode', null, 'legacy_item_id', e.value ->> '$.item_id', 'dangling', json('true'),
                  'relation', e.value -> '$.relation', 'type', e.value -> '$.type')
                when t.refcode is null then json_object(
                  'refcode', null, 'legacy_item_id', e.value ->> '$.item_id', 'target_without_refcode', json('true'),
                  'relation', e.value -> '$.relation', 'type', e.value -> '$.type')
                else json_object('refcode', t.refcode, 'relation', e.value -> '$.relation', 'type', e.value -> '$.type')
              end) order by e.key), '[]'))
       from json_each(items.data, '$.relationships') e
       left join items t on t.item_id = e.value ->> '$.item_id'))
 where refcode is not null and id between ?1 and ?2`;

/** The datalab example on SQLite: items(id, item_id, refcode, data JSON). */
export const sqliteStore: DatalabStore = {
  async reset(url) {
    const file = fileOf(url);
    for (const suffix of ["", "-journal", "-wal", "-shm"])
      if (existsSync(file + suffix)) rmSync(file + suffix);
  },

  async seed(url, items) {
    const db = new Database(fileOf(url));
    try {
      db.exec(`create table if not exists items (
        id integer primary key autoincrement, item_id text not null unique, refcode text, data text not null)`);
      const insert = db.prepare("insert into items (item_id, refcode, data) values (?, ?, ?)");
      db.transaction(() => {
        for (const { item_id, refcode, ...data } of items) insert.run(item_id, refcode, JSON.stringify(data));
      })();
    } finally {
      db.close();
    }
  },

  async items(url) {
    const db = new Database(fileOf(url), { readonly: true });
    try {
      const rows = db.prepare("select item_id, refcode, data from items order by id").all() as {
        item_id: string;
        refcode: string | null;
        data: string;
      }[];
      return rows.map((r) => ({
        item_id: r.item_id,
        refcode: r.refcode,
        ...(JSON.parse(r.data) as Omit<ItemV1, "item_id" | "refcode">),
      }));
    } finally {
      db.close();
    }
  },

  async refcodesOf(db, itemIds) {
    const rows = (db as Database.Database)
      .prepare("select item_id, refcode from items where item_id in (select value from json_each(?))")
      .all(JSON.stringify(itemIds)) as { item_id: string; refcode: string | null }[];
    return new Map(rows.map((r) => [r.item_id, r.refcode]));
  },

  itemsSource: (fields) => ({ table: "items", key: "id", ...(fields && { fields }) }),
  rewriteStatement: REWRITE,
  withoutRefcode: { table: "items", where: "refcode is null" },
  ...sqlItemCodec,

  async indexRefcode(ctx: StepContext<Database.Database>) {
    if (!ctx.dryRun) ctx.db.exec("create unique index if not exists items_refcode on items (refcode)");
  },

  async dropItemField(ctx: StepContext<Database.Database>, field) {
    const path = `$.${field}`;
    return ctx.db
      .prepare("update items set data = json_remove(data, ?) where json_type(data, ?) is not null")
      .run(path, path).changes;
  },
};
