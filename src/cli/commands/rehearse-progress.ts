/**
 * Progress of a rehearsal's copy and drop (the upgrade between them shows its steps through
 * `attachProgress`): a bar on a TTY, a plain line every few seconds otherwise, JSON event
 * lines with --json.
 */
import type cliProgress from "cli-progress";
import type { PhaseProgress, ProgressListener } from "../../rehearse/rehearse.js";
import { formatDuration, type Output } from "../output.js";
import { DEFAULT_PLAIN_PROGRESS_INTERVAL_MS, progressBars } from "../progress.js";

/** A listener for {@link PhaseProgress}, and the function that clears its bar. */
export function phaseProgress(
  out: Output,
  intervalMs = DEFAULT_PLAIN_PROGRESS_INTERVAL_MS,
): { listener: ProgressListener; stop(): void } {
  const tty = out.streams.stderr.isTTY === true && !out.json;
  let bar: cliProgress.SingleBar | undefined;
  let phase: PhaseProgress["phase"] | null = null;
  let started = 0;
  let lastLine = 0;
  const stop = () => {
    bar?.stop();
    bar = undefined;
  };
  const listener: ProgressListener = (p) => {
    out.event({ event: "rehearse:progress", ...p });
    const now = Date.now();
    if (p.phase !== phase) {
      stop();
      phase = p.phase;
      started = now;
      lastLine = now;
      out.note(p.phase === "copy" ? "copying the database into the scratch…" : "dropping the scratch…");
    }
    const finished = p.total !== null && p.done >= p.total;
    if (tty && p.total !== null && p.total > 1) {
      bar ??= startBar(out, p.total, p.unit);
      bar.update(p.done);
      if (finished) stop();
    } else if (finished || now - lastLine >= intervalMs) {
      lastLine = now;
      const of = p.total === null ? "" : ` of ${p.total}`;
      out.note(
        `  ${p.phase}: ${p.done}${of} ${p.unit}${finished ? ` in ${formatDuration(now - started)}` : ""}`,
      );
    }
  };
  return { listener, stop };
}

function startBar(out: Output, total: number, unit: string): cliProgress.SingleBar {
  const cliProgress = progressBars();
  const bar = new cliProgress.SingleBar(
    {
      stream: out.streams.stderr,
      format: `  {bar} {percentage}% | {value}/{total} ${unit} | ETA {eta_formatted}`,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return bar;
}
