/**
 * `npx tsx bench/profile-postgres.ts [--page-size N] [--n N]`: where the time of lockstep's
 * 0.2.0 step goes on PostgreSQL. Seeds N items (default 200 000) in the bench's database,
 * replays the step's page loop with the statements the adapter and the store send (keyset
 * read, refcode lookup, `update … from unnest` of one JSON array, checkpoint row, commit),
 * timing each phase, then shows EXPLAIN (ANALYZE, BUFFERS) of one page's statements.
 */
import { parseArgs } from "node:util";
import pg from "pg";
import {
  generateItems,
  newCounts,
  type RelationshipV1,
  type RelationshipV2,
  rewriteRelationships,
} from "../examples/datalab/model.js";
import { PostgresTarget } from "./postgres-target.js";
import { rewriteStatement } from "./rewrite.js";

const { values } = parseArgs({
  options: {
    "page-size": { type: "string", default: "1000" },
    n: { type: "string", default: "200000" },
    postgres: {
      type: "string",
      default: process.env.BENCH_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test",
    },
    "synchronous-commit": { type: "string", default: "off" },
  },
});
const pageSize = Number(values["page-size"]);

interface Row {
  id: string;
  item_id: string;
  refcode: string | null;
  data: { name: string; type: string; relationships: (RelationshipV1 | RelationshipV2)[] };
}

const READ = 'select * from "items" where "id" > $2 order by "id" limit $1';
const LOOKUP = "select item_id, refcode from items where item_id = any($1::text[])";
const WRITE = `update "items" as t set "data" = v.c0
  from unnest($1::bigint[], array(select case when jsonb_typeof(e) = 'null' then null else e end
    from jsonb_array_elements($2::jsonb) with ordinality as x(e, i) order by i)) as v(k, c0) where t."id" = v.k`;

const target = new PostgresTarget(values.postgres);
await target.prepare(generateItems(Number(values.n)));
await target.reset();
const url = new URL(target.lockstepUrl);
url.search = "";
const db = new pg.Client({ connectionString: url.toString() });
await db.connect();
await db.query("create temporary table checkpoint (id int primary key, last_key bigint, read int)");
await db.query("insert into checkpoint values (1, 0, 0)");

const phases = { read: 0, lookup: 0, transform: 0, write: 0, checkpoint: 0, commit: 0 };
const counts = newCounts();
let after = "0";
let pages = 0;
let explainPage: { after: string; targets: string[]; ids: string[]; json: string } | null = null;
const started = performance.now();
for (;;) {
  let t = performance.now();
  const { rows } = await db.query<Row>(READ, [pageSize, after]);
  phases.read += performance.now() - t;
  if (rows.length === 0) break;
  t = performance.now();
  const targets = [
    ...new Set(
      rows.flatMap((r) => r.data.relationships.flatMap((rel) => ("item_id" in rel ? [rel.item_id] : []))),
    ),
  ];
  const found = await db.query<{ item_id: string; refcode: string | null }>(LOOKUP, [targets]);
  phases.lookup += performance.now() - t;
  t = performance.now();
  const refcodeOf = new Map(found.rows.map((r) => [r.item_id, r.refcode]));
  const ids = rows.map((r) => r.id);
  const json = `[${rows.map((r) => JSON.stringify({ ...r.data, relationships: rewriteRelationships(r.data.relationships, refcodeOf, counts) })).join(",")}]`;
  phases.transform += performance.now() - t;
  if (pages === Math.floor(198 / 2)) explainPage = { after, targets, ids, json };
  // As the adapter begins a page: its commit need not wait for the WAL flush.
  await db.query(
    `begin; set local synchronous_commit = ${values["synchronous-commit"] === "on" ? "on" : "off"}`,
  );
  t = performance.now();
  await db.query(WRITE, [ids, json]);
  phases.write += performance.now() - t;
  t = performance.now();
  await db.query("update checkpoint set last_key = $1, read = read + $2 where id = 1", [
    rows.at(-1)!.id,
    rows.length,
  ]);
  phases.checkpoint += performance.now() - t;
  t = performance.now();
  await db.query("commit");
  phases.commit += performance.now() - t;
  after = rows.at(-1)!.id;
  pages++;
}
const total = performance.now() - started;
process.stdout.write(
  `page size ${pageSize}, ${pages} pages, ${counts.items || counts.relationships / 3} items in ${(total / 1000).toFixed(1)} s (serial, no overlap)\n`,
);
for (const [phase, ms] of Object.entries(phases)) {
  process.stdout.write(
    `  ${phase.padEnd(10)} ${(ms / 1000).toFixed(2).padStart(6)} s  ${((100 * ms) / total).toFixed(0).padStart(3)} %\n`,
  );
}

async function explain(title: string, sql: string, params: unknown[]): Promise<void> {
  await db.query("begin");
  const { rows } = await db.query<{ "QUERY PLAN": string }>(`explain (analyze, buffers) ${sql}`, params);
  await db.query("rollback");
  // A page's ~3000 item_ids would fill the screen: the plans are shown without the array literal.
  const plan = rows.map((r) => r["QUERY PLAN"].replace(/'\{[^}]{200,}\}'/, "'{…}'"));
  process.stdout.write(`\n-- ${title}\n${plan.join("\n")}\n`);
}
if (explainPage) {
  await target.reset();
  await explain("read one page", READ, [pageSize, explainPage.after]);
  await explain("look up one page's targets", LOOKUP, [explainPage.targets]);
  await explain("write one page", WRITE, [explainPage.ids, explainPage.json]);
  await explain("the set-based statement over all items", await rewriteStatement("postgres"), [
    "0",
    String(Number.MAX_SAFE_INTEGER),
  ]);
}
await db.end();
await target.close();
