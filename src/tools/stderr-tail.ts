/** A tool's stderr for an error message: bounded while read, its last lines, secrets scrubbed. */
import type { Readable } from "node:stream";
import { scrub } from "../adapters/url.js";

/** Collects `stream` until `keep` characters have come; `text()` returns what came. */
export function collectStderr(stream: Readable | null, keep = Number.POSITIVE_INFINITY): { text(): string } {
  let text = "";
  stream?.on("data", (d) => {
    if (text.length < keep) text += d;
  });
  return { text: () => text };
}

/** The last `lines` lines of `text` (trimmed), joined by `separator`, with every secret as `***`. */
export function stderrTail(text: string, secrets: readonly string[], separator = "\n", lines = 5): string {
  return scrub(text.trim(), secrets).split("\n").slice(-lines).join(separator);
}
