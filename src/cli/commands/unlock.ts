import { type Command, Option } from "commander";
import { defineCommand, type ExitHolder } from "../command.js";
import { EXIT, type Streams } from "../output.js";

/** `lockstep unlock`: break a stale lease. */
export function unlockCommand(streams: Streams, exit: ExitHolder): Command {
  return defineCommand<{ force?: boolean }>(
    "unlock",
    "break a stale lease (expired only, unless --force); recorded in history",
    streams,
    exit,
    async ({ options, output, open }) => {
      const upgrader = await open();
      const broken = await upgrader.unlock({ force: options.force === true });
      output.result({ broken });
      output.line(
        broken
          ? `Broke the lease of ${broken.owner} (pid ${broken.pid} on ${broken.host}).`
          : "No lease is held.",
      );
      return EXIT.ok;
    },
  ).addOption(new Option("--force", "also break a lease that has not expired (only if its holder is gone)"));
}
