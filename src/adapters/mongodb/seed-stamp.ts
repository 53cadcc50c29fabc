/**
 * The seed's stamp document (datalab PR #1833, research/datalab-and-jobflow-remote.md 1.5),
 * read and extended the way the seed's Python code does, and lockstep's writer for it and for
 * its own ledger, markers and history.
 *
 * The stamp is the singleton `{ _id: "<app>_schema_version", version, history: [{ version,
 * action, timestamp, <app>_version }] }` in `database_metadata`; lockstep `$set`s `version`
 * and `$push`es a seed-shaped entry, so the seed's own history is kept and extended. The
 * compatibility floor is lockstep's field `lockstep_floor` of that document, `$set` alone, so
 * the seed's fields and history are untouched (the seed's code ignores fields it does not know).
 */
import type * as Mongo from "mongodb";
import type {
  HistoryAction,
  HistoryEntry,
  InProgressMarker,
  LedgerEntry,
  StateWriter,
} from "../../core/adapter.js";
import { parseStamp, type ReadStateOptions } from "../../core/stamp.js";
import { type MongoCollectionNames, toHistoryDoc, toLedgerDoc, toMarkerDoc } from "./documents.js";

/** The seed's stamp document: `{ _id: "<app>_schema_version", version, history }`. */
export interface StampDoc {
  _id: string;
  version?: unknown;
  history?: SeedHistoryEntry[];
  /** lockstep's compatibility floor (see DESIGN.md); absent on a database stamped before floors. */
  lockstep_floor?: unknown;
}

/** The stamp document's field holding the compatibility floor. */
export const FLOOR_FIELD = "lockstep_floor";

/** `{ version, action, timestamp, <app>_version }`, as the seed writes it. */
export interface SeedHistoryEntry {
  version: string;
  action: string;
  timestamp: Date;
  [appVersionField: string]: unknown;
}

/** Where the stamp and lockstep's documents live: the adapter's names. */
export interface StampLayout {
  /** The app whose `<app>_version` the seed's history entries carry. */
  readonly app: string;
  /** The stamp document's `_id`. */
  readonly stampId: string;
  readonly collections: MongoCollectionNames;
}

/**
 * The stamped version (canonical semver), or null when the database is unstamped (the seed's
 * `get_db_version`: a missing document or an empty version), read from the stamp document
 * `doc`; and the compatibility floor: its `lockstep_floor` field, else the stamp standing in
 * for it (`floorRecorded` false: a database stamped before floors; never guess), null when
 * unstamped.
 *
 * The seed writes `str(packaging.Version)`, a PEP 440 string: `1.0`, `0.10`, `1.0rc1`,
 * `0.6.0.dev12+g1a2b3c`, `0.5.2.post1`. Each is read as semver by `pep440ToSemver`
 * (src/core/pep440.ts, which has the full table): missing parts are zeros (`0.10` is
 * `0.10.0`), `1.0.dev1 < 1.0a1 < 1.0rc1 < 1.0` as in PEP 440 (a dev release maps to
 * `1.0.0-0.dev.1`), a post-release and a local part become build metadata (`0.5.2.post1`
 * is `0.5.2+post.1`, equal to `0.5.2`). A stamp that is neither semver nor mappable PEP 440
 * (garbage, a number, a non-zero epoch `1!2.0.0`) is E_STAMP_INVALID naming the raw value
 * and document, unless `options.ignoreInvalidStamp` (`init --force`, which rewrites it).
 * lockstep writes the stamp back as semver.
 */
export function stampOf(
  doc: StampDoc | null,
  layout: StampLayout,
  options: ReadStateOptions = {},
): { stamp: string | null; floor: string | null; floorRecorded: boolean } {
  const stamp = parseStamp(doc?.version, stampLocation(layout), options);
  if (stamp === null) return { stamp, floor: null, floorRecorded: false };
  // The floor is parsed as the stamp is; with ignoreInvalidStamp a bad one reads as absent.
  const floor = parseStamp(doc?.[FLOOR_FIELD], `${stampLocation(layout)}.${FLOOR_FIELD}`, options);
  return floor === null
    ? { stamp, floor: stamp, floorRecorded: false }
    : { stamp, floor, floorRecorded: true };
}

/** Where the stamp lives: `database_metadata/datalab_schema_version`. */
export function stampLocation(layout: StampLayout): string {
  return `${layout.collections.metadata}/${layout.stampId}`;
}

/**
 * lockstep's writes. The stamp is written when the history entry that explains it arrives
 * (or at the end of the write), so the seed's history gets the seed's action names
 * ("initialise", "upgrade", "auto_stamp") and the application version.
 */
export class MongoStateWriter implements StateWriter {
  #pendingStamp: string | null = null;
  readonly #db: Mongo.Db;
  readonly #layout: StampLayout;
  readonly #options: { session?: Mongo.ClientSession };

  /** Writes through `db`, inside `session`'s transaction when there is one. */
  constructor(db: Mongo.Db, layout: StampLayout, session: Mongo.ClientSession | undefined) {
    this.#db = db;
    this.#layout = layout;
    this.#options = session ? { session } : {};
  }

  #collection(name: keyof MongoCollectionNames): Mongo.Collection<any> {
    return this.#db.collection(this.#layout.collections[name]);
  }

  async setStamp(version: string): Promise<void> {
    if (this.#pendingStamp !== null) await this.flush();
    this.#pendingStamp = version;
  }

  /** Writes a stamp set since the last history entry. */
  async flush(action: HistoryAction | null = null, appVersion: string | null = null): Promise<void> {
    const version = this.#pendingStamp;
    if (version === null) return;
    this.#pendingStamp = null;
    // The seed's update_db_version: one $set of the version and one $push of its history entry.
    const entry: SeedHistoryEntry = {
      version,
      action: seedAction(action),
      timestamp: new Date(),
      [`${this.#layout.app}_version`]: appVersion,
    };
    await (this.#collection("metadata") as Mongo.Collection<StampDoc>).updateOne(
      { _id: this.#layout.stampId },
      { $set: { version }, $push: { history: entry } },
      { upsert: true, ...this.#options },
    );
  }

  /** `$set`s `lockstep_floor` on the stamp document, in the write's session; nothing else changes. */
  async setFloor(version: string): Promise<void> {
    await (this.#collection("metadata") as Mongo.Collection<StampDoc>).updateOne(
      { _id: this.#layout.stampId },
      { $set: { [FLOOR_FIELD]: version } },
      { upsert: true, ...this.#options },
    );
  }

  async putLedgerEntry(e: LedgerEntry): Promise<void> {
    const doc = toLedgerDoc(e);
    await this.#collection("ledger").replaceOne({ _id: doc._id }, doc, { upsert: true, ...this.#options });
  }

  async deleteLedgerEntry(version: string, name: string): Promise<void> {
    await this.#collection("ledger").deleteOne({ _id: `${version}/${name}` }, this.#options);
  }

  async setMarker(m: InProgressMarker): Promise<void> {
    const doc = toMarkerDoc(m);
    await this.#collection("markers").replaceOne({ _id: doc._id }, doc, { upsert: true, ...this.#options });
  }

  async clearMarker(version: string, name: string): Promise<void> {
    await this.#collection("markers").deleteOne({ _id: `${version}/${name}` }, this.#options);
  }

  async appendHistory(h: HistoryEntry): Promise<void> {
    await this.flush(h.action, h.appVersion);
    await this.#collection("history").insertOne(toHistoryDoc(h), this.#options);
  }
}

/** The seed's history actions: "initialise", "upgrade", "auto_stamp" (and lockstep's "resolve"). */
export function seedAction(action: HistoryAction | null): string {
  if (action === "init") return "initialise";
  if (action === "auto_stamp") return "auto_stamp";
  if (action === "resolve") return "resolve";
  return "upgrade";
}

/** Kept here for callers that knew it as the seed's: the mapping lives in core. */
export { pep440ToSemver } from "../../core/pep440.js";
