/**
 * A fleet run's progress on stderr: on a TTY an overall bar (databases done / total, ETA)
 * with one line per finished target above it; without one, the lines alone; with --json, JSON
 * events (`run:started`, `target:started`, `target:done`).
 */
import cliProgress from "cli-progress";
import type { TargetResult } from "../../fleet/target-result.js";
import type { Target } from "../../fleet/targets.js";
import { formatDuration, type Output } from "../output.js";

/** What the runner calls as targets start and finish. */
export interface FleetProgress {
  started(target: Target): void;
  done(result: TargetResult): void;
  /** A line for humans between the target lines (a warning, a stop). */
  note(text: string): void;
  stop(): void;
}

/** Progress for `total` targets of run `id`. */
export function fleetProgress(out: Output, id: string, total: number, verb: string): FleetProgress {
  const tty = out.streams.stderr.isTTY === true && !out.json;
  let done = 0;
  out.event({ event: "run:started", run: id, total });
  if (!out.json) out.note(`${verb} ${total} database${total === 1 ? "" : "s"} (run ${id})`);
  const multi = tty ? startBar(out, total) : undefined;
  const bar = multi?.bar;
  const line = (text: string) => {
    if (multi) multi.multi.log(`${text}\n`);
    else out.note(text);
  };
  return {
    started(target) {
      out.event({ event: "target:started", name: target.name });
    },
    done(result) {
      done++;
      out.event({ event: "target:done", done, total, ...result });
      if (!out.json) line(`[${done}/${total}] ${targetLine(out, result)}`);
      bar?.update(done);
    },
    note(text) {
      if (out.json) return;
      line(text);
    },
    stop() {
      multi?.multi.stop();
    },
  };
}

/** One finished target for humans: "tenant-a  upgraded 1.0.0 → 1.2.0, 2 steps, 120 ms". */
export function targetLine(out: Output, r: TargetResult): string {
  const { c } = out;
  const colour =
    r.status === "upgraded" || r.status === "current" ? c.green : r.status === "skipped" ? c.dim : c.red;
  const versions =
    r.from === r.to || r.to === null
      ? `at ${r.from ?? "(unstamped)"}`
      : `${r.from ?? "(unstamped)"} → ${r.to}`;
  const steps = r.stepsApplied > 0 ? `, ${r.stepsApplied} step${r.stepsApplied === 1 ? "" : "s"}` : "";
  const error = r.error ? `: ${r.error.code} ${r.error.message}` : "";
  return `${c.bold(r.name)} ${colour(r.status)} ${versions}${steps}, ${formatDuration(r.durationMs)}${error}`;
}

function startBar(out: Output, total: number) {
  const multi = new cliProgress.MultiBar(
    {
      stream: out.streams.stderr,
      format: "  {bar} {value}/{total} databases | {duration_formatted} | ETA {eta_formatted}",
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  return { multi, bar: multi.create(total, 0) };
}
