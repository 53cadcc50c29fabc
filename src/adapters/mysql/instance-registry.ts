/**
 * The instance registry on MySQL/MariaDB: table `lockstep_instances`, created on first
 * registration. Times come from the server's clock in UTC (UTC_TIMESTAMP(3)), whatever the
 * session's time zone, so instances on machines with skewed clocks are judged alike.
 */
import type mysql from "mysql2/promise";
import type { InstanceInfo, InstanceRecord } from "../../core/adapter.js";
import { DatabaseError } from "../../core/errors.js";
import { fromInstanceRow, INSTANCE_COLUMNS, instanceValues, placeholders } from "../sql-shared.js";
import { q, type Row } from "./state-store.js";

const isNoSuchTable = (error: unknown) => (error as { code?: string }).code === "ER_NO_SUCH_TABLE";

/** What a server that may not be written to answers: no grant, `--read-only`, a read-only transaction. */
const READ_ONLY_CODES = new Set([
  "ER_TABLEACCESS_DENIED_ERROR",
  "ER_DBACCESS_DENIED_ERROR",
  "ER_OPTION_PREVENTS_STATEMENT",
  "ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION",
]);

/**
 * Runs a write to the registry; a server or user that may not write becomes
 * E_DATABASE_READONLY (the guard warns and serves on), other errors pass through.
 */
async function registryWrite(displayName: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (error) {
    const code = (error as { code?: string }).code ?? "";
    if (!READ_ONLY_CODES.has(code)) throw error;
    throw new DatabaseError(
      "E_DATABASE_READONLY",
      `cannot record this instance in ${displayName}: ${(error as Error).message}`,
      {
        cause: error,
        hint: "grant the user INSERT, UPDATE, DELETE (and CREATE, once) on lockstep_instances, or connect to the primary rather than a read-only replica",
      },
    );
  }
}

/**
 * Records or refreshes `instance` (one upsert, one round trip), live for `ttlMs` by the
 * server's clock. A missing registry is created and the upsert retried once.
 */
export async function registerInstance(
  c: mysql.Connection,
  table: string,
  instance: InstanceRecord,
  ttlMs: number,
  displayName: string,
): Promise<void> {
  await registryWrite(displayName, () => upsertInstance(c, table, instance, ttlMs));
}

async function upsertInstance(
  c: mysql.Connection,
  table: string,
  instance: InstanceRecord,
  ttlMs: number,
): Promise<void> {
  const t = q(table);
  const upsert = () =>
    c.query(
      `insert into ${t} (${INSTANCE_COLUMNS}, last_seen, expires_at)
       values (${placeholders(6)}, utc_timestamp(3), utc_timestamp(3) + interval ? microsecond)
       on duplicate key update app_version = values(app_version), host = values(host), pid = values(pid),
         owner = values(owner), started_at = values(started_at), last_seen = values(last_seen),
         expires_at = values(expires_at)`,
      [...instanceValues(instance), Math.max(0, Math.round(ttlMs)) * 1000],
    );
  try {
    await upsert();
  } catch (error) {
    if (!isNoSuchTable(error)) throw error;
    await c.query(
      `create table if not exists ${t} (
         id varchar(191) primary key, app_version varchar(255) not null, host varchar(255) not null,
         pid int not null, owner varchar(1024) not null, started_at varchar(32) not null,
         last_seen datetime(3) not null, expires_at datetime(3) not null) engine=InnoDB default charset=utf8mb4`,
    );
    await upsert();
  }
}

/** Removes one instance; nothing when it or the registry is missing. */
export async function removeInstance(
  c: mysql.Connection,
  table: string,
  id: string,
  displayName: string,
): Promise<void> {
  await registryWrite(displayName, async () => {
    try {
      await c.query(`delete from ${q(table)} where id = ?`, [id]);
    } catch (error) {
      if (!isNoSuchTable(error)) throw error;
    }
  });
}

/** Every instance, its age and expiry judged by the server's clock in the same statement; [] without a registry. */
export async function listInstances(c: mysql.Connection, table: string): Promise<InstanceInfo[]> {
  try {
    const [rows] = await c.query<Row[]>(
      `select ${INSTANCE_COLUMNS}, date_format(last_seen, '%Y-%m-%dT%H:%i:%s.%fZ') as last_seen,
         timestampdiff(microsecond, last_seen, utc_timestamp(3)) / 1000 as age_ms,
         expires_at < utc_timestamp(3) as expired
       from ${q(table)} order by started_at, id`,
    );
    return rows.map(fromInstanceRow);
  } catch (error) {
    if (isNoSuchTable(error)) return [];
    throw error;
  }
}
