/**
 * lockstep's state on MySQL/MariaDB in one round trip: the start-up guard reads it at every
 * boot. One SELECT of scalar subqueries reads the stamp and floor rows, the ledger and
 * markers (JSON_ARRAYAGG), the lease (IS_USED_LOCK, the lease-info row, the holder's
 * connection), which of lockstep's tables exist and how many tables the app has. One
 * statement reads one InnoDB snapshot, so no transaction is needed.
 */
import type mysql from "mysql2/promise";
import type { DatabaseState } from "../../core/adapter.js";
import { STORE_PARTS } from "../../core/adapter.js";
import { DatabaseError } from "../../core/errors.js";
import { parseStamp, type ReadStateOptions } from "../../core/stamp.js";
import { floorOf, type SqlTableNames } from "../sql-shared.js";
import { leaseOf } from "./lease.js";
import { fromLedgerRow, fromMarkerRow, presentTables, q, type Row } from "./state-store.js";

const LEDGER_KEYS = ["version", "name", "checksum", "kind", "applied_at", "duration_ms", "app_version"];
const MARKER_KEYS = ["version", "name", "started_at", "owner", "host", "pid"];
const LEASE_KEYS = ["owner", "host", "pid", "os_user", "acquired_at", "expires_at", "session_id"];

/** `json_object('k', k, ...)`; `jsonText` columns go in as their text (MySQL 8 would nest them as JSON). */
const jsonObject = (keys: readonly string[], jsonText: readonly string[] = [], extra = "") =>
  `json_object(${[
    ...keys.map((k) => `'${k}', ${q(k)}`),
    ...jsonText.map((k) => `'${k}', cast(${q(k)} as char)`),
  ].join(", ")}${extra})`;

/** The store's tables (the registry is not one of its parts). */
const storeTables = (t: SqlTableNames) => STORE_PARTS.map((part) => t[part]);

/**
 * The SELECT reading the whole state, with its parameters. `present` says which of lockstep's
 * tables exist: a missing one reads as empty (MySQL refuses a statement naming a missing table).
 */
function stateSelect(
  t: SqlTableNames,
  lock: string,
  present: (table: string) => boolean,
): [string, unknown[]] {
  const rows = (table: string, order: string, keys: readonly string[], jsonText: readonly string[]) =>
    present(table)
      ? `(select cast(json_arrayagg(${jsonObject(keys, jsonText, ", 'n_', n_")}) as char) from
           (select x.*, row_number() over (order by ${order}) as n_ from ${q(table)} x) numbered)`
      : "null";
  const stateRow = (id: string) =>
    present(t.state) ? `(select version from ${q(t.state)} where id = '${id}')` : "null";
  const leaseRow = present(t.lease)
    ? `(select cast(${jsonObject(LEASE_KEYS)} as char) from ${q(t.lease)} where id = 1)`
    : "null";
  const sql = `select
    (select cast(json_arrayagg(table_name) as char) from information_schema.tables
      where table_schema = database() and table_name in (?)) as present,
    (select count(*) from information_schema.tables
      where table_schema = database() and table_name not in (?)) as user_objects,
    ${stateRow("stamp")} as stamp,
    ${stateRow("floor")} as floor,
    ${rows(t.ledger, "applied_at, version, name", LEDGER_KEYS, ["counts"])} as ledger,
    ${rows(t.markers, "started_at", MARKER_KEYS, ["checkpoint"])} as markers,
    is_used_lock(?) as lock_holder,
    ${leaseRow} as lease_row,
    case when is_used_lock(?) is null then null else
      (select cast(json_object('user', user, 'host', host) as char) from information_schema.processlist
        where id = is_used_lock(?)) end as lock_proc`;
  return [sql, [storeTables(t), Object.values(t), lock, lock, lock]];
}

/**
 * lockstep's state in one round trip when its store exists. A store with a table missing (a
 * new database, a damaged store) takes three: the refused SELECT, which tables exist, then
 * the SELECT without the missing ones.
 */
export async function readState(
  c: mysql.Connection,
  t: SqlTableNames,
  lock: string,
  options: ReadStateOptions,
): Promise<DatabaseState> {
  let row: Row | undefined;
  try {
    row = (await c.query<Row[]>(...stateSelect(t, lock, () => true)))[0][0];
  } catch (error) {
    if ((error as { code?: string }).code !== "ER_NO_SUCH_TABLE") throw error;
    const present = await presentTables(c, t);
    row = (await c.query<Row[]>(...stateSelect(t, lock, (table) => present.has(table))))[0][0];
  }
  return fromStateRow(row ?? {}, t, options);
}

function fromStateRow(row: Row | Record<string, unknown>, t: SqlTableNames, options: ReadStateOptions) {
  const present = new Set(parsed<string[]>(row.present, "lockstep's tables") ?? []);
  const stamp = parseStamp(row.stamp, `${t.state}.version`, options);
  const stored = parseStamp(row.floor, `${t.state}.version (id 'floor')`, options);
  const holder = row.lock_holder === null || row.lock_holder === undefined ? null : Number(row.lock_holder);
  return {
    stamp,
    ...floorOf(stamp, stored),
    hasLedger: present.has(t.ledger),
    missingStore: STORE_PARTS.filter((part) => !present.has(t[part])),
    userObjects: Number(row.user_objects ?? 0),
    ledger: inOrder(row.ledger, t.ledger).map(fromLedgerRow),
    interrupted: inOrder(row.markers, t.markers).map(fromMarkerRow),
    lease: leaseOf(
      holder,
      parsed<Row>(row.lease_row, t.lease),
      parsed<Row>(row.lock_proc, "the lock's holder"),
    ),
  };
}

/** A JSON array of rows numbered `n_` by the SELECT's ORDER BY, in that order (NULL: no rows). */
function inOrder(value: unknown, what: string): Row[] {
  return (parsed<(Row & { n_: number })[]>(value, what) ?? []).sort((a, b) => a.n_ - b.n_);
}

/**
 * A JSON text of the SELECT. MariaDB cuts JSON_ARRAYAGG at group_concat_max_len (the adapter
 * raises it when it connects): a cut array is an error here, never a short ledger.
 */
function parsed<T>(value: unknown, what: string): T | null {
  if (value === null || value === undefined) return null;
  try {
    return JSON.parse(String(value)) as T;
  } catch (error) {
    throw new DatabaseError("E_DATABASE_UNREADABLE", `could not read ${what}: the server returned cut JSON`, {
      cause: error,
      hint: "raise the server's group_concat_max_len and max_allowed_packet (MariaDB cuts JSON_ARRAYAGG at group_concat_max_len)",
    });
  }
}
