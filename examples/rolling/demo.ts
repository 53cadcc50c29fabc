/**
 * `npm run demo:rolling [-- --database URL]`: a rolling deploy from release 1.0.0 to 1.2.0
 * of the recipe app (examples/rolling/), with real processes, on SQLite by default:
 *
 * 1. release 1.0.0 is deployed (`lockstep upgrade` builds its schema), two replicas serve;
 * 2. the first 1.2.0 replica starts with policy `upgrade`: the 1.1.0 expand step is applied,
 *    the 1.2.0 contract step is deferred because 1.0.0 code is live, and both releases serve;
 * 3. `lockstep status` lists the live instances by release; `upgrade --contract` is refused;
 * 4. the 1.0.0 replicas stop; `lockstep upgrade --contract` drops the old column.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: { database: { type: "string", default: "sqlite:./rolling-demo.db" } },
});
// Absolute: the app opens the file relative to the current folder, lockstep's config relative to its own.
const url = values.database.replace(/^sqlite:(?!\/)(.*)$/, (_, path: string) => `sqlite:${resolve(path)}`);
const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const cli = here("../../dist/cli/main.js");
const config = here("./lockstep.config.ts");
const shownUrl = url.replace(/\/\/([^:/@]*):[^@/]*@/, "//$1:***@");
const say = (text: string) => process.stdout.write(`\n== ${text}\n`);

/** Runs the real CLI as an operator would, printing what it prints. */
function lockstep(appVersion: string, args: string[], expected: number[]): void {
  process.stdout.write(`\n$ APP_VERSION=${appVersion} lockstep ${args.join(" ")}\n`);
  const result = spawnSync(process.execPath, [cli, ...args, "--config", config], {
    stdio: "inherit",
    env: { ...process.env, APP_VERSION: appVersion, DATABASE_URL: url },
  });
  if (result.status === null || !expected.includes(result.status)) {
    process.stderr.write(`demo: lockstep ${args.join(" ")} exited ${result.status ?? result.signal}\n`);
    stopAll();
    process.exit(1);
  }
}

interface Replica {
  readonly version: string;
  readonly child: ChildProcess;
  port: number;
}
const replicas: Replica[] = [];

/** Starts the Express recipe app playing `version`; resolves once it listens. */
function startReplica(version: string): Promise<Replica> {
  const child = spawn(process.execPath, ["--import", "tsx", here("./app/express-server.mjs")], {
    env: { ...process.env, APP_VERSION: version, DATABASE_URL: url, PORT: "0", HOST: "127.0.0.1" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const replica: Replica = { version, child, port: 0 };
  replicas.push(replica);
  return new Promise((resolve, reject) => {
    let partial = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      partial += chunk.toString();
      const lines = partial.split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        process.stdout.write(`  | ${line}\n`);
        const port = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(line)?.[1];
        if (port) {
          replica.port = Number(port);
          resolve(replica);
        }
      }
    });
    child.on("exit", (code) => reject(new Error(`the ${version} replica exited (${code})`)));
  });
}

async function request(replica: Replica, method: string, path: string, body?: unknown): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${replica.port}${path}`, {
    method,
    ...(body !== undefined && {
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    }),
  });
  return `${response.status} ${await response.text()}`;
}

/** Waits until the replica's readiness endpoint answers 200 (lockstep's guard passed). */
async function ready(replica: Replica): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if ((await request(replica, "GET", "/readyz").catch(() => "")).startsWith("200")) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the ${replica.version} replica never became ready`);
}

async function show(replica: Replica, method: string, path: string, body?: unknown): Promise<void> {
  process.stdout.write(
    `  ${method} ${path} on ${replica.version} (:${replica.port}) → ${await request(replica, method, path, body)}\n`,
  );
}

/** SIGTERM, as an orchestrator stops a replica: it leaves lockstep's instance registry on the way out. */
async function stop(replica: Replica): Promise<void> {
  if (replica.child.exitCode !== null) return;
  const exited = new Promise((resolve) => replica.child.once("exit", resolve));
  replica.child.kill("SIGTERM");
  await exited;
}

function stopAll(): void {
  for (const r of replicas) if (r.child.exitCode === null) r.child.kill("SIGKILL");
}

async function reset(): Promise<void> {
  if (url.startsWith("sqlite:")) {
    const file = url.slice("sqlite:".length);
    for (const suffix of ["", "-journal", "-wal", "-shm"])
      if (existsSync(file + suffix)) rmSync(file + suffix);
    return;
  }
  const { openDatabase } = (await import(here("./app/database.mjs"))) as {
    openDatabase(
      url: string,
    ): Promise<{ get(sql: string, params: unknown[]): Promise<unknown>; close(): Promise<void> }>;
  };
  const db = await openDatabase(url);
  const tables = [
    "users",
    "lockstep_state",
    "lockstep_ledger",
    "lockstep_history",
    "lockstep_lease",
    "lockstep_markers",
    "lockstep_instances",
  ];
  for (const table of tables) await db.get(`drop table if exists ${table}`, []);
  if (url.startsWith("postgres")) await db.get("drop function if exists users_sync_names()", []);
  await db.close();
}

try {
  say(`A fresh database (${shownUrl}). Release 1.0.0's first deployment: its steps build the schema.`);
  await reset();
  lockstep("1.0.0", ["upgrade", "--yes"], [0]);

  say("Two replicas of release 1.0.0 serve users(id, name).");
  const old = [await startReplica("1.0.0"), await startReplica("1.0.0")];
  for (const r of old) await ready(r);
  await show(old[0]!, "POST", "/users", { name: "Ada" });

  say(
    "Release 1.2.0 rolls out. Its first replica starts with policy upgrade: 1.1.0's expand step (display_name) runs now; 1.2.0's contract step (drop name) would break the live 1.0.0 replicas, so it waits.",
  );
  const next = await startReplica("1.2.0");
  await ready(next);
  await show(next, "POST", "/users", { name: "Grace" });
  say("Both releases serve side by side, each reading what the other wrote:");
  await show(old[1]!, "GET", "/users/2");
  await show(next, "GET", "/users/1");

  say("lockstep status: the instances by release, and the deferred contract step.");
  lockstep("1.2.0", ["status"], [0, 2, 3]);
  say("The contract step is refused while 1.0.0 code is live (exit 3, E_OLDER_CODE_RUNNING):");
  lockstep("1.2.0", ["upgrade", "--contract", "--yes"], [3]);

  say("The rollout finishes: the 1.0.0 replicas stop (SIGTERM: each leaves the instance registry).");
  for (const r of old) await stop(r);
  lockstep("1.2.0", ["upgrade", "--contract", "--yes"], [0]);
  await show(next, "GET", "/users/1");

  say("Final status: CURRENT, only 1.2.0 live, the floor at 1.2.0 (1.0.0 code would now be refused).");
  lockstep("1.2.0", ["status"], [0]);
  await stop(next);
  process.stdout.write("\nDemo done.\n");
} catch (error) {
  process.stderr.write(`demo: ${(error as Error).message}\n`);
  stopAll();
  process.exit(1);
}
