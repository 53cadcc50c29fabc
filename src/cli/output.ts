import { createColors } from "picocolors";
import { redactUrlsIn } from "../adapters/url.js";
import {
  isLockstepError,
  isRefusal,
  type LockstepError,
  summaryOf,
  UpgradeInterruptedError,
} from "../core/errors.js";

/**
 * Exit codes, as documented in the README; 5: a rehearsal went over its `--budget`; 130/143:
 * stopped by SIGINT/SIGTERM (128 + the signal).
 */
export const EXIT = {
  ok: 0,
  error: 1,
  pending: 2,
  refused: 3,
  overBudget: 5,
  sigint: 130,
  sigterm: 143,
} as const;

/** The signals a command may handle itself (the upgrade stops at a safe point). */
export type StopSignal = "SIGINT" | "SIGTERM";

/** The exit code of a process stopped by `signal`. */
export function signalExit(signal: string): number {
  return signal === "SIGTERM" ? EXIT.sigterm : EXIT.sigint;
}

/** Lets a command handle SIGINT/SIGTERM while `onStop` is watched; a second signal exits at once. */
export interface StopSignals {
  /** Calls `onStop` on the first signal; returns the function that stops watching. */
  watch(onStop: (signal: StopSignal) => void): () => void;
}

/** The exit code an error ends a command with: 130/143 for a stop, 3 for a refusal, else 1. */
export function exitCodeOf(error: unknown): number {
  if (error instanceof UpgradeInterruptedError) return signalExit(error.signal);
  return isRefusal(error) ? EXIT.refused : EXIT.error;
}

/**
 * A reader that went away (`lockstep upgrade --yes | head -1`) must never stop the command:
 * EPIPE on stdout or stderr is ignored and further output dropped, so a running step
 * finishes, its history is written and the exit code is the command's own. Other write
 * errors keep their default (thrown).
 */
export function ignoreBrokenPipe(stream: NodeJS.WritableStream): void {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE" || error.code === "ERR_STREAM_DESTROYED") return;
    throw error;
  });
}

/** Where the CLI writes: streams are passed in, so nothing below main.ts touches `process`. */
export interface Streams {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** Absent: signals keep their default (the process dies). */
  readonly signals?: StopSignals;
}

/** Printing for one command: human text (coloured only on a TTY) or JSON. */
export class Output {
  readonly json: boolean;
  /** Errors print their stacks and their causes' (`--verbose`, `LOCKSTEP_DEBUG=1`). */
  readonly verbose: boolean;
  readonly c: ReturnType<typeof createColors>;

  constructor(
    readonly streams: Streams,
    json: boolean,
    verbose = false,
  ) {
    this.json = json;
    this.verbose = verbose;
    const tty = streams.stdout.isTTY === true && !("NO_COLOR" in streams.env);
    this.c = createColors(tty);
  }

  /** A line for humans on stdout (suppressed with --json). */
  line(text = ""): void {
    if (!this.json) this.streams.stdout.write(`${text}\n`);
  }

  /** A line for humans on stderr (also with --json, where stdout is reserved for the result). */
  note(text: string): void {
    if (!this.json) this.streams.stderr.write(`${text}\n`);
  }

  /** The result object with --json. */
  result(value: unknown): void {
    if (this.json) this.streams.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** One JSON event line on stderr (progress, warnings) with --json. */
  event(value: unknown): void {
    if (this.json) this.streams.stderr.write(`${JSON.stringify(value)}\n`);
  }

  warn(text: string): void {
    if (this.json) this.event({ event: "warning", message: text });
    else this.streams.stderr.write(`${this.c.yellow("warning:")} ${text}\n`);
  }

  /** Prints an error and returns its exit code. */
  error(error: unknown): number {
    const code = isLockstepError(error) ? error.code : "E_UNEXPECTED";
    const exit = exitCodeOf(error);
    if (this.json) {
      const e = error as Partial<LockstepError> & { results?: unknown };
      this.streams.stdout.write(
        `${JSON.stringify(
          {
            error: {
              code,
              message: isLockstepError(error)
                ? summaryOf(error)
                : redactUrlsIn(String((error as Error)?.message ?? error)),
              hint: e.hint ?? null,
              ...(e.results !== undefined && { results: e.results }),
            },
          },
          null,
          2,
        )}\n`,
      );
    } else if (isLockstepError(error)) {
      this.streams.stderr.write(`${this.c.red(`error ${error.code}:`)} ${error.message}\n`);
    } else {
      // Not one of ours: the message, and the stack only with --verbose (it is printed below).
      const err = error as Error;
      this.streams.stderr.write(
        `${this.c.red("error E_UNEXPECTED:")} ${redactUrlsIn(err?.message ?? String(error))}\n`,
      );
    }
    if (this.verbose) this.#stacks(error);
    else if (!isLockstepError(error) && !this.json) {
      this.streams.stderr.write(
        this.c.dim(
          "(an error lockstep did not expect: run again with --verbose for the stack, and please report it)\n",
        ),
      );
    } else if (isLockstepError(error) && error.cause !== undefined && !this.json) {
      this.streams.stderr.write(this.c.dim("(run again with --verbose for the stack)\n"));
    }
    return exit;
  }

  /** The error's stack, then each cause's, on stderr (with --json too: stdout holds the result). */
  #stacks(error: unknown): void {
    const seen = new Set<unknown>();
    for (let e: unknown = error, depth = 0; e !== undefined && !seen.has(e) && depth < 10; depth++) {
      seen.add(e);
      const text = e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e);
      this.streams.stderr.write(`${depth === 0 ? "stack:" : "caused by:"} ${redactUrlsIn(text)}\n`);
      e = e instanceof Error ? e.cause : undefined;
    }
  }
}

/** Milliseconds for humans. */
export function formatDuration(ms: number | null): string {
  if (ms === null) return "-";
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}
