import type { LeaseAttempt, LeaseHandle, LeaseInfo, LeaseRequest } from "../../core/adapter.js";
import { HeartbeatLease, leaseLostError, type RenewOutcome } from "../heartbeat-lease.js";
import { type Db, q, tableExists } from "./state-store.js";

/** How long one lease attempt waits for another process's write lock (ms). */
const LEASE_ATTEMPT_BUSY_MS = 50;

/** The lease table and the handles of one open adapter still holding it. */
interface LeasePlace {
  /** The lease table, unquoted. */
  readonly name: string;
  /** The lease table, quoted. */
  readonly table: string;
  readonly live: Set<SqliteLease>;
}

/**
 * The lease of one open adapter: a row taken by one atomic upsert inside a write
 * transaction (which SQLite serialises across processes), live until it expires.
 */
export class SqliteLeaseRow {
  readonly #place: LeasePlace;

  /** `table` is the lease table's name (unquoted). */
  constructor(table: string) {
    this.#place = { name: table, table: q(table), live: new Set() };
  }

  /** One attempt to take the lease row; `busyTimeoutMs` is restored afterwards. */
  acquire(db: Db, request: LeaseRequest, busyTimeoutMs: number): LeaseAttempt {
    const t = this.#place.table;
    const now = Date.now();
    // One attempt is short: while the holder runs a step it holds SQLite's write lock, and
    // waiting out the full busy timeout here would make --no-wait wait. The core polls.
    db.pragma(`busy_timeout = ${LEASE_ATTEMPT_BUSY_MS}`);
    try {
      const taken = db
        .transaction(() => {
          const result = db
            .prepare(
              `insert into ${t} (id, owner, host, pid, os_user, acquired_at, expires_at)
               values (1, @owner, @host, @pid, @user, @acquiredAt, @expiresAt)
               on conflict (id) do update set owner = excluded.owner, host = excluded.host, pid = excluded.pid,
                 os_user = excluded.os_user, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
               where ${t}.expires_at < @now or ${t}.owner = excluded.owner`,
            )
            .run({
              owner: request.owner,
              host: request.host,
              pid: request.pid,
              user: request.user,
              acquiredAt: new Date(now).toISOString(),
              expiresAt: now + request.ttlMs,
              now,
            });
          return result.changes === 1;
        })
        .immediate();
      if (taken) return { lease: new SqliteLease(db, request, this.#place) };
    } catch (error) {
      // Another process is writing (SQLITE_BUSY past the busy timeout): the lease is busy too.
      if (!isBusy(error)) throw error;
    } finally {
      db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    }
    return { heldBy: safely(() => this.read(db)) };
  }

  /** The lease row, whoever holds it, expired or not. */
  read(db: Db): LeaseInfo | null {
    if (!tableExists(db, this.#place.name)) return null;
    const row = db.prepare(`select * from ${this.#place.table} where id = 1`).get() as LeaseRow | undefined;
    return row ? fromLeaseRow(row, Date.now()) : null;
  }

  /** Deletes the lease row (only `owner`'s, when given) and returns what it held. */
  break(db: Db, owner: string | undefined): LeaseInfo | null {
    if (!tableExists(db, this.#place.name)) return null;
    return db
      .transaction(() => {
        const current = this.read(db);
        if (!current || (owner !== undefined && current.owner !== owner)) return null;
        db.prepare(`delete from ${this.#place.table} where id = 1 and owner = ?`).run(current.owner);
        return current;
      })
      .immediate();
  }

  /**
   * Fails with E_LEASE_LOST unless `lease` still holds the lease row and its heartbeat has
   * not given it up. Only checks: the heartbeat renews the row.
   */
  assertHeld(db: Db, lease: LeaseHandle, displayName: string): void {
    const row = db.prepare(`select * from ${this.#place.table} where id = 1`).get() as LeaseRow | undefined;
    if (!lease.lost && row?.owner === lease.owner) return;
    if (lease instanceof SqliteLease) lease.markLost();
    const holder = row ? fromLeaseRow(row, Date.now()) : null;
    throw leaseLostError(
      displayName,
      holder && { owner: holder.owner, host: holder.host, pid: holder.pid, expiresAt: holder.expiresAt },
    );
  }

  /** Stops the heartbeats of the leases still held; their rows stay until they expire. */
  close(): void {
    for (const lease of [...this.#place.live]) lease.abandon();
  }
}

/** Our lease row, renewed by a heartbeat at a third of its lifetime. */
class SqliteLease extends HeartbeatLease {
  readonly #db: Db;
  readonly #place: LeasePlace;

  constructor(db: Db, request: LeaseRequest, place: LeasePlace) {
    super(request.owner);
    this.#db = db;
    this.#place = place;
    place.live.add(this);
    this.startHeartbeat(request.ttlMs, () => renewLease(db, place.table, this.owner, request.ttlMs));
  }

  async release(): Promise<void> {
    if (!this.stop()) return;
    this.#place.live.delete(this);
    try {
      this.#db.prepare(`delete from ${this.#place.table} where id = 1 and owner = ?`).run(this.owner);
    } catch {
      // Expiry frees it anyway.
    }
  }

  /** Stops the heartbeat; the row stays until it expires. */
  abandon(): void {
    this.stop();
    this.#place.live.delete(this);
  }
}

/** Pushes our row's expiry out by `ttlMs`: `lost` when another owner has the row now. */
function renewLease(db: Db, table: string, owner: string, ttlMs: number): RenewOutcome {
  try {
    const result = db
      .prepare(`update ${table} set expires_at = ? where id = 1 and owner = ?`)
      .run(Date.now() + ttlMs, owner);
    return result.changes === 1 ? "ok" : "lost";
  } catch (error) {
    if (isBusy(error) || isMidStatement(error)) return "busy";
    throw error;
  }
}

/** Another process holds SQLite's write lock (SQLITE_BUSY, SQLITE_LOCKED past the busy timeout). */
function isBusy(error: unknown): boolean {
  const code = (error as { code?: string }).code ?? "";
  return code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED");
}

/**
 * A step awaits while one of its statements iterates on the shared connection, and
 * better-sqlite3 refuses a second statement until it ends: busy for a moment, not lost.
 */
function isMidStatement(error: unknown): boolean {
  return error instanceof TypeError && error.message.includes("busy executing a query");
}

function safely<T>(fn: () => T): T | null {
  try {
    return fn();
  } catch {
    return null;
  }
}

export interface LeaseRow {
  owner: string;
  host: string;
  pid: number;
  os_user: string;
  acquired_at: string;
  expires_at: number;
}
export const fromLeaseRow = (r: LeaseRow, now: number): LeaseInfo => ({
  owner: r.owner,
  host: r.host,
  pid: r.pid,
  user: r.os_user,
  acquiredAt: r.acquired_at,
  expiresAt: new Date(r.expires_at).toISOString(),
  expired: r.expires_at < now,
});
