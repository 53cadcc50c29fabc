/**
 * PostgreSQL advisory locks as lockstep uses them: a key from a stable hash of a name, and
 * who holds the lock with a given key (pg_locks), for the lease and for readState.
 */
import { createHash } from "node:crypto";
import type pg from "pg";
import type { LockHolderRow } from "./rows.js";
import { SqlParams } from "./sql-params.js";

/** A signed 64-bit advisory lock key from a stable hash of `text`. */
export function lockKey(text: string): bigint {
  return createHash("sha256").update(text).digest().readBigInt64BE(0);
}

/** How pg_locks shows a bigint advisory key: high and low 32 bits, unsigned. */
export function lockIds(key: bigint): [number, number] {
  const unsigned = BigInt.asUintN(64, key);
  return [Number(unsigned >> 32n), Number(unsigned & 0xffffffffn)];
}

/** The backend holding the advisory lock `key`, if any. */
export async function lockHolder(c: pg.ClientBase, key: bigint): Promise<LockHolderRow | null> {
  const p = new SqlParams();
  const { rows } = await c.query<{ holder: LockHolderRow | null }>(
    `select ${lockHolderSql(p, key)} as holder`,
    p.values,
  );
  return rows[0]?.holder ?? null;
}

/**
 * A scalar subquery: the backend holding the advisory lock `key` (pg_locks) as json, named
 * from its activity row, or null. `pg_stat_get_activity(pid)` reads that one backend, where
 * a join with the pg_stat_activity view would read every backend's row at each call.
 */
export function lockHolderSql(p: SqlParams, key: bigint): string {
  const [classid, objid] = lockIds(key);
  return `(select row_to_json(h) from (
      select l.pid, a.application_name, pg_catalog.pg_get_userbyid(a.usesysid) as usename,
             host(a.client_addr) as client_addr, a.backend_start, clock_timestamp() as now
      from pg_catalog.pg_locks l left join lateral pg_catalog.pg_stat_get_activity(l.pid) a on true
      where l.locktype = 'advisory' and l.granted and l.objsubid = 1
        and l.classid = ${p.add(classid)} and l.objid = ${p.add(objid)}
        and l.database = (select oid from pg_catalog.pg_database where datname = current_database())
      limit 1) h)`;
}
