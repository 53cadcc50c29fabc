#!/usr/bin/env node
import { Command } from "commander";
import { LOCKSTEP_VERSION } from "../version.js";
import type { ExitHolder } from "./command.js";
import { checkCommand } from "./commands/check.js";
import { historyCommand } from "./commands/history.js";
import { initCommand } from "./commands/init.js";
import { newCommand } from "./commands/new.js";
import { planCommand } from "./commands/plan.js";
import { resolveCommand } from "./commands/resolve.js";
import { statusCommand } from "./commands/status.js";
import { unlockCommand } from "./commands/unlock.js";
import { upgradeCommand } from "./commands/upgrade.js";
import type { Streams } from "./output.js";

/** Builds the `lockstep` program. */
export function buildProgram(streams: Streams, exit: ExitHolder): Command {
  const program = new Command("lockstep")
    .description("Keep an application's database in step with its release version.")
    .version(LOCKSTEP_VERSION)
    // Program options only before the command: `init --version X` is init's own option.
    .enablePositionalOptions()
    .showSuggestionAfterError()
    .addHelpText(
      "after",
      "\nExit codes: 0 done or current, 1 error, 2 pending work (status, plan), 3 refused (lock held, interrupted,\nahead, uninitialised). Every error prints a stable code (E_...) and the next command to run.",
    );
  for (const make of [
    statusCommand,
    planCommand,
    upgradeCommand,
    initCommand,
    historyCommand,
    unlockCommand,
    resolveCommand,
    newCommand,
    checkCommand,
  ]) {
    program.addCommand(make(streams, exit).exitOverride());
  }
  return program;
}

/** Runs the CLI; the only place that touches `process`. */
export async function main(argv: readonly string[]): Promise<number> {
  const exit: ExitHolder = { code: 0 };
  const streams: Streams = {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
  };
  const program = buildProgram(streams, exit).exitOverride();
  try {
    await program.parseAsync([...argv], { from: "user" });
  } catch (error) {
    const code = (error as { exitCode?: number }).exitCode;
    // commander has printed help, the version, or a usage error already.
    return typeof code === "number" ? code : 1;
  }
  return exit.code;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`unexpected error: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
