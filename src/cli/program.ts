import { Command } from "commander";
import { unsettledImportError } from "../config/import-module.js";
import { LockstepError } from "../core/errors.js";
import { LOCKSTEP_VERSION } from "../version.js";
import type { ExitHolder } from "./command.js";
import { backupCommand } from "./commands/backup.js";
import { checkCommand } from "./commands/check.js";
import { historyCommand } from "./commands/history.js";
import { initCommand } from "./commands/init.js";
import { instancesCommand } from "./commands/instances.js";
import { newCommand } from "./commands/new.js";
import { planCommand } from "./commands/plan.js";
import { rehearseCommand } from "./commands/rehearse.js";
import { resolveCommand } from "./commands/resolve.js";
import { restoreCommand } from "./commands/restore.js";
import { statusCommand } from "./commands/status.js";
import { unlockCommand } from "./commands/unlock.js";
import { upgradeCommand } from "./commands/upgrade.js";
import { waitCommand } from "./commands/wait.js";
import {
  ignoreBrokenPipe,
  Output,
  type StopSignal,
  type StopSignals,
  type Streams,
  signalExit,
} from "./output.js";

/** Builds the `lockstep` program. */
export function buildProgram(streams: Streams, exit: ExitHolder, json = false): Command {
  const program = new Command("lockstep")
    .description("Keep an application's database in step with its release version.")
    .version(LOCKSTEP_VERSION)
    // Program options only before the command: `init --version X` is init's own option.
    .enablePositionalOptions()
    .showSuggestionAfterError()
    .addHelpText(
      "after",
      "\nExit codes: 0 done or current, 1 error, 2 pending work (status, plan), 3 refused (lock held, interrupted,\nahead, uninitialised, older code running), 4 wait timed out, 5 rehearsal over its --budget, 130/143 upgrade stopped by SIGINT/SIGTERM. Every error prints a stable code (E_...) and the next command to run.",
    );
  usageErrorsCoded(program, streams, json);
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
    waitCommand,
    backupCommand,
    restoreCommand,
    rehearseCommand,
    instancesCommand,
  ]) {
    program.addCommand(usageErrorsCoded(make(streams, exit), streams, json).exitOverride());
  }
  return program;
}

/**
 * commander's own errors (unknown option or command, missing argument) get the E_USAGE code
 * and a next action; with --json they are the usual `{ "error": … }` on stdout.
 */
function usageErrorsCoded(command: Command, streams: Streams, json: boolean): Command {
  const name = command.name() === "lockstep" ? "lockstep" : `lockstep ${command.name()}`;
  const hint = `run \`${name} --help\` for its commands and options`;
  return command.configureOutput({
    outputError: (text, write) => {
      const message = text.replace(/^error: /, "").trim();
      if (json) {
        streams.stdout.write(`${JSON.stringify({ error: { code: "E_USAGE", message, hint } }, null, 2)}\n`);
        return;
      }
      write(`error E_USAGE: ${message}\n  → ${hint}\n`);
    },
  });
}

/** Runs the CLI; with its entry (main.ts), the only place that touches `process`. */
export function runCli(): void {
  const exit: ExitHolder = { code: 0 };
  ignoreBrokenPipe(process.stdout);
  ignoreBrokenPipe(process.stderr);
  const stop = processSignals();
  const streams: Streams = {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
    signals: stop.signals,
  };
  let settled = false;
  // Node exits 0 when its event loop drains while a promise is still pending: a config or
  // step whose top-level await never settles would print nothing and pass a CI gate.
  process.on("exit", () => {
    if (settled || stop.stopped()) return;
    process.exitCode = (exit.output ?? new Output(streams, false)).error(unsettledError());
  });
  const argv = process.argv.slice(2);
  main(buildProgram(streams, exit, argv.includes("--json")), argv, exit).then(
    (code) => {
      settled = true;
      process.exitCode = code;
      // A step abandoned at a stop may still hold a timer or a socket: do not wait for it.
      if (stop.stopped() || exit.exitAtOnce === true) process.exit(code);
    },
    (error: unknown) => {
      settled = true;
      process.stderr.write(`unexpected error: ${(error as Error)?.stack ?? String(error)}\n`);
      process.exitCode = 1;
    },
  );
}

/**
 * SIGINT/SIGTERM for a command that watches them (upgrade): the first calls its handler, a
 * second exits at once. Unwatched, they keep their default (the process dies).
 */
function processSignals(): { signals: StopSignals; stopped(): boolean } {
  let stoppedBy: StopSignal | null = null;
  return {
    stopped: () => stoppedBy !== null,
    signals: {
      watch(onStop) {
        const handler = (signal: StopSignal) => {
          if (stoppedBy !== null) {
            process.stderr.write(
              `${signal} again: exiting at once; a step under way may be left INTERRUPTED and the lease held until it expires (see \`lockstep status\`)\n`,
            );
            process.exit(signalExit(signal));
          }
          stoppedBy = signal;
          onStop(signal);
        };
        process.on("SIGINT", handler);
        process.on("SIGTERM", handler);
        return () => {
          process.off("SIGINT", handler);
          process.off("SIGTERM", handler);
        };
      },
    },
  };
}

async function main(program: Command, argv: readonly string[], exit: ExitHolder): Promise<number> {
  try {
    await program.exitOverride().parseAsync([...argv], { from: "user" });
  } catch (error) {
    const code = (error as { exitCode?: number }).exitCode;
    // commander has printed help, the version, or a usage error already.
    return typeof code === "number" ? code : 1;
  }
  return exit.code;
}

function unsettledError(): LockstepError {
  return (
    unsettledImportError() ??
    new LockstepError(
      "E_UNSETTLED",
      "lockstep stopped before the command finished: something it awaited (in a step, a precondition or the config) can never settle",
      {
        hint: "find the promise that never resolves (a step's run, a precondition, the config), fix it, then run `lockstep status`",
      },
    )
  );
}
