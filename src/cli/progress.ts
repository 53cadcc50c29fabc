import { createRequire } from "node:module";
import type cliProgress from "cli-progress";
import type { Upgrader } from "../core/upgrader.js";
import type { Output } from "./output.js";

/** How often a plain progress line is printed without a TTY (ms). */
export const DEFAULT_PLAIN_PROGRESS_INTERVAL_MS = 3000;

/**
 * Shows step progress: a bar (done/total, rate, ETA) on a TTY, one plain line every few
 * seconds otherwise, JSON event lines with --json.
 */
export function attachProgress(
  upgrader: Upgrader<any>,
  out: Output,
  intervalMs = DEFAULT_PLAIN_PROGRESS_INTERVAL_MS,
): () => void {
  const tty = out.streams.stderr.isTTY === true && !out.json;
  let bar: cliProgress.SingleBar | undefined;
  let started = 0;
  let lastLine = 0;
  let lastWaitingNote = 0;
  const stopBar = () => {
    bar?.stop();
    bar = undefined;
  };
  const offs = [
    upgrader.on("step:started", (e) => {
      started = Date.now();
      lastLine = started;
      out.event({ event: "step:started", ...e });
      out.note(`${out.c.bold(`[${e.index + 1}/${e.total}]`)} ${e.step}${e.dryRun ? " (dry run)" : ""}`);
    }),
    upgrader.on("step:progress", (e) => {
      out.event({ event: "step:progress", ...e, rate: rate(e.done, started) });
      if (tty) {
        if (!bar && e.total !== undefined) bar = startBar(out, e.total);
        bar?.update(e.done, { rate: rate(e.done, started) });
        return;
      }
      const now = Date.now();
      if (now - lastLine >= intervalMs || (e.total !== undefined && e.done >= e.total)) {
        lastLine = now;
        out.note(`  ${e.step}: ${plainProgress(e.done, e.total, started, now)}`);
      }
    }),
    upgrader.on("step:log", (e) => {
      out.event({ event: "step:log", ...e });
      if (!tty || !bar) out.note(`  ${e.message}`);
    }),
    upgrader.on("step:finished", (e) => {
      stopBar();
      out.event({ event: "step:finished", ...e });
    }),
    upgrader.on("lease:waiting", (e) => {
      out.event({ event: "lease:waiting", ...e });
      // One line at once, then one every WAITING_NOTE_EVERY_MS whatever the poll interval.
      if (e.waitedMs === 0 || e.waitedMs - lastWaitingNote >= WAITING_NOTE_EVERY_MS) {
        lastWaitingNote = e.waitedMs;
        out.note(
          `waiting for the lease${e.holder ? ` held by ${e.holder.owner} (pid ${e.holder.pid} on ${e.holder.host})` : ""}…`,
        );
      }
    }),
  ];
  return () => {
    stopBar();
    for (const off of offs) off();
  };
}

/** How often "waiting for the lease" is repeated while the wait goes on (ms). */
const WAITING_NOTE_EVERY_MS = 5000;

/**
 * cli-progress, loaded when the first bar starts (on a TTY, a step that reports progress):
 * an upgrade with nothing to do starts without it.
 */
export function progressBars(): typeof cliProgress {
  return createRequire(import.meta.url)("cli-progress") as typeof cliProgress;
}

/** A progress bar on stderr for `total` rows. */
function startBar(out: Output, total: number): cliProgress.SingleBar {
  const cliProgress = progressBars();
  const bar = new cliProgress.SingleBar(
    {
      stream: out.streams.stderr,
      format: "  {bar} {percentage}% | {value}/{total} | {rate}/s | ETA {eta_formatted}",
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { rate: 0 });
  return bar;
}

function rate(done: number, started: number): number {
  const seconds = (Date.now() - started) / 1000;
  return seconds > 0 ? Math.round(done / seconds) : 0;
}

/** "1200/3000 (40%), 850/s, ETA 2 s" */
export function plainProgress(done: number, total: number | undefined, started: number, now: number): string {
  const seconds = Math.max((now - started) / 1000, 0.001);
  const perSecond = done / seconds;
  if (total === undefined) return `${done} done, ${Math.round(perSecond)}/s`;
  const pct = total > 0 ? Math.floor((done / total) * 100) : 100;
  const eta = perSecond > 0 ? Math.ceil((total - done) / perSecond) : null;
  return `${done}/${total} (${pct}%), ${Math.round(perSecond)}/s, ETA ${eta === null ? "?" : `${eta} s`}`;
}
