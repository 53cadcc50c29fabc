/**
 * Is a bench database's server there? A TCP probe before any driver call, so a missing
 * server is one line saying how to include it, not a driver's stack trace 30 s later.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { connect } from "node:net";
import { fileURLToPath } from "node:url";
import type { TargetName } from "./target.js";

const FERRETDB_SCRIPT = fileURLToPath(new URL("../scripts/ferretdb.sh", import.meta.url));
const DEFAULT_PORTS: Record<TargetName, number> = { postgres: 5432, mysql: 3306, sqlite: 0, mongodb: 27017 };
/** What each server is called, and how to point the bench at one. */
const SERVERS: Record<TargetName, { server: string; how: string }> = {
  postgres: {
    server: "PostgreSQL server",
    how: "start PostgreSQL or point --postgres / BENCH_POSTGRES_URL at one",
  },
  mysql: { server: "MariaDB/MySQL server", how: "start MariaDB or point --mysql / BENCH_MYSQL_URL at one" },
  sqlite: { server: "SQLite", how: "nothing to start" },
  mongodb: {
    server: "MongoDB-protocol server",
    how: "start one (scripts/ferretdb.sh start) or point --mongodb / BENCH_MONGODB_URL at one",
  },
};

/** Host and port of a server URL; null where a probe cannot tell (mongodb+srv, several hosts). */
function address(name: TargetName, url: string): { host: string; port: number } | null {
  if (/^mongodb\+srv:/i.test(url) || /^[^/]*\/\/[^/]*,/.test(url)) return null;
  const parsed = new URL(url.replace(/^mariadb:/i, "mysql:"));
  return { host: parsed.hostname || "127.0.0.1", port: Number(parsed.port) || DEFAULT_PORTS[name] };
}

function listening(host: string, port: number, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** What to do with one database: run it (`stop` undoes a server we started), or skip it and why. */
export type ServerCheck = { run: true; stop?: () => void } | { run: false; reason: string };

/**
 * Checks the server of `name` at `url`. With nothing at the default MongoDB address the bench
 * starts FerretDB with scripts/ferretdb.sh (as the tests' setup does) and stops it after.
 */
export async function checkServer(
  name: TargetName,
  url: string,
  options: { mayStartFerretdb: boolean; log: (line: string) => void },
): Promise<ServerCheck> {
  if (name === "sqlite") return { run: true };
  const where = address(name, url);
  if (where === null || (await listening(where.host, where.port))) return { run: true };
  const at = `${where.host}:${where.port}`;
  if (name === "mongodb" && options.mayStartFerretdb && existsSync(FERRETDB_SCRIPT)) {
    options.log(`mongodb: nothing listens on ${at}; starting FerretDB with scripts/ferretdb.sh start`);
    const started = spawnSync("bash", [FERRETDB_SCRIPT, "start"], {
      env: { ...process.env, FERRETDB_ADDR: at },
      stdio: ["ignore", "inherit", "inherit"],
    });
    if (started.status === 0 && (await listening(where.host, where.port))) {
      const stop = () => {
        spawnSync("bash", [FERRETDB_SCRIPT, "stop"], {
          env: { ...process.env, FERRETDB_ADDR: at },
          stdio: "inherit",
        });
      };
      return { run: true, stop };
    }
  }
  const { server, how } = SERVERS[name];
  return { run: false, reason: `no ${server} on ${at}; to include it, ${how}` };
}
