/**
 * The datalab-like app of lockstep's demo. Release 0.1.0 stored each item with
 * `relationships: [{ item_id, relation, type }]`; item_id is editable, so release 0.2.0 keys
 * relationships by the immutable `refcode` (datalab issues #1184 and #323).
 */

/** A relationship as 0.1.0 stored it. */
export interface RelationshipV1 {
  item_id: string;
  relation: string;
  type: string;
}

/** A relationship as 0.2.0 stores it; a target that no longer exists keeps a stub. */
export type RelationshipV2 =
  | { refcode: string; relation: string; type: string }
  | { refcode: null; legacy_item_id: string; dangling: true; relation: string; type: string }
  | { refcode: null; legacy_item_id: string; target_without_refcode: true; relation: string; type: string };

/** An item as 0.1.0 stored it. */
export interface ItemV1 {
  item_id: string;
  refcode: string | null;
  /** Until release 0.5.0, which reads only `title` (0.4.0 copies it there). */
  name: string;
  /** From release 0.4.0: the item's display title. */
  title?: string | null;
  type: string;
  relationships: (RelationshipV1 | RelationshipV2)[];
}

/** Options of {@link generateItems}. */
export interface GenerateOptions {
  /** Share of items deleted after others linked to them (their relationships dangle). */
  readonly danglingRate?: number;
  /** How many items have no refcode (older datalab data; the 0.2.0 precondition catches them). */
  readonly withoutRefcode?: number;
  readonly relationshipsPerItem?: number;
  readonly seed?: number;
}

/** Deterministic pseudo-random numbers (mulberry32), so every demo run builds the same data. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const RELATIONS = ["parent", "child", "sibling", "reactant", "product"] as const;
const TYPES = ["samples", "cells", "starting_materials"] as const;

/** Builds `count` items as 0.1.0 stored them, some of whose relationships dangle. */
export function generateItems(count: number, options: GenerateOptions = {}): ItemV1[] {
  const rand = random(options.seed ?? 1833);
  const perItem = options.relationshipsPerItem ?? 3;
  const all = Array.from({ length: count }, (_, i) => ({
    item_id: `sample-${String(i + 1).padStart(6, "0")}`,
    refcode: `demo:${(i + 1).toString(36).toUpperCase().padStart(6, "0")}`,
    name: `Sample ${i + 1}`,
    type: TYPES[i % TYPES.length] as string,
  }));
  const items: ItemV1[] = all.map((item) => ({
    ...item,
    relationships: Array.from({ length: perItem }, () => {
      const target = all[Math.floor(rand() * all.length)]!;
      return {
        item_id: target.item_id,
        relation: RELATIONS[Math.floor(rand() * RELATIONS.length)] as string,
        type: target.type,
      };
    }),
  }));
  // Deleting items after the fact leaves the relationships pointing at them dangling.
  const deleted = new Set<number>();
  const toDelete = Math.round(count * (options.danglingRate ?? 0.01));
  while (deleted.size < toDelete) deleted.add(Math.floor(rand() * count));
  const kept = items.filter((_, i) => !deleted.has(i));
  for (let i = 0; i < (options.withoutRefcode ?? 0) && i < kept.length; i++)
    kept[i * 7 < kept.length ? i * 7 : i]!.refcode = null;
  return kept;
}

/** Counts of the 0.2.0 rewrite. */
export interface RewriteCounts {
  items: number;
  relationships: number;
  dangling: number;
  untouched: number;
  [key: string]: number;
}

/**
 * Rewrites one item's relationships from item_id to refcode. Relationships already in the
 * 0.2.0 form are kept as they are, so running the rewrite twice changes nothing.
 */
export function rewriteRelationships(
  relationships: readonly (RelationshipV1 | RelationshipV2)[],
  refcodeOf: ReadonlyMap<string, string | null>,
  counts: RewriteCounts,
): RelationshipV2[] {
  return relationships.map((rel) => {
    if ("refcode" in rel) return rel;
    counts.relationships++;
    const refcode = refcodeOf.get(rel.item_id);
    if (refcode === undefined) {
      counts.dangling++;
      return {
        refcode: null,
        legacy_item_id: rel.item_id,
        dangling: true,
        relation: rel.relation,
        type: rel.type,
      };
    }
    if (refcode === null) {
      return {
        refcode: null,
        legacy_item_id: rel.item_id,
        target_without_refcode: true,
        relation: rel.relation,
        type: rel.type,
      };
    }
    return { refcode, relation: rel.relation, type: rel.type };
  });
}

/** A fresh counts object. */
export function newCounts(): RewriteCounts {
  return { items: 0, relationships: 0, dangling: 0, untouched: 0 };
}
