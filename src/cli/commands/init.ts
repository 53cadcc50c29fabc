import { type Command, Option } from "commander";
import { defineCommand, type ExitHolder } from "../command.js";
import { EXIT, type Streams } from "../output.js";

/** `lockstep init` (alias `initialise-schema-version`): stamp a new deployment. */
export function initCommand(streams: Streams, exit: ExitHolder): Command {
  return defineCommand<{ version?: string; force?: boolean }>(
    "init",
    "stamp a NEW deployment with the code version without running any step",
    streams,
    exit,
    async ({ options, output, open }) => {
      const upgrader = await open();
      const result = await upgrader.init({
        ...(options.version !== undefined && { version: options.version }),
        ...(options.force === true && { force: true }),
      });
      output.result(result);
      output.line(
        `Stamped ${result.version}${result.previous ? ` (was ${result.previous})` : ""}; steps up to ${result.version} are recorded as baselined, none ran.`,
      );
      return EXIT.ok;
    },
  )
    .alias("initialise-schema-version")
    .addOption(new Option("--version <version>", "the version to stamp (default: the code version)"))
    .addOption(new Option("--force", "overwrite an existing stamp"))
    .addHelpText(
      "after",
      "\nFor an EXISTING database from before lockstep, do not init: run `lockstep upgrade --from-version <its release>`." +
        "\nFor a NEW database whose steps build the schema, do not init: set `stepsBuildSchema: true` in the config (or run `lockstep upgrade --from-version 0.0.0`)." +
        "\n`init --force --version <lower>` removes the baselines above it (`--version 0.0.0` undoes an init).",
    );
}
