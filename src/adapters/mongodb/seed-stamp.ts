/**
 * The seed's stamp document (datalab PR #1833, research/datalab-and-jobflow-remote.md 1.5),
 * read and extended the way the seed's Python code does, and lockstep's writer for it and for
 * its own ledger, markers and history.
 *
 * The stamp is the singleton `{ _id: "<app>_schema_version", version, history: [{ version,
 * action, timestamp, <app>_version }] }` in `database_metadata`; lockstep `$set`s `version`
 * and `$push`es a seed-shaped entry, so the seed's own history is kept and extended.
 */
import type * as Mongo from "mongodb";
import type {
  HistoryAction,
  HistoryEntry,
  InProgressMarker,
  LedgerEntry,
  StateWriter,
} from "../../core/adapter.js";
import { normaliseVersion } from "../../core/versions.js";
import { type MongoCollectionNames, toHistoryDoc, toLedgerDoc, toMarkerDoc } from "./documents.js";

/** The seed's stamp document: `{ _id: "<app>_schema_version", version, history }`. */
export interface StampDoc {
  _id: string;
  version?: unknown;
  history?: SeedHistoryEntry[];
}

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

/** The stamped version (normalised semver), or null when the database is unstamped. */
export async function readStamp(db: Mongo.Db, layout: StampLayout): Promise<string | null> {
  const doc = await db.collection<StampDoc>(layout.collections.metadata).findOne({ _id: layout.stampId });
  const raw = doc?.version;
  // The seed's get_db_version: a missing document or an empty version is unstamped.
  if (raw === undefined || raw === null || raw === "") return null;
  const source = `${layout.collections.metadata} { _id: "${layout.stampId}" }`;
  try {
    return normaliseVersion(String(raw), source);
  } catch (error) {
    // The seed writes str(packaging.Version): PEP 440 ("1.0", "1.0.0rc1", "1.0.0.dev2").
    const converted = pep440ToSemver(String(raw));
    if (converted === null) throw error;
    return normaliseVersion(converted, source);
  }
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

/** PEP 440 release strings the seed may have written, as semver; null when not one. */
export function pep440ToSemver(value: string): string | null {
  const m = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:[-_.]?(a|b|rc)(\d+))?(?:[-_.]?dev(\d+))?$/i.exec(
    value.trim(),
  );
  if (!m) return null;
  const [, major, minor = "0", patch = "0", pre, preN, dev] = m;
  const pres = [
    pre !== undefined ? `${pre.toLowerCase()}.${preN}` : "",
    dev !== undefined ? `dev.${dev}` : "",
  ]
    .filter(Boolean)
    .join(".");
  return `${major}.${minor}.${patch}${pres ? `-${pres}` : ""}`;
}
