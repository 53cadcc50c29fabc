/**
 * What both recipe servers (Express and Fastify) do at start-up, around lockstep:
 *
 * 1. start the guard WITHOUT waiting for it (`startDatabaseGuard`): under policy `upgrade`
 *    it may run a long step, and a process that does not listen meanwhile is killed by its
 *    startup or liveness probe, restarted, and upgrades again: a restart loop;
 * 2. listen at once: `/healthz` (liveness: the process is up, never the database) answers
 *    200 throughout, `/readyz` (readiness: lockstepReadiness) 503 until the guard passed;
 * 3. serve users only once the guard passed; if it refuses (this release is older than the
 *    database's compatibility floor) log why and exit.
 *
 * Environment: APP_VERSION (1.0.0, 1.1.0, 1.2.0), DATABASE_URL, PORT (0: any free port),
 * HOST, LOCKSTEP_POLICY (warn, refuse or upgrade; default upgrade), LOCKSTEP_CONFIG.
 */
import { fileURLToPath } from "node:url";
import { lockstepReadiness, startDatabaseGuard } from "lockstep";
import { databaseUrl, openDatabase } from "./database.mjs";
import { usersOf } from "./users.mjs";

/** Reads the environment, starts the guard in the background and opens the app's database. */
export async function boot() {
  const appVersion = process.env.APP_VERSION ?? "1.2.0";
  // The config reads APP_VERSION and DATABASE_URL too: the app and lockstep agree on both.
  const config =
    process.env.LOCKSTEP_CONFIG ?? fileURLToPath(new URL("../lockstep.config.ts", import.meta.url));
  const guard = startDatabaseGuard({ config, policy: process.env.LOCKSTEP_POLICY ?? "upgrade" });
  const db = await openDatabase(databaseUrl());
  const users = usersOf(appVersion, db);
  const log = (message) => process.stdout.write(`[${appVersion} pid ${process.pid}] ${message}\n`);
  let serving = false;
  guard.ready.then(
    (result) => {
      serving = true;
      const applied = (result.steps ?? []).map((s) => (typeof s === "string" ? s : (s.step ?? s.id)));
      const deferred = (result.deferred ?? []).map((s) => (typeof s === "string" ? s : (s.step ?? s.id)));
      log(
        `database ${result.status}` +
          (result.action && result.action !== "none" ? `: ${result.action}` : "") +
          (applied.length > 0 ? `, applied ${applied.join(", ")}` : "") +
          (deferred.length > 0 ? `, deferred ${deferred.join(", ")}` : ""),
      );
    },
    (error) => {
      log(`refused to serve: ${error.code ?? ""} ${error.message}`);
      process.exit(1);
    },
  );
  return {
    appVersion,
    users,
    log,
    /** Readiness handler: a plain Node (req, res) handler, for readiness probes only. */
    readiness: lockstepReadiness(guard),
    /** True once the guard passed: the users routes answer 503 until then. */
    serving: () => serving,
    port: Number(process.env.PORT ?? 3000),
    host: process.env.HOST ?? "0.0.0.0",
    /** Leaves the instance registry at once (older code gone), then closes the database. */
    async shutdown() {
      await guard.close();
      await db.close();
    },
  };
}

/** Stops cleanly on SIGTERM/SIGINT (Kubernetes and compose send SIGTERM). */
export function onStop(stop) {
  for (const signal of ["SIGTERM", "SIGINT"]) {
    process.once(signal, () => {
      stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
}
