/**
 * lockstep's rows as PostgreSQL returns them, and their mapping to the adapter contract's
 * types. A row read through `row_to_json`/`json_agg` (readState's one statement) has its
 * times as ISO text and its bigints as numbers, where `pg` returns a Date and a string.
 */
import type {
  HistoryEntry,
  InProgressMarker,
  InstanceInfo,
  LeaseInfo,
  LedgerEntry,
} from "../../core/adapter.js";
import { iso } from "../util.js";

/** A row of the ledger table. */
export interface LedgerRow {
  version: string;
  name: string;
  checksum: string | null;
  kind: LedgerEntry["kind"];
  applied_at: Date | string;
  duration_ms: string | number | null;
  app_version: string | null;
  counts: Record<string, number> | null;
}

/** A ledger row as a {@link LedgerEntry}. */
export const fromLedgerRow = (r: LedgerRow): LedgerEntry => ({
  version: r.version,
  name: r.name,
  checksum: r.checksum,
  kind: r.kind,
  appliedAt: iso(r.applied_at),
  durationMs: r.duration_ms === null ? null : Number(r.duration_ms),
  appVersion: r.app_version,
  counts: r.counts,
});

/** A row of the markers table. */
export interface MarkerRow {
  version: string;
  name: string;
  started_at: Date | string;
  owner: string;
  host: string;
  pid: number;
  checkpoint: unknown;
}

/** A marker row as an {@link InProgressMarker}. */
export const fromMarkerRow = (r: MarkerRow): InProgressMarker => ({
  version: r.version,
  name: r.name,
  startedAt: iso(r.started_at),
  owner: r.owner,
  host: r.host,
  pid: r.pid,
  checkpoint: r.checkpoint ?? null,
});

/** The lease row, with `expired` judged by the server's clock in the query. */
export interface LeaseRow {
  owner: string;
  host: string;
  pid: number;
  os_user: string;
  acquired_at: Date | string;
  expires_at: Date | string;
  session_pid: number | null;
  expired: boolean;
}

/** The lease row as a {@link LeaseInfo}. */
export const fromLeaseRow = (r: LeaseRow): LeaseInfo => ({
  owner: r.owner,
  host: r.host,
  pid: r.pid,
  user: r.os_user,
  acquiredAt: iso(r.acquired_at),
  expiresAt: iso(r.expires_at),
  expired: r.expired,
});

/** A row of the history table. */
export interface HistoryRow {
  at: Date;
  action: HistoryEntry["action"];
  version: string | null;
  step: string | null;
  outcome: HistoryEntry["outcome"];
  duration_ms: string | null;
  host: string;
  os_user: string;
  pid: number;
  app_version: string | null;
  lockstep_version: string;
  details: Record<string, unknown> | null;
}

/** A history row as a {@link HistoryEntry}. */
export const fromHistoryRow = (r: HistoryRow): HistoryEntry => ({
  at: iso(r.at),
  action: r.action,
  version: r.version,
  step: r.step,
  outcome: r.outcome,
  durationMs: r.duration_ms === null ? null : Number(r.duration_ms),
  host: r.host,
  user: r.os_user,
  pid: r.pid,
  appVersion: r.app_version,
  lockstepVersion: r.lockstep_version,
  details: r.details,
});

/** The backend holding the lease's advisory lock, from pg_locks and pg_stat_activity. */
export interface LockHolderRow {
  pid: number;
  application_name: string | null;
  usename: string | null;
  client_addr: string | null;
  backend_start: Date | string | null;
  now: Date | string;
}

/** The lease as one select list reads it (see `PgLeaseMode.columns`). */
export interface LeaseColumns {
  /** Session mode: the backend holding the advisory lock; null when free (always null in table mode). */
  lock_holder: LockHolderRow | null;
  lease_row: LeaseRow | null;
}

/** A lock holder the lease row does not name yet, described from pg_stat_activity. */
export const fromLockHolderRow = (holder: LockHolderRow): LeaseInfo => ({
  owner: `postgres backend ${holder.pid}`,
  host: holder.client_addr ?? "unknown",
  pid: Number(/ pid (\d+)/.exec(holder.application_name ?? "")?.[1] ?? 0),
  user: holder.usename ?? "unknown",
  acquiredAt: iso(holder.backend_start ?? holder.now),
  expiresAt: iso(holder.now),
  expired: false,
});

/** A row of the instance registry, with its age and expiry judged by the server's clock in the query. */
export interface InstanceRow {
  id: string;
  app_version: string;
  host: string;
  pid: number;
  owner: string;
  started_at: Date;
  last_seen: Date;
  age_ms: number;
  expired: boolean;
}

/** A registry row as an {@link InstanceInfo}. */
export const fromInstanceRow = (r: InstanceRow): InstanceInfo => ({
  id: r.id,
  appVersion: r.app_version,
  host: r.host,
  pid: r.pid,
  owner: r.owner,
  startedAt: iso(r.started_at),
  lastSeen: iso(r.last_seen),
  ageMs: Math.max(0, Math.round(r.age_ms)),
  expired: r.expired,
});
