/**
 * Per table/collection row counts and checksums: recorded in the manifest at backup time,
 * compared after a restore (`restore`, `backup --verify`).
 */
import { createHash } from "node:crypto";

/** One table or collection: how many rows and a checksum of them. */
export interface TableChecksum {
  readonly name: string;
  readonly rows: number;
  readonly checksum: string;
}

/** One difference between two sets of checksums. */
export interface ChecksumDifference {
  readonly name: string;
  readonly expected: { rows: number; checksum: string } | null;
  readonly actual: { rows: number; checksum: string } | null;
}

/**
 * A checksum of rows given as strings: the sha256 of their sorted sha256s, so it does not
 * depend on the order the database returns them in.
 */
export function checksumOfRows(rows: Iterable<string>): { rows: number; checksum: string } {
  const hashes: string[] = [];
  for (const row of rows) hashes.push(createHash("sha256").update(row).digest("hex"));
  hashes.sort();
  const all = createHash("sha256");
  for (const h of hashes) all.update(h);
  return { rows: hashes.length, checksum: all.digest("hex") };
}

/** Every table that differs between `expected` and `actual` (missing on either side included). */
export function compareChecksums(
  expected: readonly TableChecksum[],
  actual: readonly TableChecksum[],
): ChecksumDifference[] {
  const byName = new Map(actual.map((t) => [t.name, t]));
  const out: ChecksumDifference[] = [];
  for (const e of expected) {
    const a = byName.get(e.name);
    byName.delete(e.name);
    if (a === undefined || a.rows !== e.rows || a.checksum !== e.checksum) {
      out.push({ name: e.name, expected: pick(e), actual: a ? pick(a) : null });
    }
  }
  for (const a of byName.values()) out.push({ name: a.name, expected: null, actual: pick(a) });
  return out;
}

function pick(t: TableChecksum): { rows: number; checksum: string } {
  return { rows: t.rows, checksum: t.checksum };
}

/** Sorted by name, so two lists compare and print the same way. */
export function sortedByName(tables: TableChecksum[]): TableChecksum[] {
  return tables.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
