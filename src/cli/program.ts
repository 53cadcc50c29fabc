import { Command } from "commander";
import { unsettledImportError } from "../config/import-module.js";
import { LockstepError } from "../core/errors.js";
import { LOCKSTEP_VERSION } from "../version.js";
import type { ExitHolder } from "./command.js";
import {
  ignoreBrokenPipe,
  Output,
  type StopSignal,
  type StopSignals,
  type Streams,
  signalExit,
} from "./output.js";

type MakeCommand = (streams: Streams, exit: ExitHolder) => Command;

/**
 * Each command's module, imported only when needed: `lockstep status` loads status alone, not
 * backup, restore or rehearse and what they import (a third of the start-up time). Help, a
 * bare `lockstep` and an unknown command load them all. In the order `--help` lists them.
 */
const COMMANDS: Readonly<Record<string, () => Promise<MakeCommand>>> = {
  status: async () => (await import("./commands/status.js")).statusCommand,
  plan: async () => (await import("./commands/plan.js")).planCommand,
  upgrade: async () => (await import("./commands/upgrade.js")).upgradeCommand,
  init: async () => (await import("./commands/init.js")).initCommand,
  history: async () => (await import("./commands/history.js")).historyCommand,
  unlock: async () => (await import("./commands/unlock.js")).unlockCommand,
  resolve: async () => (await import("./commands/resolve.js")).resolveCommand,
  new: async () => (await import("./commands/new.js")).newCommand,
  check: async () => (await import("./commands/check.js")).checkCommand,
  wait: async () => (await import("./commands/wait.js")).waitCommand,
  backup: async () => (await import("./commands/backup.js")).backupCommand,
  restore: async () => (await import("./commands/restore.js")).restoreCommand,
  rehearse: async () => (await import("./commands/rehearse.js")).rehearseCommand,
  instances: async () => (await import("./commands/instances.js")).instancesCommand,
};

/**
 * The commands `argv` needs: the one it names (the first word; the program's own options come
 * before it and none takes a value), else every command (help, version, an unknown command).
 */
export async function commandsFor(argv: readonly string[]): Promise<MakeCommand[]> {
  const word = argv.find((arg) => !arg.startsWith("-"));
  const load = word !== undefined && Object.hasOwn(COMMANDS, word) ? COMMANDS[word] : undefined;
  return Promise.all(load ? [load()] : Object.values(COMMANDS).map((each) => each()));
}

/** Builds the `lockstep` program with `commands` (see {@link commandsFor}). */
export function buildProgram(
  streams: Streams,
  exit: ExitHolder,
  commands: readonly MakeCommand[],
  json = false,
): Command {
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
  for (const make of commands) {
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
  commandsFor(argv)
    .then((commands) => main(buildProgram(streams, exit, commands, argv.includes("--json")), argv, exit))
    .then(
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
