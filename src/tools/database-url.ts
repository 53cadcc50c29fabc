/**
 * One place for a database URL seen by the external tools: the same URL with another database,
 * and each database's tool environment (the password in PGPASSWORD / MYSQL_PWD, never argv).
 */
import { takeLockstepParams } from "../adapters/url.js";
import { LockstepError } from "../core/errors.js";

/** `url` (mariadb:// read as mysql://) with its database (the path) replaced by `database`, query kept. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url.replace(/^mariadb:/i, "mysql:"));
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

/** A URL's host without IPv6 brackets, or `localhost`. */
function hostOf(u: URL): string {
  return decodeURIComponent(u.hostname.replace(/^\[|\]$/g, "")) || "localhost";
}

/** `{ [name]: password }` when `u` has a password, else nothing. */
function passwordEnv(name: "MYSQL_PWD" | "PGPASSWORD", u: URL): Record<string, string> {
  return u.password !== "" ? { [name]: decodeURIComponent(u.password) } : {};
}

/**
 * The MySQL/MariaDB client tools' connection for `url`: host, port (`defaultPort` when the URL
 * has none, else no --port) and user as arguments, the password only in MYSQL_PWD.
 */
export function mysqlTool(
  url: string,
  defaultPort?: string,
): { args: string[]; env: Record<string, string> } {
  const u = new URL(url.replace(/^mariadb:/i, "mysql:"));
  const port = u.port || defaultPort;
  return {
    args: [
      `--host=${hostOf(u)}`,
      ...(port ? [`--port=${port}`] : []),
      ...(u.username !== "" ? [`--user=${decodeURIComponent(u.username)}`] : []),
    ],
    env: passwordEnv("MYSQL_PWD", u),
  };
}

/** libpq's environment for `url` (host, port, user, password, database): no secret in argv. */
export function libpqEnv(url: string, database: string, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const u = new URL(takeLockstepParams(url, ["schema", "lease", "options"]).rest);
  const sslmode = u.searchParams.get("sslmode");
  return {
    ...env,
    // `?host=/run/postgresql` (a socket folder) wins over an empty host, as for `pg`.
    PGHOST: u.searchParams.get("host") ?? hostOf(u),
    PGPORT: u.port || "5432",
    PGDATABASE: database,
    ...(u.username !== "" && { PGUSER: decodeURIComponent(u.username) }),
    ...passwordEnv("PGPASSWORD", u),
    ...(sslmode !== null && { PGSSLMODE: sslmode }),
  };
}

/** `url` naming no database (the path `/`), for server-wide statements. */
export function serverUrl(url: string): string {
  const parsed = new URL(url);
  parsed.pathname = "/";
  return parsed.toString();
}

/**
 * A PostgreSQL URL a libpq tool may be given on its command line (`ps` shows it to every
 * user): the password — in the userinfo or as `?password=` — taken out, to go in PGPASSWORD.
 * libpq reads `sslpassword` from no environment variable, so a URL with one is refused.
 */
export function libpqArgvUrl(url: string): { readonly url: URL; readonly password: string } {
  const bare = new URL(url);
  if (bare.searchParams.has("sslpassword")) {
    throw new LockstepError(
      "E_UNSUPPORTED",
      "the URL's sslpassword cannot reach pg_dump/pg_restore without their command line, which other users can read",
      {
        hint: "use a client key without a passphrase for the backup, or a pg_service.conf entry (PGSERVICE) holding it",
      },
    );
  }
  const password = decodeURIComponent(bare.password) || (bare.searchParams.get("password") ?? "");
  bare.password = "";
  bare.searchParams.delete("password");
  return { url: bare, password };
}
