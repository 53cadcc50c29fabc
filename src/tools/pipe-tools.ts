/**
 * Runs a dump tool piped into a restore tool (`pg_dump -Fc | pg_restore`, `mariadb-dump |
 * mariadb`), with credentials in the environment only (never on a command line `ps` shows),
 * bytes counted as progress, and both killed on a stop.
 */
import { spawn } from "node:child_process";
import { collectStderr, stderrTail } from "./stderr-tail.js";

/** One program and its arguments (no secret among them), and its environment. */
export interface ToolCommand {
  readonly program: string;
  readonly args: readonly string[];
  /** The whole environment, with the connection and password (PGPASSWORD, MYSQL_PWD). */
  readonly env: NodeJS.ProcessEnv;
}

/** What the caller makes of the pipe's events. */
export interface PipeEvents {
  /** Secrets to scrub from the tools' messages. */
  readonly secrets: readonly string[];
  /** Bytes copied so far (about every MiB), and `done` once both tools exit 0. */
  readonly progress: (bytes: number, done: boolean) => void;
  /** The error for a tool that failed; `tail` is its stderr's last lines, scrubbed. */
  readonly failed: (program: string, code: number | null, tail: string) => Error;
  /** The error once `signal` stopped the copy. */
  readonly stopped: () => Error;
}

/** Pipes `dump`'s stdout into `restore`'s stdin; resolves with the bytes copied when both exit 0. */
export function pipeTools(
  dump: ToolCommand,
  restore: ToolCommand,
  signal: AbortSignal,
  events: PipeEvents,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const from = spawn(dump.program, [...dump.args], { env: dump.env, stdio: ["ignore", "pipe", "pipe"] });
    const to = spawn(restore.program, [...restore.args], {
      env: restore.env,
      stdio: ["pipe", "ignore", "pipe"],
    });
    let bytes = 0;
    let lastReport = 0;
    const errors = { dump: collectStderr(from.stderr), restore: collectStderr(to.stderr) };
    from.stdout.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes - lastReport >= 1 << 20) {
        lastReport = bytes;
        events.progress(bytes, false);
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
      if (signal.aborted) return reject(events.stopped());
      if (dumpCode === 0 && restoreCode === 0) {
        events.progress(bytes, true);
        return resolve(bytes);
      }
      const [failed, code, text] =
        dumpCode !== 0 ? [dump, dumpCode, errors.dump] : [restore, restoreCode, errors.restore];
      reject(events.failed(failed.program, code, stderrTail(text.text(), events.secrets)));
    });
  });
}
