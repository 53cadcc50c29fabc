/**
 * lockstep's state on SQLite in one statement: the start-up guard reads it at every boot.
 * One SELECT of scalar subqueries reads the stamp and floor rows, the ledger and markers
 * (as JSON arrays), the lease row, which of lockstep's tables exist and how many tables
 * the app has. A single statement reads one snapshot, so no transaction is needed.
 */
import type { DatabaseState } from "../../core/adapter.js";
import { STORE_PARTS } from "../../core/adapter.js";
import { parseStamp, type ReadStateOptions } from "../../core/stamp.js";
import { floorOf, type SqlTableNames } from "../sql-shared.js";
import { isNoSuchTable } from "./instance-registry.js";
import { fromLeaseRow, type LeaseRow } from "./lease.js";
import { type Db, fromLedgerRow, fromMarkerRow, type LedgerRow, type MarkerRow, q } from "./state-store.js";

const LEDGER_KEYS = [
  "version",
  "name",
  "checksum",
  "kind",
  "applied_at",
  "duration_ms",
  "app_version",
  "counts",
];
const MARKER_KEYS = ["version", "name", "started_at", "owner", "host", "pid", "checkpoint"];
const LEASE_KEYS = ["owner", "host", "pid", "os_user", "acquired_at", "expires_at"];

/** A string literal (table names are configuration, not user input, but quoted all the same). */
const lit = (text: string) => `'${text.replaceAll("'", "''")}'`;

/** `json_object('k', "k", ...)` of `keys`, plus `extra` pairs. */
const jsonObject = (keys: readonly string[], extra = "") =>
  `json_object(${keys.map((k) => `${lit(k)}, ${q(k)}`).join(", ")}${extra})`;

/** The store's tables (the registry is not one of its parts). */
const storeTables = (t: SqlTableNames) => STORE_PARTS.map((part) => t[part]);

/**
 * The SELECT reading the whole state. `present` says which of lockstep's tables exist: a
 * missing one reads as empty (SQLite refuses a statement naming a missing table).
 */
function stateSelect(t: SqlTableNames, present: (table: string) => boolean): string {
  const rows = (table: string, order: string, keys: readonly string[]) =>
    present(table)
      ? `(select json_group_array(${jsonObject(keys, ", 'n_', n_")}) from
           (select *, row_number() over (order by ${order}) as n_ from ${q(table)}))`
      : "'[]'";
  const stateRow = (id: string) =>
    present(t.state) ? `(select version from ${q(t.state)} where id = ${lit(id)})` : "null";
  return `select
    (select json_group_array(name) from sqlite_master
      where type = 'table' and name in (${storeTables(t).map(lit).join(", ")})) as present,
    (select count(*) from sqlite_master where type in ('table', 'view') and substr(name, 1, 7) <> 'sqlite_'
      and name not in (${Object.values(t).map(lit).join(", ")})) as user_objects,
    ${stateRow("stamp")} as stamp,
    ${stateRow("floor")} as floor,
    ${rows(t.ledger, "applied_at, version, name", LEDGER_KEYS)} as ledger,
    ${rows(t.markers, "started_at", MARKER_KEYS)} as markers,
    ${present(t.lease) ? `(select ${jsonObject(LEASE_KEYS)} from ${q(t.lease)} where id = 1)` : "null"} as lease`;
}

interface StateRow {
  present: string;
  user_objects: number;
  stamp: string | null;
  floor: string | null;
  ledger: string;
  markers: string;
  lease: string | null;
}

/**
 * lockstep's state in one statement when its store exists. A store with a table missing (a
 * new database, a damaged store) takes two: which tables exist, then the SELECT without the
 * missing ones.
 */
export function readState(db: Db, t: SqlTableNames, options: ReadStateOptions): DatabaseState {
  let row: StateRow;
  try {
    row = db.prepare(stateSelect(t, () => true)).get() as StateRow;
  } catch (error) {
    if (!isNoSuchTable(error)) throw error;
    const present = existingTables(db, t);
    row = db.prepare(stateSelect(t, (table) => present.has(table))).get() as StateRow;
  }
  return fromStateRow(row, t, options);
}

/** Which of lockstep's store tables exist. */
function existingTables(db: Db, t: SqlTableNames): Set<string> {
  const names = storeTables(t);
  const rows = db
    .prepare(`select name from sqlite_master where type = 'table' and name in (${names.map(lit).join(", ")})`)
    .all() as { name: string }[];
  return new Set(rows.map((r) => r.name));
}

function fromStateRow(row: StateRow, t: SqlTableNames, options: ReadStateOptions): DatabaseState {
  const present = new Set(JSON.parse(row.present) as string[]);
  const stamp = parseStamp(row.stamp, `${t.state}.version`, options);
  const stored = parseStamp(row.floor, `${t.state}.version (id 'floor')`, options);
  return {
    stamp,
    ...floorOf(stamp, stored),
    hasLedger: present.has(t.ledger),
    missingStore: STORE_PARTS.filter((part) => !present.has(t[part])),
    userObjects: row.user_objects,
    ledger: inOrder<LedgerRow>(row.ledger).map(fromLedgerRow),
    interrupted: inOrder<MarkerRow>(row.markers).map(fromMarkerRow),
    lease: row.lease ? fromLeaseRow(JSON.parse(row.lease) as LeaseRow, Date.now()) : null,
  };
}

/** A JSON array of rows numbered `n_` by the SELECT's ORDER BY, in that order. */
function inOrder<T>(json: string): T[] {
  return (JSON.parse(json) as (T & { n_: number })[]).sort((a, b) => a.n_ - b.n_);
}
