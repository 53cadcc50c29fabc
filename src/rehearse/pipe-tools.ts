/**
 * Runs a dump tool piped into a restore tool (`pg_dump -Fc | pg_restore`, `mariadb-dump |
 * mariadb`), with credentials in the environment only (never on a command line `ps` shows),
 * bytes counted as progress, and both killed on a stop.
 */
import { spawn, spawnSync } from "node:child_process";
import { copyError, copyStopped, type ProgressListener } from "./scratch.js";

/** One program and its arguments (no secret among them). */
export interface ToolCommand {
  readonly program: string;
  readonly args: readonly string[];
}

/** The first of `names` on PATH, or null. */
export function findTool(names: readonly string[], env: NodeJS.ProcessEnv): string | null {
  for (const name of names) {
    const found = spawnSync(name, ["--version"], { env, stdio: "ignore" });
    if (found.error === undefined && found.status === 0) return name;
  }
  return null;
}

/** E_REHEARSAL_COPY for a missing tool, naming the package that has it. */
export function toolMissing(names: readonly string[], pkg: string): Error {
  return copyError(
    `${names.join(" or ")} is not on PATH: the rehearsal copies the database with it`,
    `install ${pkg} (the version of the server or newer), or put it on PATH`,
  );
}

function toolFailed(program: string, code: number | null, stderr: string): Error {
  return copyError(
    `${program} failed (exit ${code}) while copying the database: ${stderr}`,
    "fix what the tool says (a tool older than the server, a missing privilege), then rehearse again; the scratch was dropped",
  );
}

/** The last lines of a tool's stderr, for an error message. */
function tail(text: string): string {
  return text.trim().split("\n").slice(-5).join("\n");
}

/**
 * Pipes `dump`'s stdout into `restore`'s stdin; resolves with the bytes copied when both exit 0.
 * `env` carries the connection and password (PGPASSWORD, MYSQL_PWD); `scrub` cleans messages.
 */
export function pipeTools(
  dump: ToolCommand & { env: NodeJS.ProcessEnv },
  restore: ToolCommand & { env: NodeJS.ProcessEnv },
  signal: AbortSignal,
  progress: ProgressListener,
  scrub: (text: string) => string,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const from = spawn(dump.program, [...dump.args], { env: dump.env, stdio: ["ignore", "pipe", "pipe"] });
    const to = spawn(restore.program, [...restore.args], {
      env: restore.env,
      stdio: ["pipe", "ignore", "pipe"],
    });
    let bytes = 0;
    let lastReport = 0;
    const errors = { dump: "", restore: "" };
    from.stderr.on("data", (d) => {
      errors.dump += d;
    });
    to.stderr.on("data", (d) => {
      errors.restore += d;
    });
    from.stdout.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes - lastReport >= 1 << 20) {
        lastReport = bytes;
        progress({ phase: "copy", done: bytes, total: null, unit: "bytes" });
      }
    });
    from.stdout.pipe(to.stdin);
    // A restore that exits early closes its stdin: the dump then sees EPIPE, reported below.
    to.stdin.on("error", () => undefined);
    const onStop = () => {
      from.kill("SIGTERM");
      to.kill("SIGTERM");
    };
    signal.addEventListener("abort", onStop, { once: true });
    if (signal.aborted) onStop();
    const exits = [from, to].map(
      (child) =>
        new Promise<number | null>((done) => {
          child.on("error", () => done(-1));
          child.on("close", (code) => done(code));
        }),
    );
    void Promise.all(exits).then(([dumpCode = null, restoreCode = null]) => {
      signal.removeEventListener("abort", onStop);
      if (signal.aborted) return reject(copyStopped(signal));
      if (dumpCode === 0 && restoreCode === 0) {
        progress({ phase: "copy", done: bytes, total: bytes, unit: "bytes" });
        return resolve(bytes);
      }
      const [failed, code, text] =
        dumpCode !== 0 ? [dump, dumpCode, errors.dump] : [restore, restoreCode, errors.restore];
      reject(toolFailed(failed.program, code, scrub(tail(text))));
    });
  });
}
