import { existsSync, rmSync } from "node:fs";
import { resolve } from "node:path";
import Database from "better-sqlite3";
import type { StepContext } from "lockstep";
import { type ItemV1, newCounts, type RewriteCounts, rewriteRelationships } from "../model.js";
import type { DatalabStore } from "./store.js";

/** Keyset page size of the 0.2.0 rewrite. */
const PAGE = 500;

function fileOf(url: string): string {
  return resolve(url.replace(/^sqlite:(\/\/)?/, ""));
}

interface Row {
  id: number;
  item_id: string;
  refcode: string | null;
  data: string;
}

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
        for (const item of items) {
          const { item_id, refcode, ...data } = item;
          insert.run(item_id, refcode, JSON.stringify(data));
        }
      })();
    } finally {
      db.close();
    }
  },

  async countWithoutRefcode(db) {
    return (
      (db as Database.Database).prepare("select count(*) as n from items where refcode is null").get() as {
        n: number;
      }
    ).n;
  },

  async relationshipsToRefcode(ctx: StepContext<Database.Database>): Promise<RewriteCounts> {
    const db = ctx.db;
    const refcodeOf = new Map(
      (db.prepare("select item_id, refcode from items").all() as Pick<Row, "item_id" | "refcode">[]).map(
        (r) => [r.item_id, r.refcode],
      ),
    );
    const total = refcodeOf.size;
    const counts = newCounts();
    const untouched: string[] = [];
    const page = db.prepare("select id, item_id, refcode, data from items where id > ? order by id limit ?");
    const update = db.prepare("update items set data = ? where id = ?");
    let last = 0;
    let done = 0;
    for (;;) {
      const rows = page.all(last, PAGE) as Row[];
      if (rows.length === 0) break;
      for (const row of rows) {
        if (row.refcode === null) {
          untouched.push(row.item_id);
          continue;
        }
        const data = JSON.parse(row.data) as Omit<ItemV1, "item_id" | "refcode">;
        data.relationships = rewriteRelationships(data.relationships ?? [], refcodeOf, counts);
        counts.items++;
        if (!ctx.dryRun) update.run(JSON.stringify(data), row.id);
      }
      last = rows.at(-1)!.id;
      done += rows.length;
      ctx.progress(done, total);
      // Let the event loop breathe (progress output, the lease heartbeat).
      await new Promise((r) => setImmediate(r));
    }
    counts.untouched = untouched.length;
    if (untouched.length > 0) {
      ctx.log(
        `left untouched (no refcode): ${untouched.slice(0, 20).join(", ")}${untouched.length > 20 ? ` and ${untouched.length - 20} more` : ""}`,
      );
    }
    return counts;
  },

  async indexRefcode(ctx: StepContext<Database.Database>) {
    if (!ctx.dryRun) ctx.db.exec("create unique index if not exists items_refcode on items (refcode)");
  },

  async items(url) {
    const db = new Database(fileOf(url), { readonly: true });
    try {
      return (db.prepare("select item_id, refcode, data from items order by id").all() as Row[]).map((r) => ({
        item_id: r.item_id,
        refcode: r.refcode,
        ...(JSON.parse(r.data) as Omit<ItemV1, "item_id" | "refcode">),
      }));
    } finally {
      db.close();
    }
  },
};
