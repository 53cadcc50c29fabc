import { type Command, Option } from "commander";
import { LockstepError } from "../../core/errors.js";
import { defineCommand, type ExitHolder } from "../command.js";
import { EXIT, type Streams } from "../output.js";

/** `lockstep resolve <step> --applied | --rolled-back`: clear an INTERRUPTED step. */
export function resolveCommand(streams: Streams, exit: ExitHolder): Command {
  return defineCommand<{ applied?: boolean; rolledBack?: boolean }>(
    "resolve",
    "after checking the data, mark an INTERRUPTED step as applied or rolled back; recorded in history",
    streams,
    exit,
    async ({ options, output, open }, step) => {
      if (options.applied === options.rolledBack) {
        throw new LockstepError("E_USAGE", "say how the interrupted step ended: --applied or --rolled-back", {
          hint: `lockstep resolve ${step} --applied (its work is complete) or --rolled-back (its work is undone; it stays pending)`,
        });
      }
      const upgrader = await open();
      const outcome = options.applied ? "applied" : "rolled-back";
      await upgrader.resolve(step ?? "", outcome);
      output.result({ step, outcome });
      output.line(`Resolved ${step} as ${outcome}.`);
      return EXIT.ok;
    },
  )
    .argument("<step>", "the step's identity, as status prints it: <version>/<name>")
    .addOption(new Option("--applied", "its work is complete: record it in the ledger"))
    .addOption(new Option("--rolled-back", "its work is undone: leave it pending"));
}
