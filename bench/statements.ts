/**
 * The 0.1.0 → 0.2.0 rewrite said in each database's own language, as model.ts's
 * rewriteRelationships builds it: every relationship of an item with a refcode joined to its
 * target, in array order. `single` runs it over the whole table (method c); `range` over
 * one key range, with the range's first and last key as parameters in the driver's style,
 * for `ctx.batchRanges` (method d, bench/set-step.ts). Each database is compared with its own.
 */

/** The range's first and last key as the driver's placeholders; null: the whole table. */
type Range = readonly [string, string] | null;

/** The items a rewrite touches: those with a refcode (in the range). */
function where(alias: string, range: Range): string {
  const inRange = range ? ` and ${alias}id between ${range[0]} and ${range[1]}` : "";
  return `${alias}refcode is not null${inRange}`;
}

/** PostgreSQL: jsonb has no key order, so these objects compare equal to the model's. */
function postgres(range: Range): string {
  return `
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
 where ${where("i.", range)}`;
}

/** SQLite (3.44+: ORDER BY inside an aggregate); JSON is text, json() keeps objects objects. */
function sqlite(range: Range): string {
  return `
update items
   set data = json_set(data, '$.relationships', (
     select json_group_array(json(
              case
                when json_type(e.value, '$.refcode') is not null then e.value
                when t.item_id is null then json_object(
                  'refcode', null, 'legacy_item_id', e.value->>'item_id', 'dangling', json('true'),
                  'relation', e.value->>'relation', 'type', e.value->>'type')
                when t.refcode is null then json_object(
                  'refcode', null, 'legacy_item_id', e.value->>'item_id', 'target_without_refcode', json('true'),
                  'relation', e.value->>'relation', 'type', e.value->>'type')
                else json_object('refcode', t.refcode, 'relation', e.value->>'relation', 'type', e.value->>'type')
              end) order by e.key)
       from json_each(items.data, '$.relationships') e
       left join items t on t.item_id = e.value->>'item_id'))
 where ${where("", range)}`;
}

/**
 * MariaDB 10.6+ (JSON_TABLE, JSON_ARRAYAGG with ORDER BY): the new arrays are built in a
 * derived table (materialized, so the update may read the table it writes) and joined back.
 * An item whose array is empty is not in it and keeps its (empty) array.
 */
function mysql(range: Range): string {
  const rel = (field: string) => `json_value(i.data, concat('$.relationships[', r.ord - 1, '].${field}'))`;
  return `
update items u join (
  select i.id, json_arrayagg(
           case
             when json_exists(i.data, concat('$.relationships[', r.ord - 1, '].refcode'))
               then json_extract(i.data, concat('$.relationships[', r.ord - 1, ']'))
             when t.item_id is null then json_object(
               'refcode', null, 'legacy_item_id', ${rel("item_id")}, 'dangling', true,
               'relation', ${rel("relation")}, 'type', ${rel("type")})
             when t.refcode is null then json_object(
               'refcode', null, 'legacy_item_id', ${rel("item_id")}, 'target_without_refcode', true,
               'relation', ${rel("relation")}, 'type', ${rel("type")})
             else json_object('refcode', t.refcode, 'relation', ${rel("relation")}, 'type', ${rel("type")})
           end order by r.ord) as rels
    from items i
    join json_table(i.data, '$.relationships[*]'
           columns (ord for ordinality, item_id varchar(64) path '$.item_id')) r
    left join items t on t.item_id = r.item_id
   where ${where("i.", range)}
   group by i.id) v on u.id = v.id
   set u.data = json_set(u.data, '$.relationships', json_extract(v.rels, '$'))`;
}

const BUILDERS = { postgres, sqlite, mysql } as const;
/** How each driver numbers the range's first and last key. */
const BOUNDS = { postgres: ["$1", "$2"], sqlite: ["?1", "?2"], mysql: ["?", "?"] } as const;

export type SqlKind = keyof typeof BUILDERS;

/** The rewrite over the whole table, in one statement. */
export function singleStatement(kind: SqlKind): string {
  return BUILDERS[kind](null);
}

/** The rewrite over the key range [first, last], for `ctx.batchRanges`. */
export function rangeStatement(kind: SqlKind): string {
  return BUILDERS[kind](BOUNDS[kind]);
}
