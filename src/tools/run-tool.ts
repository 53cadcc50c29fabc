/**
 * Runs one external tool: secrets only in its environment (never argv, which `ps` shows every
 * user), an optional file on its stdin, and its failure described by the caller.
 */
import { spawn } from "node:child_process";
import { createReadStream } from "node:fs";
import type { MissingToolError } from "./find-tool.js";
import { type ToolSpec, toolMissing } from "./find-tool.js";
import { collectStderr, stderrTail } from "./stderr-tail.js";

/** How one tool exited other than with 0; `stderr` is scrubbed and trimmed, `tail` its last lines. */
export interface ToolFailure {
  readonly name: string;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
  readonly tail: string;
}

/** Options of {@link runTool}. */
export interface RunToolOptions {
  readonly args: readonly string[];
  /** Added to the environment: PGPASSWORD, MYSQL_PWD. */
  readonly env?: Readonly<Record<string, string>>;
  /** A file piped into the tool's stdin. */
  readonly stdinFile?: string;
  /** Secrets to scrub from the tool's messages. */
  readonly secrets?: readonly string[];
  /** The error when none of the names is on PATH. */
  readonly missing: MissingToolError;
  /** The error for a failed run. */
  readonly failed: (failure: ToolFailure) => Error;
}

/** Runs the first of `spec.names` found on PATH; resolves with the name used. */
export async function runTool(spec: ToolSpec, options: RunToolOptions): Promise<string> {
  for (const name of spec.names) {
    const outcome = await runOnce(name, options);
    if (outcome === "missing") continue;
    return name;
  }
  throw toolMissing(spec, options.missing);
}

function runOnce(name: string, options: RunToolOptions): Promise<"ok" | "missing"> {
  return new Promise((resolve, reject) => {
    const child = spawn(name, [...options.args], {
      env: { ...process.env, ...options.env },
      stdio: [options.stdinFile ? "pipe" : "ignore", "ignore", "pipe"],
    });
    const stderr = collectStderr(child.stderr, 8000);
    if (options.stdinFile && child.stdin) {
      const input = createReadStream(options.stdinFile);
      input.on("error", (error) => child.kill() && reject(error));
      child.stdin.on("error", () => undefined);
      input.pipe(child.stdin);
    }
    child.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") resolve("missing");
      else reject(error);
    });
    child.on("close", (code, signal) => {
      if (code === 0) return resolve("ok");
      const secrets = options.secrets ?? [];
      const text = stderrTail(stderr.text(), secrets, "\n", Number.POSITIVE_INFINITY);
      reject(options.failed({ name, code, signal, stderr: text, tail: stderrTail(text, [], " / ") }));
    });
  });
}
