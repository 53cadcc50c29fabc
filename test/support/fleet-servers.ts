/**
 * Are the fleet tests' servers there? The acceptance needs PostgreSQL, MariaDB and a
 * MongoDB-protocol server at once; a missing one skips it with one line (in CI it fails).
 * And a port nothing listens on, for the unreachable tenant.
 */
import { createServer } from "node:net";
import { fixtureNamed, notSelected } from "./fixtures.js";

/** Null when every server the fleet needs answers; otherwise why the fleet tests are skipped. */
export async function fleetUnavailable(): Promise<string | null> {
  for (const name of ["postgres", "mysql", "mongodb"]) {
    const reason = notSelected(name) ?? (await (await fixtureNamed(name)).unavailable());
    if (reason === null) continue;
    if (process.env.CI === "true") throw new Error(`the fleet tests need ${name} in CI: ${reason}`);
    return `${name}: ${reason}`;
  }
  return null;
}

/** A port nothing listens on (taken from the OS, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
