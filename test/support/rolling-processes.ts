/**
 * Real OS processes for the rolling-deploy tests: guard replicas (rolling-child.ts) and the
 * recipe app's servers (examples/rolling/app/), each watched line by line and stopped with
 * SIGKILL (on the same host, a killed instance counts as gone at once).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { REPO } from "./cli.js";

/** What a guard replica printed: it serves, or it was refused. */
export interface GuardOutcome {
  readonly ok: boolean;
  readonly status?: string;
  readonly action?: string;
  readonly steps?: readonly string[];
  readonly code?: string | null;
  readonly message?: string;
}

/** One child process, its output kept line by line. */
export class Replica {
  readonly lines: string[] = [];
  readonly exited: Promise<number | null>;
  #waiters: (() => void)[] = [];
  #stderr = "";

  constructor(
    readonly label: string,
    readonly child: ChildProcess,
  ) {
    let partial = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      partial += chunk.toString();
      const parts = partial.split("\n");
      partial = parts.pop() ?? "";
      this.lines.push(...parts);
      for (const wake of this.#waiters.splice(0)) wake();
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      this.#stderr += chunk.toString();
    });
    this.exited = new Promise((resolve) => {
      child.on("exit", (code) => {
        resolve(code);
        for (const wake of this.#waiters.splice(0)) wake();
      });
    });
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** What it printed so far, for assertion messages. */
  output(): string {
    return `${this.label} (pid ${this.child.pid}):\n${this.lines.join("\n")}\n${this.#stderr}`;
  }

  /** The first line matching `pattern` (waits for it, up to `timeoutMs`). */
  async waitForLine(pattern: RegExp, timeoutMs = 60_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find((l) => pattern.test(l));
      if (found !== undefined) return found;
      if (!this.alive) throw new Error(`${this.label} exited before printing ${pattern}\n${this.output()}`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`${this.label} printed no ${pattern} in ${timeoutMs} ms\n${this.output()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 1_000));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** SIGKILL, and wait until it is gone. */
  async kill(): Promise<void> {
    if (this.alive) this.child.kill("SIGKILL");
    await this.exited;
  }
}

/** Every process a test started, killed at the end whatever happened. */
export class Replicas {
  readonly all: Replica[] = [];

  /** Starts `node --import tsx <script> args…` from the repository root. */
  spawn(label: string, script: string, args: readonly string[], env: Record<string, string> = {}): Replica {
    const child = spawn(process.execPath, ["--import", "tsx", join(REPO, script), ...args], {
      cwd: REPO,
      env: { ...process.env, NO_COLOR: "1", ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    const replica = new Replica(label, child);
    this.all.push(replica);
    return replica;
  }

  /** A guard replica of `appVersion` (see rolling-child.ts); not yet reported. */
  guard(
    fixture: string,
    url: string,
    appVersion: string,
    policy: "warn" | "refuse" | "upgrade",
    options: { waitGo?: boolean; holdMs?: number } = {},
  ): Replica {
    const args = [fixture, url, appVersion, policy];
    if (options.waitGo) args.push("--wait-go");
    if (options.holdMs) args.push("--hold-ms", String(options.holdMs));
    return this.spawn(`${appVersion} replica`, "test/support/rolling-child.ts", args);
  }

  async killAll(): Promise<void> {
    await Promise.all(this.all.map((r) => r.kill()));
  }
}

/** What a guard replica reported (its JSON line). */
export async function outcomeOf(replica: Replica, timeoutMs = 120_000): Promise<GuardOutcome> {
  const line = await replica.waitForLine(/^\{/, timeoutMs);
  return JSON.parse(line) as GuardOutcome;
}

/** Starts a guard replica and waits for its outcome. */
export async function boot(
  replicas: Replicas,
  fixture: string,
  url: string,
  appVersion: string,
  policy: "warn" | "refuse" | "upgrade",
): Promise<{ replica: Replica; outcome: GuardOutcome }> {
  const replica = replicas.guard(fixture, url, appVersion, policy);
  return { replica, outcome: await outcomeOf(replica) };
}

/** The recipe app (examples/rolling/app/<server>-server.mjs) as one replica. */
export interface AppReplica {
  readonly replica: Replica;
  readonly port: number;
}

/**
 * Starts a replica of the recipe app playing `appVersion` on a free port and waits until it
 * listens (not until it is ready: see {@link waitReady}).
 */
export async function startApp(
  replicas: Replicas,
  server: "express" | "fastify",
  appVersion: string,
  env: Record<string, string>,
): Promise<AppReplica> {
  return startServer(replicas, `examples/rolling/app/${server}-server.mjs`, appVersion, env);
}

/** Starts `script` (an HTTP server printing "listening on http://127.0.0.1:<port>") playing `appVersion`. */
export async function startServer(
  replicas: Replicas,
  script: string,
  appVersion: string,
  env: Record<string, string>,
): Promise<AppReplica> {
  const label = `${script.split("/").pop()} ${appVersion}`;
  const replica = replicas.spawn(label, script, [], {
    APP_VERSION: appVersion,
    PORT: "0",
    HOST: "127.0.0.1",
    ...env,
  });
  const line = await replica.waitForLine(/listening on http:\/\/127\.0\.0\.1:\d+/);
  return { replica, port: Number(/:(\d+)\s*$/.exec(line)![1]) };
}

/** GET `path` on the replica: status and body text (status 0: no answer). */
export async function probe(port: number, path: string): Promise<{ status: number; body: string }> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(5_000) });
    return { status: response.status, body: await response.text() };
  } catch (error) {
    return { status: 0, body: String(error) };
  }
}

/** Polls the readiness endpoint until it answers 200. */
export async function waitReady(app: AppReplica, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await probe(app.port, "/readyz")).status === 200) return;
    if (!app.replica.alive)
      throw new Error(`the replica exited before it was ready\n${app.replica.output()}`);
    if (Date.now() > deadline) throw new Error(`not ready in ${timeoutMs} ms\n${app.replica.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** SIGTERM (as Kubernetes stops a pod), SIGKILL if it has not exited after `graceMs`. */
export async function stopGracefully(replica: Replica, graceMs = 5_000): Promise<void> {
  if (!replica.alive) return;
  replica.child.kill("SIGTERM");
  const timer = setTimeout(() => replica.child.kill("SIGKILL"), graceMs);
  await replica.exited;
  clearTimeout(timer);
}
