/** The datalab example's 0.2.0 rewrite, checked item by item the same way on every database. */
import assert from "node:assert/strict";
import type { ItemV1, RelationshipV1, RelationshipV2 } from "../../examples/datalab/model.js";

/**
 * Asserts that `after` holds the `seeded` items in their order, each relationship keyed by its
 * target's refcode, and a relationship whose target is gone kept as a stub flagged `dangling: true`
 * with its old item_id. Returns how many dangling stubs there are.
 */
export function assertRewritten(seeded: readonly ItemV1[], after: readonly ItemV1[]): number {
  const refcodeOf = new Map(seeded.map((i) => [i.item_id, i.refcode]));
  assert.equal(after.length, seeded.length);
  let dangling = 0;
  for (const [i, item] of after.entries()) {
    const before = seeded[i]!;
    assert.equal(item.item_id, before.item_id, "insertion order kept");
    assert.equal(item.relationships.length, before.relationships.length, "no relationship vanishes");
    for (const [j, rel] of (item.relationships as RelationshipV2[]).entries()) {
      const old = before.relationships[j] as RelationshipV1;
      assert.equal(rel.relation, old.relation);
      assert.equal(rel.type, old.type);
      assert.ok(!("item_id" in rel));
      const target = refcodeOf.get(old.item_id);
      if (target === undefined) {
        dangling++;
        assert.deepEqual(
          {
            refcode: rel.refcode,
            legacy: "legacy_item_id" in rel && rel.legacy_item_id,
            flagged: "dangling" in rel && rel.dangling,
          },
          { refcode: null, legacy: old.item_id, flagged: true },
        );
      } else assert.equal(rel.refcode, target);
    }
  }
  assert.ok(dangling > 0, "the data set has dangling relationships");
  return dangling;
}
