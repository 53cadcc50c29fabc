import { DatabaseError } from "../../core/errors.js";

/**
 * A failed MongoDB connection as a DatabaseError naming `displayName` (redacted): a refused
 * login is E_DATABASE_AUTH, anything else E_DATABASE_UNREACHABLE within `timeoutMs`.
 */
export function connectError(error: unknown, displayName: string, timeoutMs: number): DatabaseError {
  const name = (error as Error).name ?? "";
  const code = (error as { code?: unknown }).code;
  // 18: AuthenticationFailed. The driver's messages name hosts, never passwords.
  if (code === 18 || /auth/i.test(name)) {
    return new DatabaseError(
      "E_DATABASE_AUTH",
      `cannot log in to ${displayName}: ${(error as Error).message}`,
      { cause: error, hint: "check the user and password (and authSource) in the URL" },
    );
  }
  return new DatabaseError(
    "E_DATABASE_UNREACHABLE",
    `cannot reach the MongoDB server at ${displayName} within ${timeoutMs} ms: ${(error as Error).message}`,
    {
      cause: error,
      hint: "check that the server is running and the host, port and replicaSet in the URL are right",
    },
  );
}
