/**
 * What both recipe servers (Express and Fastify) do at start-up, around lockstep:
 *
 * 1. start the guard WITHOUT waiting for it (`startDatabaseGuard`): under policy `upgrade`
 *    it may run a long step, and a process that does not listen meanwhile is killed by its
 *    startup or liveness probe, restarted, and upgrades again: a restart loop;
 * 2. listen at once: `/healthz` (liveness: the process is up, never the database) answers
 *    200 throughout, `/readyz` (readiness: lockstepReadiness) 503 until the guard passed;
 * 3. serve users only once the guard passed. While the guard waits for something that will
 *    pass by itself (an older release still live before a step without a phase, another
 *    replica's upgrade, a database not up yet) it retries (`retry`, default 10 minutes) and
 *    readiness answers 503 with the reason: the process keeps running, no restart. A refusal
 *    waiting cannot fix (this release is older than the database's compatibility floor, an
 *    interrupted step, a damaged store) or retries that ran out: log why and exit 1, so the
 *    orchestrator shows the failure and restarts the pod with back-off once it is fixed.
 *
 * Environment: APP_VERSION (1.0.0, 1.1.0, 1.2.0), DATABASE_URL, PORT (0: any free port),
 * HOST, LOCKSTEP_POLICY (warn, refuse or upgrade; default upgrade), LOCKSTEP_CONFIG,
 * LOCKSTEP_RETRY_UNTIL (how long the guard retries a refusal waiting can resolve; default 10m).
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
  const log = (message) => process.stdout.write(`[${appVersion} pid ${process.pid}] ${message}\n`);
  const guard = startDatabaseGuard({
    config,
    policy: process.env.LOCKSTEP_POLICY ?? "upgrade",
    // What the guard does, and why it waits while it retries, in the app's log.
    logger: { info: log, warn: log, error: log },
    retry: { until: process.env.LOCKSTEP_RETRY_UNTIL ?? "10m" },
  });
  const db = await openDatabase(databaseUrl());
  const users = usersOf(appVersion, db);
  let serving = false;
  guard.ready.then(
    (result) => {
      serving = true;
      // `steps`: what this process applied; `report.deferred`: contract steps waiting for older releases.
      const applied = result.steps ?? [];
      const deferred = result.report.deferred ?? [];
      log(
        `database ${result.status}` +
          (result.action && result.action !== "none" ? `: ${result.action}` : "") +
          (applied.length > 0 ? `, applied ${applied.join(", ")}` : "") +
          (deferred.length > 0 ? `, deferred ${deferred.join(", ")}` : ""),
      );
    },
    (error) => {
      if (error.code === "E_ABORTED") return; // shutdown() closed the guard while it retried
      // Final: the guard does not retry this one (or ran out of time). Exit so it shows.
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
