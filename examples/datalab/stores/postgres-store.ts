import type { StepContext } from "lockstep";
import pg from "pg";
import type { ItemV1 } from "../model.js";
import { type DatalabStore, LOCKSTEP_TABLES, SEED_BATCH, sqlItemCodec, withOpened } from "./store.js";

const q = (identifier: string) => `"${identifier.replaceAll('"', '""')}"`;

/**
 * `url` as `pg` takes it, and the schema of lockstep's tables: lockstep's own `schema=` and
 * `lease=` parameters are not `pg`'s.
 */
function connectionOf(url: string): { connectionString: string; schema: string } {
  const at = url.indexOf("?");
  if (at < 0) return { connectionString: url, schema: "public" };
  let schema = "public";
  const kept: string[] = [];
  for (const part of url.slice(at + 1).split("&")) {
    const [name = "", value = ""] = part.split("=");
    if (name === "schema") schema = decodeURIComponent(value);
    else if (name !== "lease" && part !== "") kept.push(part);
  }
  return {
    connectionString: kept.length > 0 ? `${url.slice(0, at)}?${kept.join("&")}` : url.slice(0, at),
    schema,
  };
}

/** Runs `fn` with a client of its own connected to `url`. */
function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const connect = async () => {
    const client = new pg.Client({ connectionString: connectionOf(url).connectionString });
    await client.connect();
    return client;
  };
  return withOpened(connect, (client) => client.end(), fn);
}

/**
 * 0.2.0's rewrite of the items with ids $1..$2: every relationship joined to its target in
 * array order and built as model.ts's rewriteRelationships builds it (jsonb has no key order,
 * so the objects compare equal); one already keyed by refcode is kept, so a rerun changes nothing.
 */
const REWRITE = `
update items i
   set data = jsonb_set(i.data, '{relationships}', (
     select coalesce(jsonb_agg(
              case
                when r ? 'refcode' then r
                when t.item_id is null then jsonb_build_object(
                  'refcode', null, 'legacy_item_id', r->'item_id', 'dangling', true,
                  'relation', r->'relation', 'type', r->'type')
                when t.refcode is null then jsonb_build_object(
                  'refcode', null, 'legacy_item_id', r->'item_id', 'target_without_refcode', true,
                  'relation', r->'relation', 'type', r->'type')
                else jsonb_build_object('refcode', t.refcode, 'relation', r->'relation', 'type', r->'type')
              end order by e.ord), '[]'::jsonb)
       from jsonb_array_elements(i.data->'relationships') with ordinality e(r, ord)
       left join items t on t.item_id = r->>'item_id'))
 where i.refcode is not null and i.id between $1 and $2`;

/** The datalab example on PostgreSQL: items(id, item_id, refcode, data jsonb). */
export const postgresStore: DatalabStore = {
  async reset(url) {
    const { schema } = connectionOf(url);
    await withClient(url, async (c) => {
      await c.query("drop table if exists items");
      for (const table of LOCKSTEP_TABLES) await c.query(`drop table if exists ${q(schema)}.${q(table)}`);
    });
  },

  async seed(url, items) {
    await withClient(url, async (c) => {
      await c.query(`create table if not exists items (
        id bigserial primary key, item_id text not null unique, refcode text, data jsonb not null)`);
      for (let start = 0; start < items.length; start += SEED_BATCH) {
        const batch = items.slice(start, start + SEED_BATCH);
        const values = batch.map((_, i) => `($${3 * i + 1}, $${3 * i + 2}, $${3 * i + 3}::jsonb)`);
        await c.query(
          `insert into items (item_id, refcode, data) values ${values.join(", ")}`,
          batch.flatMap(({ item_id, refcode, ...data }) => [item_id, refcode, JSON.stringify(data)]),
        );
      }
    });
  },

  async items(url) {
    return withClient(url, async (c) => {
      const { rows } = await c.query<{ item_id: string; refcode: string | null; data: object }>(
        "select item_id, refcode, data from items order by id",
      );
      return rows.map((r) => ({
        item_id: r.item_id,
        refcode: r.refcode,
        ...(r.data as Omit<ItemV1, "item_id" | "refcode">),
      }));
    });
  },

  async refcodesOf(db, itemIds) {
    const { rows } = await (db as pg.ClientBase).query<{ item_id: string; refcode: string | null }>(
      "select item_id, refcode from items where item_id = any($1::text[])",
      [itemIds],
    );
    return new Map(rows.map((r) => [r.item_id, r.refcode]));
  },

  itemsSource: (fields) => ({ table: "items", key: "id", ...(fields && { fields }) }),
  rewriteStatement: REWRITE,
  withoutRefcode: { table: "items", where: "refcode is null" },
  ...sqlItemCodec,

  async indexRefcode(ctx: StepContext<pg.ClientBase>) {
    if (!ctx.dryRun) await ctx.db.query("create unique index if not exists items_refcode on items (refcode)");
  },

  async dropItemField(ctx: StepContext<pg.ClientBase>, field) {
    const result = await ctx.db.query("update items set data = data - $1::text where data ? $1::text", [
      field,
    ]);
    return result.rowCount ?? 0;
  },
};
