import { DatabaseError } from "../../core/errors.js";
import { scrub, scrubError } from "../url.js";

/**
 * A failed PostgreSQL connection attempt as a DatabaseError naming `displayName` (redacted)
 * and the next thing to check, with every secret of the URL scrubbed from the driver's message.
 */
export function connectError(error: unknown, displayName: string, secrets: readonly string[]): DatabaseError {
  const code = (error as { code?: string }).code ?? "";
  const detail = scrub(error instanceof Error ? error.message : String(error), secrets);
  if (code === "3D000") {
    return new DatabaseError("E_DATABASE_NOT_FOUND", `the database in ${displayName} does not exist`, {
      cause: scrubError(error, secrets),
      hint: `create it first (createdb, or CREATE DATABASE) or fix the database name in the URL (${detail})`,
    });
  }
  if (code === "28P01" || code === "28000") {
    return new DatabaseError("E_DATABASE_AUTH", `PostgreSQL at ${displayName} refused the login`, {
      cause: scrubError(error, secrets),
      hint: `check the user and password in the URL (and the server's pg_hba.conf) (${detail})`,
    });
  }
  return new DatabaseError("E_DATABASE_UNREACHABLE", `cannot connect to PostgreSQL at ${displayName}`, {
    cause: scrubError(error, secrets),
    hint: `check that the server is running and that the host and port in the URL are right and reachable from here (${detail})`,
  });
}
