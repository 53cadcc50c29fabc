import { createHash } from "node:crypto";
import type mysql from "mysql2/promise";
import type { LeaseAttempt, LeaseHandle, LeaseInfo, LeaseRequest } from "../../core/adapter.js";
import { HeartbeatLease, leaseLostError } from "../heartbeat-lease.js";
import { sleep } from "../util.js";
import { q, type Row } from "./state-store.js";

/** MySQL's limit on a GET_LOCK name. */
const MAX_LOCK_NAME = 64;

/** How often, and how many times, breaking a lease checks that the killed holder let go. */
const BREAK_POLL_MS = 100;
const BREAK_POLLS = 50;

/** A GET_LOCK name within MySQL's 64 characters: long names keep a readable head and a hash. */
export function lockName(text: string): string {
  if (text.length <= MAX_LOCK_NAME) return text;
  const hash = createHash("sha256").update(text).digest("hex").slice(0, 24);
  return `${text.slice(0, MAX_LOCK_NAME - hash.length - 1)}~${hash}`;
}

/** Where one adapter's lease lives: its GET_LOCK name, its info table, and the handles still held. */
interface LeasePlace {
  readonly lock: string;
  /** The lease-info table, quoted. */
  readonly table: string;
  readonly live: Set<MysqlLease>;
}

/**
 * The lease of one open adapter: a GET_LOCK held by a dedicated connection, plus a
 * lease-info row saying who holds it (informational: the lock itself does not expire).
 */
export class MysqlLeaseLock {
  readonly #place: LeasePlace;
  readonly #connect: () => Promise<mysql.Connection>;
  /** An idle lease connection kept between two attempts, so a waiter does not reconnect each poll. */
  #spare: mysql.Connection | undefined;

  /** `lock` is the server-wide GET_LOCK name, `table` the lease-info table (unquoted). */
  constructor(lock: string, table: string, connect: () => Promise<mysql.Connection>) {
    this.#place = { lock, table: q(table), live: new Set() };
    this.#connect = connect;
  }

  /** The server-wide GET_LOCK name. */
  get lock(): string {
    return this.#place.lock;
  }

  /** One attempt to take the lock; on failure `main` reads who holds it. */
  async acquire(request: LeaseRequest, main: mysql.Connection): Promise<LeaseAttempt> {
    const spare = this.#spare;
    this.#spare = undefined;
    const conn = spare ?? (await this.#connect());
    try {
      const [rows] = await conn.query<Row[]>("select get_lock(?, 0) as ok, connection_id() as id", [
        this.#place.lock,
      ]);
      // 1 is the only success: 0 is a timeout (held elsewhere), NULL an error. Kysely treats
      // any answer as success (its MySQL adapter ignores GET_LOCK's result); we do not.
      if (rows[0]?.ok !== 1) {
        this.#spare = conn;
        return { heldBy: await this.read(main, true).catch(() => null) };
      }
      const sessionId = Number(rows[0].id);
      await writeLeaseInfo(conn, this.#place.table, request, sessionId);
      return { lease: new MysqlLease(conn, sessionId, request, this.#place) };
    } catch (error) {
      conn.destroy();
      // A spare connection may have died while idle: one fresh connection decides.
      if (spare) return this.acquire(request, main);
      throw error;
    }
  }

  /** Who holds the lock: the lease-info row its holder wrote, while IS_USED_LOCK says that connection has it. */
  async read(c: mysql.Connection, tableExists: boolean): Promise<LeaseInfo | null> {
    const holder = await lockHolder(c, this.#place.lock);
    if (holder === null) return null;
    const row = tableExists
      ? (await c.query<Row[]>(`select * from ${this.#place.table} where id = 1`))[0][0]
      : undefined;
    if (row && Number(row.session_id) === holder) return fromLeaseRow(row);
    const [procs] = await c
      .query<Row[]>("select user, host from information_schema.processlist where id = ?", [holder])
      .catch((): [Row[]] => [[]]);
    return leaseOf(holder, row, procs[0]);
  }

  /** Ends the holder's session (the server frees a GET_LOCK only with it) and removes its row. */
  async break(c: mysql.Connection, owner: string | undefined): Promise<LeaseInfo | null> {
    const holder = await lockHolder(c, this.#place.lock);
    const current = holder === null ? null : await this.read(c, true);
    if (holder === null || current === null) {
      // The lock is free: a row left by a killed holder is stale and goes.
      await c.query(`delete from ${this.#place.table} where id = 1 and (? is null or owner = ?)`, [
        owner ?? null,
        owner ?? null,
      ]);
      return null;
    }
    if (owner !== undefined && current.owner !== owner) return null;
    await c.query(`kill connection ${Math.floor(holder)}`);
    for (let i = 0; i < BREAK_POLLS && (await lockHolder(c, this.#place.lock)) === holder; i++) {
      await sleep(BREAK_POLL_MS);
    }
    await c.query(`delete from ${this.#place.table} where id = 1 and owner = ?`, [current.owner]);
    return current;
  }

  /** Fails with E_LEASE_LOST unless the lock is still held by `lease`'s connection. */
  async assertHeld(c: mysql.Connection, lease: LeaseHandle, displayName: string): Promise<void> {
    let ours = !lease.lost;
    if (ours && lease instanceof MysqlLease)
      ours = (await lockHolder(c, this.#place.lock)) === lease.sessionId;
    if (ours) return;
    if (lease instanceof MysqlLease) lease.markLost();
    const holder = await this.read(c, true).catch(() => null);
    throw leaseLostError(
      displayName,
      holder && { owner: holder.owner, host: holder.host, pid: holder.pid, expiresAt: holder.expiresAt },
    );
  }

  /** Abandons the leases still held and closes the spare connection. */
  async close(): Promise<void> {
    for (const lease of [...this.#place.live]) await lease.abandon();
    const spare = this.#spare;
    this.#spare = undefined;
    await spare?.end().catch(() => undefined);
  }
}

/** The GET_LOCK held by a dedicated connection until it is released or that connection dies. */
class MysqlLease extends HeartbeatLease {
  readonly #conn: mysql.Connection;
  readonly #place: LeasePlace;

  constructor(
    conn: mysql.Connection,
    /** The connection id holding the lock, as IS_USED_LOCK reports it. */
    readonly sessionId: number,
    request: LeaseRequest,
    place: LeasePlace,
  ) {
    super(request.owner);
    this.#conn = conn;
    this.#place = place;
    place.live.add(this);
    const lose = () => this.markLost();
    conn.on("error", lose);
    conn.on("end", lose);
    // Keeps the lease-info row's expiry current, and finds a dead connection even when the
    // socket reports nothing.
    this.startHeartbeat(request.ttlMs, async () => {
      await renewLeaseInfo(conn, place.table, this.owner, request.ttlMs);
      return "ok" as const;
    });
  }

  async release(): Promise<void> {
    if (!this.stop()) return;
    this.#place.live.delete(this);
    try {
      await releaseLock(this.#conn, this.#place, this.owner);
    } catch {
      // Closing the connection below frees the lock anyway.
    }
    await this.#conn.end().catch(() => this.#conn.destroy());
  }

  /** Stops the heartbeat and closes the connection, which frees the lock. */
  async abandon(): Promise<void> {
    this.stop();
    this.#place.live.delete(this);
    await this.#conn.end().catch(() => this.#conn.destroy());
  }
}

/** The id of the connection holding `lock`, or null when it is free. */
async function lockHolder(c: mysql.Connection, lock: string): Promise<number | null> {
  const [rows] = await c.query<Row[]>("select is_used_lock(?) as holder", [lock]);
  const holder = rows[0]?.holder;
  return holder === null || holder === undefined ? null : Number(holder);
}

/** Writes the lease-info row of the connection that has just taken the lock. */
async function writeLeaseInfo(
  conn: mysql.Connection,
  table: string,
  request: LeaseRequest,
  sessionId: number,
): Promise<void> {
  const now = Date.now();
  await conn.query(
    `insert into ${table} (id, owner, host, pid, os_user, acquired_at, expires_at, session_id)
     values (1, ?, ?, ?, ?, ?, ?, ?)
     on duplicate key update owner = values(owner), host = values(host), pid = values(pid),
       os_user = values(os_user), acquired_at = values(acquired_at), expires_at = values(expires_at),
       session_id = values(session_id)`,
    [
      request.owner,
      request.host,
      request.pid,
      request.user,
      new Date(now).toISOString(),
      new Date(now + request.ttlMs).toISOString(),
      sessionId,
    ],
  );
}

/** Keeps the lease-info row's expiry current (informational: the lock itself does not expire). */
async function renewLeaseInfo(conn: mysql.Connection, table: string, owner: string, ttlMs: number) {
  await conn.query(`update ${table} set expires_at = ? where id = 1 and owner = ?`, [
    new Date(Date.now() + ttlMs).toISOString(),
    owner,
  ]);
}

/** Gives the lock back and removes the lease-info row. */
async function releaseLock(conn: mysql.Connection, place: LeasePlace, owner: string): Promise<void> {
  await conn.query(`delete from ${place.table} where id = 1 and owner = ?`, [owner]);
  await conn.query("select release_lock(?)", [place.lock]);
}

/**
 * The lease as the lock's `holder` (IS_USED_LOCK; null: free), the lease-info `row` and the
 * holder's processlist entry `proc` say: the row when it is the holder's, else the holder's
 * connection (taken a moment ago: its holder has not written the row yet).
 */
export function leaseOf(
  holder: number | null,
  row: Row | Record<string, unknown> | undefined | null,
  proc: Row | Record<string, unknown> | undefined | null,
): LeaseInfo | null {
  if (holder === null) return null;
  if (row && Number(row.session_id) === holder) return fromLeaseRow(row as Row);
  const now = new Date().toISOString();
  return {
    owner: `mysql connection ${holder}`,
    host: String(proc?.host ?? "unknown").replace(/:\d+$/, ""),
    pid: 0,
    user: String(proc?.user ?? "unknown"),
    acquiredAt: now,
    expiresAt: now,
    expired: false,
  };
}

/**
 * The lease-info row of the connection that holds the lock: live while it does, so
 * `expired` is always false (a session lock goes with its session, never by time).
 */
const fromLeaseRow = (r: Row): LeaseInfo => ({
  owner: String(r.owner),
  host: String(r.host),
  pid: Number(r.pid),
  user: String(r.os_user),
  acquiredAt: String(r.acquired_at),
  expiresAt: String(r.expires_at),
  expired: false,
});
