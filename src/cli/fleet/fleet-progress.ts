/**
 * A fleet run's progress on stderr: on a TTY an overall bar (databases done / total, ETA)
 * with one line per finished target above it; without one, the lines alone; with --json, JSON
 * events (`run:started`, `target:started`, `target:done`).
 */
import { statusWord } from "../../fleet/summary.js";
import type { TargetResult } from "../../fleet/target-result.js";
import type { Target } from "../../fleet/targets.js";
import { formatDuration, type Output } from "../output.js";

/** What the runner calls as targets start and finish. */
export interface FleetProgress {
  started(target: Target): void;
  done(result: TargetResult): void;
  /** A line for humans between the target lines (a stop). */
  note(text: string): void;
  /** A target's warning: a line for humans, a `warning` event with --json. */
  warn(name: string, message: string): void;
  stop(): void;
}

/** Progress for `total` targets of run `id` of a fleet `command`. */
export function fleetProgress(
  out: Output,
  id: string,
  total: number,
  command: "upgrade" | "init",
): FleetProgress {
  const verb = command === "init" ? "Stamping" : "Upgrading";
  const tty = out.streams.stderr.isTTY === true && !out.json;
  const startedAt = Date.now();
  let done = 0;
  out.event({ event: "run:started", run: id, total });
  if (!out.json) out.note(`${verb} ${total} database${total === 1 ? "" : "s"} (run ${id})`);
  const bar = tty ? new OverallBar(out, total, startedAt) : undefined;
  const line = (text: string) => {
    if (bar) bar.above(text);
    else out.note(text);
  };
  bar?.draw(0);
  return {
    started(target) {
      out.event({ event: "target:started", name: target.name });
    },
    done(result) {
      done++;
      out.event({ event: "target:done", done, total, ...result });
      if (!out.json) line(`[${done}/${total}] ${targetLine(out, result, command)}`);
      bar?.draw(done);
    },
    note(text) {
      if (!out.json) line(text);
    },
    warn(name, message) {
      out.event({ event: "warning", name, message });
      if (!out.json) line(`${out.c.bold(name)} ${out.c.yellow("warning:")} ${message}`);
    },
    stop() {
      bar?.clear();
    },
  };
}

/** The overall line on a TTY's stderr: redrawn in place, finished targets' lines printed above it. */
class OverallBar {
  #done = 0;

  constructor(
    readonly out: Output,
    readonly total: number,
    readonly startedAt: number,
  ) {}

  draw(done: number): void {
    this.#done = done;
    this.out.streams.stderr.write(`\r\x1b[2K${overallLine(done, this.total, Date.now() - this.startedAt)}`);
  }

  above(text: string): void {
    this.out.streams.stderr.write(`\r\x1b[2K${text}\n`);
    this.draw(this.#done);
  }

  clear(): void {
    this.out.streams.stderr.write("\r\x1b[2K");
  }
}

/** "  [██████░░░░░░░░░░░░░░] 12/40 databases, 8.1 s, ETA 19 s" */
export function overallLine(done: number, total: number, elapsedMs: number): string {
  const width = 20;
  const filled = total > 0 ? Math.round((done / total) * width) : width;
  const eta = done > 0 ? formatDuration(Math.round((elapsedMs / done) * (total - done))) : "?";
  return `  [${"█".repeat(filled)}${"░".repeat(width - filled)}] ${done}/${total} databases, ${formatDuration(elapsedMs)}, ETA ${eta}`;
}

/** One finished target for humans: "tenant-a  upgraded 1.0.0 → 1.2.0, 2 steps, 120 ms" (init: "stamped"). */
export function targetLine(out: Output, r: TargetResult, command: "upgrade" | "init" = "upgrade"): string {
  const { c } = out;
  const colour =
    r.status === "upgraded" || r.status === "current" ? c.green : r.status === "skipped" ? c.dim : c.red;
  // Neither read (unreachable, skipped, refused before the stamp was read): no versions shown.
  const versions =
    r.from === null && r.to === null
      ? ""
      : r.from === r.to || r.to === null
        ? ` at ${r.from ?? "(unstamped)"}`
        : ` ${r.from ?? "(unstamped)"} → ${r.to}`;
  const steps = r.stepsApplied > 0 ? `, ${r.stepsApplied} step${r.stepsApplied === 1 ? "" : "s"}` : "";
  const error = r.error ? `: ${r.error.code} ${r.error.message}` : "";
  return `${c.bold(r.name)} ${colour(statusWord(r.status, command))}${versions}${steps}, ${formatDuration(r.durationMs)}${error}`;
}
