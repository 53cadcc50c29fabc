/**
 * `readState()` on MongoDB: everything lockstep knows about the database, read in one go by
 * the start-up guard at every boot.
 *
 * Five commands, sent together (no read waits for another, so on the driver's connection
 * pool they cost about one round trip) and none on a later path:
 *
 * - `listCollections` (names only): the ledger's presence, the missing store parts, the
 *   app's own collections;
 * - `find` of the stamp document (stamp and floor);
 * - `find` of the in-progress markers;
 * - `find` of the lease (the newest generation on FerretDB), its expiry judged by the
 *   server's clock through the offset measured at open (no `hello`);
 * - `find` of the ledger (sent even when listCollections will say the ledger is missing: a
 *   `find` on a missing collection answers nothing and creates nothing).
 *
 * Why not one command: a single `aggregate` on the stamp's collection with `$unionWith`
 * sub-pipelines for the markers, the lease and the ledger would read all four, but FerretDB
 * 1.24 answers `$unionWith`, `$lookup` and `$facet` with error 238 ("`aggregate` stage
 * "$unionWith" is not implemented yet"), and `$listCollections` with 40234 ("Unrecognized
 * pipeline stage name"); no MongoDB command reads documents of several collections
 * otherwise. The same five commands run on MongoDB, so the path tested on FerretDB is the
 * one MongoDB runs.
 */
import type * as Mongo from "mongodb";
import type { DatabaseState, StorePart } from "../../core/adapter.js";
import { STORE_PARTS } from "../../core/adapter.js";
import type { ReadStateOptions } from "../../core/stamp.js";
import {
  fromLedgerDoc,
  fromMarkerDoc,
  type LedgerDoc,
  type MarkerDoc,
  type MongoCollectionNames,
} from "./documents.js";
import type { MongoLeaseStore } from "./mongo-lease.js";
import { type StampDoc, type StampLayout, stampOf } from "./seed-stamp.js";
import type { ServerClock } from "./server-info.js";
import { countUserCollections } from "./user-collections.js";

/** What {@link readDatabaseState} reads from. */
export interface StateSource {
  readonly db: Mongo.Db;
  readonly layout: StampLayout;
  readonly lease: MongoLeaseStore;
  readonly clock: ServerClock;
}

/** The database's state in five commands sent together (see the file's comment). */
export async function readDatabaseState(
  source: StateSource,
  options: ReadStateOptions = {},
): Promise<DatabaseState> {
  const { db, layout } = source;
  const names = layout.collections;
  const [collections, stampDoc, markers, lease, ledger] = await Promise.all([
    db
      .listCollections({}, { nameOnly: true })
      .toArray()
      .then((found) => new Set(found.map(({ name }) => name))),
    db.collection<StampDoc>(names.metadata).findOne({ _id: layout.stampId }),
    db.collection(names.markers).find<MarkerDoc>({}).sort({ startedAt: 1 }).toArray(),
    source.lease.read(source.clock.now()),
    db.collection(names.ledger).find<LedgerDoc>({}).sort({ appliedAt: 1, _id: 1 }).toArray(),
  ]);
  const hasLedger = collections.has(names.ledger);
  return {
    ...stampOf(stampDoc, layout, options),
    hasLedger,
    missingStore: missingStore(collections, names),
    userObjects: countUserCollections(collections, names),
    ledger: hasLedger ? ledger.map(fromLedgerDoc) : [],
    interrupted: markers.map(fromMarkerDoc),
    lease,
  };
}

/** lockstep's collections missing from `present`; the seed's metadata collection counts as "state". */
function missingStore(present: ReadonlySet<string>, names: MongoCollectionNames): StorePart[] {
  const parts: Record<StorePart, string> = {
    state: names.metadata,
    ledger: names.ledger,
    history: names.history,
    lease: names.lease,
    markers: names.markers,
  };
  return STORE_PARTS.filter((part) => !present.has(parts[part]));
}
