import { type Command, Option } from "commander";
import { type CommandRun, defineCommand, type ExitHolder } from "../command.js";
import { fleetMode } from "../fleet/fleet-context.js";
import { fleetInit } from "../fleet/fleet-init.js";
import { type FleetCliOptions, withFleetOptions } from "../fleet/fleet-options.js";
import { EXIT, type Streams } from "../output.js";

type InitOptions = FleetCliOptions & { version?: string; force?: boolean };

/** `lockstep init` (alias `initialise-schema-version`): stamp a new deployment. */
export function initCommand(streams: Streams, exit: ExitHolder): Command {
  const command = defineCommand<InitOptions>(
    "init",
    "stamp a NEW deployment with the code version without running any step",
    streams,
    exit,
    initBody,
  )
    .alias("initialise-schema-version")
    .addOption(new Option("--version <version>", "the version to stamp (default: the code version)"))
    .addOption(new Option("--force", "overwrite an existing stamp (one database only)"));
  return withFleetOptions(command, true).addHelpText(
    "after",
    "\nFor an EXISTING database from before lockstep, do not init: run `lockstep upgrade --from-version <its release>`." +
      "\nFor a NEW database whose steps build the schema, do not init: set `stepsBuildSchema: true` in the config (or run `lockstep upgrade --from-version 0.0.0`)." +
      "\n`init --force --version <lower>` removes the baselines above it (`--version 0.0.0` undoes an init)." +
      "\nMany databases (--targets or the config's databases): stamps each brand-new tenant database; one that holds data" +
      "\n(E_INIT_NOT_EMPTY), is already stamped (E_ALREADY_INITIALISED), or is empty while the steps build the schema" +
      "\n(E_INIT_BUILDS_SCHEMA: run `lockstep upgrade --targets …` on those) is refused. Exit 0 all stamped, 1 any failed or" +
      "\nunreachable, 3 any refused; a run record in .lockstep/runs.",
  );
}

async function initBody(run: CommandRun<InitOptions>): Promise<number> {
  const { options, output } = run;
  const mode = await fleetMode(run);
  if (mode.fleet) return fleetInit(run, mode.fleet);
  const upgrader = await run.open(mode.file ? { file: mode.file } : {});
  const result = await upgrader.init({
    ...(options.version !== undefined && { version: options.version }),
    ...(options.force === true && { force: true }),
  });
  output.result(result);
  output.line(
    `Stamped ${result.version}${result.previous ? ` (was ${result.previous})` : ""}; steps up to ${result.version} are recorded as baselined, none ran.`,
  );
  return EXIT.ok;
}
