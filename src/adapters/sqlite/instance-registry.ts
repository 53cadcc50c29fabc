/**
 * The instance registry on SQLite: table `lockstep_instances`, created on first registration.
 * Times come from SQLite's clock (`'now'`), which on an embedded database is this machine's.
 */
import type { InstanceInfo, InstanceRecord } from "../../core/adapter.js";
import { fromInstanceRow, INSTANCE_COLUMNS, instanceValues, placeholders } from "../sql-shared.js";
import { type Db, q } from "./state-store.js";

/** An ISO time with milliseconds by SQLite's clock, `'now'` moved by `modifier` when given. */
const NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";
const nowPlus = (param: string) => `strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ${param})`;

/**
 * Records or refreshes `instance` (one upsert), live for `ttlMs` by SQLite's clock. A missing
 * registry is created and the upsert retried once. Throws the driver's error (the adapter
 * maps a read-only file or a held write lock to coded errors).
 */
export function registerInstance(db: Db, table: string, instance: InstanceRecord, ttlMs: number): void {
  const t = q(table);
  const upsert = () =>
    db
      .prepare(
        `insert into ${t} (${INSTANCE_COLUMNS}, last_seen, expires_at)
         values (${placeholders(6)}, ${NOW}, ${nowPlus("?")})
         on conflict (id) do update set app_version = excluded.app_version, host = excluded.host,
           pid = excluded.pid, owner = excluded.owner, started_at = excluded.started_at,
           last_seen = excluded.last_seen, expires_at = excluded.expires_at`,
      )
      .run(...instanceValues(instance), `+${(Math.max(0, ttlMs) / 1000).toFixed(3)} seconds`);
  try {
    upsert();
  } catch (error) {
    if (!isNoSuchTable(error)) throw error;
    db.exec(
      `create table if not exists ${t} (id text primary key, app_version text not null, host text not null,
         pid integer not null, owner text not null, started_at text not null, last_seen text not null,
         expires_at text not null)`,
    );
    upsert();
  }
}

/** Removes one instance; nothing when it or the registry is missing. */
export function removeInstance(db: Db, table: string, id: string): void {
  try {
    db.prepare(`delete from ${q(table)} where id = ?`).run(id);
  } catch (error) {
    if (!isNoSuchTable(error)) throw error;
  }
}

/** Every instance, its age and expiry judged by SQLite's clock in the same statement; [] without a registry. */
export function listInstances(db: Db, table: string): InstanceInfo[] {
  try {
    const rows = db
      .prepare(
        `select ${INSTANCE_COLUMNS}, last_seen,
           (julianday('now') - julianday(last_seen)) * 86400000.0 as age_ms,
           expires_at < ${NOW} as expired
         from ${q(table)} order by started_at, id`,
      )
      .all() as Record<string, unknown>[];
    return rows.map(fromInstanceRow);
  } catch (error) {
    if (isNoSuchTable(error)) return [];
    throw error;
  }
}

/** SQLite refuses a statement naming a table that does not exist. */
export function isNoSuchTable(error: unknown): boolean {
  return /^no such table/.test((error as Error).message ?? "");
}
