import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import type { ItemV1, RelationshipV1 } from "../examples/datalab/model.js";
import { storeFor } from "../examples/datalab/stores/store.js";
import { checksumByPages } from "./checksum.js";
import { naiveRewrite } from "./naive.js";
import { rewriteStatement } from "./rewrite.js";
import type { BenchTarget, Timing } from "./target.js";

interface ItemRow {
  id: number;
  item_id: string;
  refcode: string | null;
  data: string;
}

type Data = { name: string; type: string; relationships: RelationshipV1[] };

/** SQLite: items(id, item_id, refcode, data text) in a temp file, seeded by the example's store. */
export class SqliteTarget implements BenchTarget {
  readonly name = "sqlite" as const;
  readonly needsInit = true;
  readonly lockstepUrl: string;
  seededBy = "the example's sqlite store seed()";
  readonly #dir = mkdtempSync(join(tmpdir(), "lockstep-bench-sqlite-"));
  readonly #file = join(this.#dir, "items.db");
  /** The pristine 0.1.0 file every method starts from. */
  readonly #template = join(this.#dir, "items-seed.db");
  #conn: Database.Database | undefined;

  constructor() {
    this.lockstepUrl = `sqlite:${this.#file}`;
  }

  #db(): Database.Database {
    this.#conn ??= new Database(this.#file);
    return this.#conn;
  }

  async prepare(items: readonly ItemV1[]): Promise<void> {
    await (await storeFor("sqlite")).seed(`sqlite:${this.#template}`, items);
  }

  /** A fresh copy of the seeded file (no lockstep tables, no journal). */
  async reset(): Promise<void> {
    this.#conn?.close();
    this.#conn = undefined;
    for (const suffix of ["-journal", "-wal", "-shm"]) rmSync(this.#file + suffix, { force: true });
    copyFileSync(this.#template, this.#file);
  }

  async naive(limit: number): Promise<Timing> {
    const db = this.#db();
    const started = performance.now();
    const rows = db
      .prepare("select id, item_id, refcode, data from items where refcode is not null order by id limit ?")
      .all(limit) as ItemRow[];
    const lookup = db.prepare("select refcode from items where item_id = ?");
    const update = db.prepare("update items set data = ? where id = ?");
    await naiveRewrite(
      rows.map((row) => ({ id: row.id, data: JSON.parse(row.data) as Data })),
      (itemId) => lookup.get(itemId) as { refcode: string | null } | undefined,
      (id, json) => update.run(json, id),
    );
    return { docs: rows.length, ms: performance.now() - started };
  }

  /** The store's range statement once, over the whole key range. */
  async single(): Promise<Timing> {
    const db = this.#db();
    const statement = db.prepare(await rewriteStatement("sqlite"));
    const { lo, hi } = db.prepare("select min(id) as lo, max(id) as hi from items").get() as {
      lo: number;
      hi: number;
    };
    const started = performance.now();
    const result = statement.run({ 1: lo, 2: hi }); // numbered parameters bind by name
    return { docs: result.changes, ms: performance.now() - started };
  }

  async checksum(limit = Number.POSITIVE_INFINITY): Promise<string> {
    const statement = this.#db().prepare(
      "select id, item_id, refcode, data from items where id > ? order by id limit ?",
    );
    const read = (after: unknown, n: number) => statement.all(after ?? 0, n) as ItemRow[];
    const item = (row: ItemRow) => ({
      item_id: row.item_id,
      refcode: row.refcode,
      ...(JSON.parse(row.data) as Data),
    });
    return checksumByPages(limit, read, item, (row) => row.id);
  }

  /** Closes the file and removes the bench's directory. */
  async close(): Promise<void> {
    this.#conn?.close();
    this.#conn = undefined;
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
