/**
 * lockstep's documents on MongoDB, beside the seed's stamp (see seed-stamp.ts): where they
 * live, their shapes, and the mappers between them and lockstep's records. Dates are stored
 * as BSON dates and read back as ISO text.
 */
import type {
  HistoryAction,
  HistoryEntry,
  InProgressMarker,
  LeaseInfo,
  LedgerEntry,
} from "../../core/adapter.js";
import { iso } from "../util.js";

/** The names of lockstep's collections beside the seed's metadata collection. */
export interface MongoCollectionNames {
  /** The seed's collection holding the `<app>_schema_version` singleton. */
  readonly metadata: string;
  readonly ledger: string;
  readonly history: string;
  readonly markers: string;
  readonly lease: string;
  /**
   * The instance registry (instance-registry.ts): created by the first registration, not by
   * `ensureStore()`, and not one of the store's parts (a store without it is not damaged).
   */
  readonly instances: string;
}

/** Default collection names (`metadata` is the seed's). */
export const DEFAULT_MONGO_COLLECTIONS: MongoCollectionNames = {
  metadata: "database_metadata",
  ledger: "lockstep_ledger",
  history: "lockstep_history",
  markers: "lockstep_markers",
  lease: "lockstep_lease",
  instances: "lockstep_instances",
};

/** One applied step in `lockstep_ledger`, `_id: "<version>/<name>"`. */
export interface LedgerDoc {
  _id: string;
  version: string;
  name: string;
  checksum: string | null;
  kind: LedgerEntry["kind"];
  appliedAt: Date;
  durationMs: number | null;
  appVersion: string | null;
  counts: Readonly<Record<string, number>> | null;
}

/** The ledger document of an entry. */
export const toLedgerDoc = (e: LedgerEntry): LedgerDoc => ({
  _id: `${e.version}/${e.name}`,
  version: e.version,
  name: e.name,
  checksum: e.checksum,
  kind: e.kind,
  appliedAt: new Date(e.appliedAt),
  durationMs: e.durationMs,
  appVersion: e.appVersion,
  counts: e.counts,
});

/** The entry a ledger document records. */
export const fromLedgerDoc = (d: LedgerDoc): LedgerEntry => ({
  version: d.version,
  name: d.name,
  checksum: d.checksum ?? null,
  kind: d.kind,
  appliedAt: iso(d.appliedAt),
  durationMs: d.durationMs ?? null,
  appVersion: d.appVersion ?? null,
  counts: d.counts ?? null,
});

/** One started step in `lockstep_markers`, `_id: "<version>/<name>"`. */
export interface MarkerDoc {
  _id: string;
  version: string;
  name: string;
  startedAt: Date;
  owner: string;
  host: string;
  pid: number;
  checkpoint: unknown;
}

/** The marker document of a started step. */
export const toMarkerDoc = (m: InProgressMarker): MarkerDoc => ({
  _id: `${m.version}/${m.name}`,
  version: m.version,
  name: m.name,
  startedAt: new Date(m.startedAt),
  owner: m.owner,
  host: m.host,
  pid: m.pid,
  checkpoint: m.checkpoint ?? null,
});

/** The started step a marker document records. */
export const fromMarkerDoc = (d: MarkerDoc): InProgressMarker => ({
  version: d.version,
  name: d.name,
  startedAt: iso(d.startedAt),
  owner: d.owner,
  host: d.host,
  pid: d.pid,
  checkpoint: d.checkpoint ?? null,
});

/** The lease's holder, as both lease stores write it (see mongo-lease.ts `leaseFields`). */
export interface LeaseDoc {
  _id: string;
  owner: string;
  host: string;
  pid: number;
  user: string;
  acquiredAt: Date;
  expiresAt: Date;
}

/** The lease a lease document records, expired or not by `now` (the server's clock). */
export const fromLeaseDoc = (d: LeaseDoc, now: Date): LeaseInfo => ({
  owner: d.owner,
  host: d.host,
  pid: d.pid,
  user: d.user,
  acquiredAt: iso(d.acquiredAt),
  expiresAt: iso(d.expiresAt),
  expired: new Date(d.expiresAt).getTime() < now.getTime(),
});

/** One entry of `lockstep_history`, ordered by `at`, then `_id`. */
export interface HistoryDoc {
  _id: unknown;
  at: Date;
  action: HistoryAction;
  version: string | null;
  step: string | null;
  outcome: HistoryEntry["outcome"];
  durationMs: number | null;
  host: string;
  user: string;
  pid: number;
  appVersion: string | null;
  lockstepVersion: string;
  details: Readonly<Record<string, unknown>> | null;
}

/** The history document of an entry (its `_id` is the server's). */
export const toHistoryDoc = (h: HistoryEntry): Omit<HistoryDoc, "_id"> => ({
  at: new Date(h.at),
  action: h.action,
  version: h.version,
  step: h.step,
  outcome: h.outcome,
  durationMs: h.durationMs,
  host: h.host,
  user: h.user,
  pid: h.pid,
  appVersion: h.appVersion,
  lockstepVersion: h.lockstepVersion,
  details: h.details,
});

/** The entry a history document records. */
export const fromHistoryDoc = (d: HistoryDoc): HistoryEntry => ({
  at: iso(d.at),
  action: d.action,
  version: d.version ?? null,
  step: d.step ?? null,
  outcome: d.outcome,
  durationMs: d.durationMs ?? null,
  host: d.host,
  user: d.user,
  pid: d.pid,
  appVersion: d.appVersion ?? null,
  lockstepVersion: d.lockstepVersion,
  details: d.details ?? null,
});
