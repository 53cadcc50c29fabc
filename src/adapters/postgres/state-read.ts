/**
 * readState on PostgreSQL in one statement: the stamp, the floor, the ledger and markers
 * (json_agg), the user-object count and the lease (pg_locks for the session lock, the lease
 * row judged by the server's clock), as scalar subqueries of one SELECT. One statement is one
 * snapshot, so the parts agree without a transaction around them: at every start-up check
 * this is one round trip where it was eight (BEGIN, the store's tables, stamp, ledger,
 * markers, user objects, lease, COMMIT).
 */
import type pg from "pg";
import { type DatabaseState, STORE_PARTS, type StorePart } from "../../core/adapter.js";
import { LockstepError } from "../../core/errors.js";
import { parseStamp, type ReadStateOptions } from "../../core/stamp.js";
import { floorOf } from "../sql-shared.js";
import type { PgLeaseMode } from "./lease.js";
import { fromLedgerRow, fromMarkerRow, type LeaseColumns, type LedgerRow, type MarkerRow } from "./rows.js";
import { SqlParams } from "./sql-params.js";
import type { PostgresStateStore, StateRowId } from "./state-store.js";
import { isUndefinedTable } from "./undefined-table.js";

/** The state as PostgreSQL reads it: the floor always said. */
export type PostgresState = DatabaseState & {
  readonly floor: string | null;
  readonly floorRecorded: boolean;
};

/** The one row of the state statement. */
interface StateRow extends LeaseColumns {
  stamp: string | null;
  floor: string | null;
  ledger: LedgerRow[] | null;
  markers: MarkerRow[] | null;
  /** count(*): a bigint, as text. */
  user_objects: string;
}

/**
 * Reads the whole state on `c`. With lockstep's store complete (every start-up check after
 * the first upgrade), one statement. Without it the statement names a missing table and
 * fails (42P01) before reading anything; then one query finds which tables exist and one
 * statement reads those: three round trips, on a database lockstep has not set up yet.
 */
export async function readPostgresState(
  c: pg.ClientBase,
  store: PostgresStateStore,
  lease: PgLeaseMode,
  options: ReadStateOptions,
): Promise<PostgresState> {
  try {
    return await readPresent(c, store, lease, new Set(STORE_PARTS), options);
  } catch (error) {
    if (!isUndefinedTable(error)) throw error;
  }
  return readPresent(c, store, lease, store.parts(await store.present(c)), options);
}

/** One statement reading the parts of the store in `present` (the others read as empty). */
async function readPresent(
  c: pg.ClientBase,
  store: PostgresStateStore,
  lease: PgLeaseMode,
  present: ReadonlySet<StorePart>,
  options: ReadStateOptions,
): Promise<PostgresState> {
  const p = new SqlParams();
  const has = (part: StorePart, sql: string, none: string) => (present.has(part) ? sql : none);
  const stateRow = (id: StateRowId) =>
    has("state", `(select version from ${store.ref("state")} where id = '${id}')`, "null::text");
  const text = `select ${stateRow("stamp")} as stamp, ${stateRow("floor")} as floor,
      ${has("ledger", `(select json_agg(l order by l.applied_at, l.version, l.name) from ${store.ref("ledger")} l)`, "null::json")} as ledger,
      ${has("markers", `(select json_agg(m order by m.started_at) from ${store.ref("markers")} m)`, "null::json")} as markers,
      ${store.userObjectsSql(p)} as user_objects,
      ${lease.columns(p, present.has("lease"))}`;
  const { rows } = await c.query<StateRow>(text, p.values);
  const row = rows[0];
  if (!row)
    throw new LockstepError("E_DATABASE_UNREADABLE", "PostgreSQL returned no row for lockstep's state");
  const location = `${store.tables.state}.version`;
  const stamp = parseStamp(row.stamp, location, options);
  // The stamp stands in for a floor not recorded (a database stamped before floors existed).
  const floor = parseStamp(row.floor, `${location} (row 'floor')`, options);
  return {
    stamp,
    ...floorOf(stamp, floor),
    hasLedger: present.has("ledger"),
    missingStore: STORE_PARTS.filter((part) => !present.has(part)),
    userObjects: Number(row.user_objects),
    ledger: (row.ledger ?? []).map(fromLedgerRow),
    interrupted: (row.markers ?? []).map(fromMarkerRow),
    lease: lease.fromColumns(row),
  };
}
