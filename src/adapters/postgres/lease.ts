/**
 * The two ways lockstep holds its lease on PostgreSQL, behind one {@link PgLeaseMode} chosen
 * once from the adapter's options: a session advisory lock on a dedicated connection
 * (`session`), or a lease row with a server-clock expiry (`table`).
 */
import type pg from "pg";
import type { LeaseAttempt, LeaseHandle, LeaseInfo, LeaseRequest } from "../../core/adapter.js";
import { HeartbeatLease, leaseLostError } from "../heartbeat-lease.js";
import { sleep } from "../util.js";
import { lockHolder, lockHolderSql, lockIds, lockKey } from "./advisory-lock.js";
import { fromLeaseRow, fromLockHolderRow, type LeaseColumns, type LeaseRow } from "./rows.js";
import { SqlParams } from "./sql-params.js";
import type { PostgresStateStore } from "./state-store.js";

/**
 * How the lease is held. `session`: a session advisory lock on a dedicated connection (the
 * default; released by the server when that connection dies). `table`: a lease row with an
 * expiry judged by the server's clock, for PgBouncer transaction pooling and serverless
 * PostgreSQL, where session advisory locks leak (authentik #23876, rails #31190).
 */
export type PostgresLeaseMode = "session" | "table";

/** What a lease mode needs from the adapter: its tables and its connections. */
export interface PgLeaseContext {
  readonly store: PostgresStateStore;
  readonly displayName: string;
  /** A new dedicated connection. */
  connect(): Promise<pg.Client>;
  /** Runs `fn` in a transaction on one pooled connection. */
  inTransaction<T>(fn: (c: pg.ClientBase) => Promise<T>): Promise<T>;
  /** The pool of step connections. */
  pool(): pg.Pool;
  /** The adapter's shared connection, for reads. */
  main(): pg.ClientBase;
}

/** One lease mode: taking, checking, reading and breaking the lease. */
export interface PgLeaseMode {
  /** One attempt at the lease: the handle, or who holds it now. */
  acquire(request: LeaseRequest): Promise<LeaseAttempt>;
  /** Fails with E_LEASE_LOST unless `lease` still holds the lease (in table mode also locks its row on `c`). */
  assertOwned(c: pg.ClientBase, lease: LeaseHandle): Promise<void>;
  /** Before a step's transaction on `c` commits: in table mode, renews the row the transaction kept locked. */
  beforeCommit(c: pg.ClientBase, lease: LeaseHandle): Promise<void>;
  /** The lease as it is now (`tableExists`: whether the lease table exists). */
  read(c: pg.ClientBase, tableExists: boolean): Promise<LeaseInfo | null>;
  /**
   * The lease as part of one select list: the columns `lock_holder` and `lease_row` (json or
   * null), their parameters added to `p`, so readState reads it in the same statement.
   */
  columns(p: SqlParams, tableExists: boolean): string;
  /** The lease as {@link columns} selected it. */
  fromColumns(row: LeaseColumns): LeaseInfo | null;
  /** Breaks the lease (only `owner`'s, when given); what it broke, or null. */
  break(c: pg.ClientBase, owner: string | undefined): Promise<LeaseInfo | null>;
  /** Abandons every lease still held and closes the connections kept for the lease. */
  close(): Promise<void>;
}

/** The lease mode `mode`, working on the adapter's connections through `ctx`. */
export function pgLeaseMode(mode: PostgresLeaseMode, ctx: PgLeaseContext): PgLeaseMode {
  return mode === "table" ? new LeaseRowMode(ctx) : new SessionLockMode(ctx);
}

/** How long one attempt on the lease row waits for a row lock held by the holder's open step (ms). */
const LEASE_ROW_LOCK_TIMEOUT_MS = 500;

/** PostgreSQL's lock_not_available: `lock_timeout` ran out waiting for a row lock. */
const LOCK_NOT_AVAILABLE = "55P03";

/** A lease handle of this module: it can also be abandoned when the adapter closes. */
abstract class PostgresLease extends HeartbeatLease {
  abstract abandon(): Promise<void>;
}

/** What both modes share: the leases they hand out, tracked until released, and the lost-lease check. */
abstract class TrackingMode implements PgLeaseMode {
  readonly #held = new Set<PostgresLease>();
  /** Stops tracking a lease that was released or abandoned. */
  protected readonly forget = (lease: PostgresLease): void => {
    this.#held.delete(lease);
  };

  constructor(protected readonly ctx: PgLeaseContext) {}

  abstract acquire(request: LeaseRequest): Promise<LeaseAttempt>;
  abstract columns(p: SqlParams, tableExists: boolean): string;
  abstract fromColumns(row: LeaseColumns): LeaseInfo | null;
  abstract break(c: pg.ClientBase, owner: string | undefined): Promise<LeaseInfo | null>;
  abstract beforeCommit(c: pg.ClientBase, lease: LeaseHandle): Promise<void>;
  /** Whether `lease` (not known to be lost) still holds the lease, as `c` sees it. */
  protected abstract stillOurs(c: pg.ClientBase, lease: LeaseHandle): Promise<boolean>;

  /** The same select as readState's lease columns, on its own. */
  async read(c: pg.ClientBase, tableExists: boolean): Promise<LeaseInfo | null> {
    const p = new SqlParams();
    const { rows } = await c.query<LeaseColumns>(`select ${this.columns(p, tableExists)}`, p.values);
    return rows[0] ? this.fromColumns(rows[0]) : null;
  }

  protected track<L extends PostgresLease>(lease: L): { lease: L } {
    this.#held.add(lease);
    return { lease };
  }

  /** Who holds the lease, as an attempt that did not get it reports it. */
  protected async heldBy(): Promise<LeaseAttempt> {
    return { heldBy: await this.read(this.ctx.main(), true).catch(() => null) };
  }

  async assertOwned(c: pg.ClientBase, lease: LeaseHandle): Promise<void> {
    if (!lease.lost && (await this.stillOurs(c, lease))) return;
    if (lease instanceof HeartbeatLease) lease.markLost();
    const holder = await this.read(c, true).catch(() => null);
    throw leaseLostError(
      this.ctx.displayName,
      holder && { owner: holder.owner, host: holder.host, pid: holder.pid, expiresAt: holder.expiresAt },
    );
  }

  async close(): Promise<void> {
    for (const lease of [...this.#held]) await lease.abandon();
  }
}

/** The session advisory lock, with the lease row naming its holder for others. */
class SessionLockMode extends TrackingMode {
  /** The advisory lock key of the lease. */
  readonly #key: bigint;
  /** An idle lease connection kept between two attempts, so a waiter does not reconnect each poll. */
  #spare: pg.Client | undefined;

  constructor(ctx: PgLeaseContext) {
    super(ctx);
    this.#key = lockKey(`lockstep:lease:${ctx.store.schema}.${ctx.store.tables.lease}`);
  }

  async acquire(request: LeaseRequest): Promise<LeaseAttempt> {
    const spare = this.#spare;
    this.#spare = undefined;
    const client = spare ?? (await this.ctx.connect());
    try {
      // Names the holder in pg_stat_activity for anyone looking at the server.
      await client.query("select set_config('application_name', $1, false)", [
        `lockstep pid ${request.pid} on ${request.host}`.slice(0, 63),
      ]);
      const { rows } = await client.query<{ ok: boolean; pid: number }>(
        "select pg_try_advisory_lock($1::bigint) as ok, pg_backend_pid() as pid",
        [this.#key.toString()],
      );
      const row = rows[0];
      if (row?.ok !== true) {
        this.#spare = client;
        return await this.heldBy();
      }
      await takeLeaseRow(client, this.ctx.store.ref("lease"), request, "session");
      return this.track(new PostgresSessionLease(this.ctx, this.forget, client, this.#key, row.pid, request));
    } catch (error) {
      await client.end().catch(() => undefined);
      // A spare connection may have died while idle: one fresh connection decides.
      if (spare) return this.acquire(request);
      throw error;
    }
  }

  /** Who holds the advisory lock (pg_locks), and the lease row that names the holder. */
  columns(p: SqlParams, tableExists: boolean): string {
    const row = tableExists
      ? `(select row_to_json(r) from (select *, false as expired from ${this.ctx.store.ref("lease")} where id = 1) r)`
      : "null::json";
    return `${lockHolderSql(p, this.#key)} as lock_holder, ${row} as lease_row`;
  }

  /** The lease row once the holder has written it; until then (a few milliseconds after taking the lock) what pg_stat_activity says. */
  fromColumns({ lock_holder: holder, lease_row: row }: LeaseColumns): LeaseInfo | null {
    if (!holder) return null;
    return row && row.session_pid === holder.pid ? fromLeaseRow(row) : fromLockHolderRow(holder);
  }

  async break(c: pg.ClientBase, owner: string | undefined): Promise<LeaseInfo | null> {
    const L = this.ctx.store.ref("lease");
    const holder = await lockHolder(c, this.#key);
    const current = holder ? await this.read(c, true) : null;
    if (!holder || !current) {
      // The lock is free: a row left by a killed holder is stale and goes.
      await deleteLeaseRow(c, L, owner ?? null);
      return null;
    }
    if (owner !== undefined && current.owner !== owner) return null;
    // The server releases a session lock only with its session.
    await c.query("select pg_terminate_backend($1)", [holder.pid]);
    for (let i = 0; i < 50 && (await lockHolder(c, this.#key))?.pid === holder.pid; i++) await sleep(100);
    await deleteLeaseRow(c, L, current.owner);
    return current;
  }

  protected async stillOurs(c: pg.ClientBase, lease: LeaseHandle): Promise<boolean> {
    if (!(lease instanceof PostgresSessionLease)) return true;
    // pg_locks alone: this runs before every write (each batch page), and naming the holder
    // (lockHolder's activity lookup) is not needed to know it is us.
    const [classid, objid] = lockIds(this.#key);
    const { rowCount } = await c.query(
      `select 1 from pg_catalog.pg_locks
       where locktype = 'advisory' and granted and objsubid = 1 and classid = $1 and objid = $2 and pid = $3
         and database = (select oid from pg_catalog.pg_database where datname = current_database())`,
      [classid, objid, lease.backendPid],
    );
    return rowCount === 1;
  }

  async beforeCommit(): Promise<void> {}

  override async close(): Promise<void> {
    await super.close();
    const spare = this.#spare;
    this.#spare = undefined;
    await spare?.end().catch(() => undefined);
  }
}

/** The lease row taken by one atomic upsert, its expiry judged by the server's clock. */
class LeaseRowMode extends TrackingMode {
  async acquire(request: LeaseRequest): Promise<LeaseAttempt> {
    try {
      const taken = await this.ctx.inTransaction(async (c) => {
        // The holder's open step transaction locks the row; one attempt does not wait it out.
        await c.query(`set local lock_timeout = ${LEASE_ROW_LOCK_TIMEOUT_MS}`);
        return takeLeaseRow(c, this.ctx.store.ref("lease"), request, "table");
      });
      if (taken) return this.track(new PostgresLeaseRow(this.ctx, this.forget, request));
    } catch (error) {
      if ((error as { code?: string }).code !== LOCK_NOT_AVAILABLE) throw error;
    }
    return this.heldBy();
  }

  /** The lease row, its expiry judged by the server's clock. */
  columns(_p: SqlParams, tableExists: boolean): string {
    const row = tableExists
      ? `(select row_to_json(r) from (select *, expires_at < clock_timestamp() as expired
           from ${this.ctx.store.ref("lease")} where id = 1) r)`
      : "null::json";
    return `null::json as lock_holder, ${row} as lease_row`;
  }

  fromColumns({ lease_row: row }: LeaseColumns): LeaseInfo | null {
    return row ? fromLeaseRow(row) : null;
  }

  async break(c: pg.ClientBase, owner: string | undefined): Promise<LeaseInfo | null> {
    const row = await deleteLeaseRow(c, this.ctx.store.ref("lease"), owner ?? null);
    return row ? fromLeaseRow(row) : null;
  }

  /** Also locks the row until the step's transaction ends: nobody takes the lease over mid-step. */
  protected async stillOurs(c: pg.ClientBase, lease: LeaseHandle): Promise<boolean> {
    if (!(lease instanceof PostgresLeaseRow)) return true;
    return renewLeaseRow(c, this.ctx.store.ref("lease"), lease.owner, lease.ttlMs);
  }

  async beforeCommit(c: pg.ClientBase, lease: LeaseHandle): Promise<void> {
    // The row stayed locked by this transaction, so the heartbeat could not renew it.
    if (lease instanceof PostgresLeaseRow)
      await renewLeaseRow(c, this.ctx.store.ref("lease"), lease.owner, lease.ttlMs);
  }
}

/** The session advisory lock, held by a dedicated connection until it is released or that connection dies. */
class PostgresSessionLease extends PostgresLease {
  readonly #lease: string;
  readonly #forget: (lease: PostgresLease) => void;
  readonly #client: pg.Client;
  readonly #key: bigint;

  constructor(
    ctx: PgLeaseContext,
    forget: (lease: PostgresLease) => void,
    client: pg.Client,
    key: bigint,
    readonly backendPid: number,
    request: LeaseRequest,
  ) {
    super(request.owner);
    this.#lease = ctx.store.ref("lease");
    this.#forget = forget;
    this.#client = client;
    this.#key = key;
    const lose = () => this.markLost();
    client.on("error", lose);
    client.on("end", lose);
    // Keeps the lease row's expiry (shown to others) current, and finds a dead connection
    // even when the socket reports nothing.
    this.startHeartbeat(request.ttlMs, async () => {
      await renewLeaseRow(client, this.#lease, this.owner, request.ttlMs);
      return "ok" as const;
    });
  }

  async release(): Promise<void> {
    if (!this.stop()) return;
    this.#forget(this);
    try {
      await deleteLeaseRow(this.#client, this.#lease, this.owner);
      await this.#client.query("select pg_advisory_unlock($1::bigint)", [this.#key.toString()]);
    } catch {
      // Closing the connection below frees the lock anyway.
    }
    await this.#client.end().catch(() => undefined);
  }

  /** Stops the heartbeat and closes the connection, which frees the lock. */
  async abandon(): Promise<void> {
    this.stop();
    this.#forget(this);
    await this.#client.end().catch(() => undefined);
  }
}

/** Our lease row, renewed by a heartbeat at a third of its lifetime. */
class PostgresLeaseRow extends PostgresLease {
  readonly ttlMs: number;
  readonly #ctx: PgLeaseContext;
  readonly #forget: (lease: PostgresLease) => void;

  constructor(ctx: PgLeaseContext, forget: (lease: PostgresLease) => void, request: LeaseRequest) {
    super(request.owner);
    this.ttlMs = request.ttlMs;
    this.#ctx = ctx;
    this.#forget = forget;
    this.startHeartbeat(request.ttlMs, async () => {
      try {
        const renewed = await ctx.inTransaction(async (c) => {
          // Waits out a waiter's attempt (it locks the row for a moment), but not our own open
          // step transaction, which renews the row itself before it commits.
          await c.query(`set local lock_timeout = ${LEASE_ROW_LOCK_TIMEOUT_MS}`);
          return renewLeaseRow(c, ctx.store.ref("lease"), this.owner, this.ttlMs);
        });
        return renewed ? "ok" : "lost";
      } catch (error) {
        // Only a row locked by our own open step (or a waiter's attempt) is busy: the next beat
        // retries and the check before each write decides. Anything else cannot vouch for the lease.
        if ((error as { code?: string }).code === LOCK_NOT_AVAILABLE) return "busy";
        throw error;
      }
    });
  }

  async release(): Promise<void> {
    if (!this.stop()) return;
    this.#forget(this);
    try {
      await deleteLeaseRow(this.#ctx.pool(), this.#ctx.store.ref("lease"), this.owner);
    } catch {
      // Expiry frees it anyway.
    }
  }

  /** Stops the heartbeat; the row stays until it expires. */
  async abandon(): Promise<void> {
    this.stop();
    this.#forget(this);
  }
}

/**
 * Writes the lease row for `request`. `session`: always (the caller holds the advisory lock),
 * naming this backend. `table`: only when the row is free, expired or already ours; false otherwise.
 */
async function takeLeaseRow(
  c: pg.ClientBase,
  L: string,
  request: LeaseRequest,
  mode: PostgresLeaseMode,
): Promise<boolean> {
  const session = mode === "session";
  const { rowCount } = await c.query(
    `insert into ${L} (id, owner, host, pid, os_user, acquired_at, expires_at, session_pid)
     values (1, $1, $2, $3, $4, clock_timestamp(), clock_timestamp() + $5 * interval '1 millisecond',
       ${session ? "pg_backend_pid()" : "null"})
     on conflict (id) do update set owner = excluded.owner, host = excluded.host, pid = excluded.pid,
       os_user = excluded.os_user, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
       ${session ? ", session_pid = excluded.session_pid" : `where ${L}.expires_at < clock_timestamp() or ${L}.owner = excluded.owner`}`,
    [request.owner, request.host, request.pid, request.user, request.ttlMs],
  );
  return rowCount === 1;
}

/** The one renewal: `owner`'s lease row expires `ttlMs` from now (never sooner); false when `owner` does not hold it. */
async function renewLeaseRow(c: pg.ClientBase, L: string, owner: string, ttlMs: number): Promise<boolean> {
  const { rowCount } = await c.query(
    `update ${L} set expires_at = greatest(expires_at, clock_timestamp() + $2 * interval '1 millisecond')
     where id = 1 and owner = $1`,
    [owner, ttlMs],
  );
  return rowCount === 1;
}

/** Deletes the lease row (only `owner`'s, unless null); the row deleted, if any. */
async function deleteLeaseRow(
  c: pg.ClientBase | pg.Pool,
  L: string,
  owner: string | null,
): Promise<LeaseRow | undefined> {
  const { rows } = await c.query<LeaseRow>(
    `delete from ${L} where id = 1 and ($1::text is null or owner = $1)
     returning *, expires_at < clock_timestamp() as expired`,
    [owner],
  );
  return rows[0];
}
