import { type Command, Option } from "commander";
import { validateHistoryLimit } from "../../core/history-limit.js";
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
      }
      return EXIT.ok;
    },
  ).addOption(new Option("--limit <n>", "only the newest n entries (a positive integer)"));
}
