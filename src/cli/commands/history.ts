import { type Command, Option } from "commander";
import { describeHolders } from "../../core/compatibility.js";
import { validateHistoryLimit } from "../../core/history-limit.js";
import type { ReleaseGroup } from "../../core/instances.js";
import { defineCommand, type ExitHolder } from "../command.js";
import { EXIT, formatDuration, type Streams } from "../output.js";

/** `lockstep history`: every action taken on this database, oldest first. */
export function historyCommand(streams: Streams, exit: ExitHolder): Command {
  return defineCommand<{ limit?: string }>(
    "history",
    "show the append-only history of this database (oldest first)",
    streams,
    exit,
    async ({ options, output, open }) => {
      // Checked before the database is opened: a bad option never costs a connection.
      const limit = validateHistoryLimit(options.limit, "--limit");
      const upgrader = await open();
      const entries = await upgrader.history(limit !== undefined ? { limit } : {});
      output.result(entries);
      if (entries.length === 0) output.line("No history yet.");
      for (const e of entries) {
        const what = e.step
          ? `${e.version}/${e.step}`
          : e.action === "backup"
            ? `${e.version ?? "-"} id ${String(e.details?.id ?? "?")}`
            : (e.version ?? "");
        const outcome = e.outcome === "failed" ? output.c.red(e.outcome) : e.outcome;
        output.line(
          `${e.at}  ${e.action.padEnd(16)} ${what.padEnd(34)} ${outcome.padEnd(7)} ${formatDuration(e.durationMs).padStart(9)}  ${e.user}@${e.host} pid ${e.pid}  app ${e.appVersion ?? "-"}`,
        );
        for (const o of overridesOf(e.details)) output.line(output.c.yellow(`${" ".repeat(26)}${o}`));
      }
      return EXIT.ok;
    },
  ).addOption(new Option("--limit <n>", "only the newest n entries (a positive integer)"));
}

/** The overrides an entry records, one line each: "override --ignore-live while 1.0.0 ×1 on web-1 ran". */
function overridesOf(details: Readonly<Record<string, unknown>> | null): string[] {
  if (details === null) return [];
  const one = (flag: unknown, held: unknown, step?: unknown) => {
    const groups = Array.isArray(held) ? (held as ReleaseGroup[]) : [];
    const live = groups.length > 0 ? ` while older code ran: ${describeHolders(groups)}` : "";
    return `override ${String(flag)}${step !== undefined ? ` for ${String(step)}` : ""}${live}`;
  };
  const lines: string[] = [];
  if (details.override !== undefined) lines.push(one(details.override, details.olderCodeRunning));
  if (Array.isArray(details.overrides)) {
    for (const o of details.overrides as { flag?: unknown; step?: unknown; olderCodeRunning?: unknown }[])
      lines.push(one(o.flag, o.olderCodeRunning, o.step));
  }
  return lines;
}
