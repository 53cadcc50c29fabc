import { Command, Option } from "commander";
import type { ResolvedConfig } from "../config/load-config.js";
import type { Upgrader } from "../core/upgrader.js";
import { type GlobalOptions, type OpenExtra, openUpgrader } from "./context.js";
import { isDebugEnv } from "./debug-env.js";
import { Output, type Streams } from "./output.js";

/** What a command's body receives. */
export interface CommandRun<O> {
  readonly options: O & GlobalOptions;
  readonly output: Output;
  readonly streams: Streams;
  /** Loads the config and opens the upgrader (closed for you afterwards). */
  open(extra?: OpenExtra): Promise<Upgrader<any>>;
  /** The config `open` loaded (undefined before). */
  config(): ResolvedConfig | undefined;
}

/** Where a command leaves its exit code. */
export interface ExitHolder {
  code: number;
  /** The running command's output, for an error found after it stopped (E_UNSETTLED). */
  output?: Output;
  /** The command stopped work it could not wait for (a step timer): exit once it returns. */
  exitAtOnce?: boolean;
}

/**
 * Declares a command with the options every command takes (`--config`, `--database`,
 * `--json`, `--app-version`, `--verbose`) and turns its result or error into an exit code.
 */
export function defineCommand<O>(
  name: string,
  description: string,
  streams: Streams,
  exit: ExitHolder,
  body: (run: CommandRun<O>, ...args: string[]) => Promise<number>,
): Command {
  const command = new Command(name).description(description);
  command
    .addOption(
      new Option("-c, --config <path>", "config file (default: lockstep.config.{ts,mts,js,mjs,json} here)"),
    )
    .addOption(
      new Option(
        "-d, --database <url>",
        "database URL, overriding the config's (sqlite:./app.db, postgres://…)",
      ),
    )
    .addOption(
      new Option("--app-version <version>", "the code version (default: the config's, else package.json)"),
    )
    .addOption(new Option("--json", "print the result as JSON on stdout (events as JSON lines on stderr)"))
    .addOption(
      new Option("--verbose", "on an error, print its stack and its causes' stacks (also LOCKSTEP_DEBUG=1)"),
    );
  command.action(async (...args: unknown[]) => {
    const cmd = args.at(-1) as Command;
    const options = cmd.opts() as O & GlobalOptions;
    const positional = args.slice(0, -2).map(String);
    const verbose = options.verbose === true || isDebugEnv(streams.env.LOCKSTEP_DEBUG);
    const output = new Output(streams, options.json === true, verbose);
    exit.output = output;
    let upgrader: Upgrader<any> | undefined;
    let config: ResolvedConfig | undefined;
    try {
      exit.code = await body(
        {
          options,
          output,
          streams,
          open: async (extra) => {
            ({ upgrader, config } = await openUpgrader(options, streams, output, extra));
            return upgrader;
          },
          config: () => config,
        },
        ...positional,
      );
    } catch (error) {
      exit.code = output.error(error);
    } finally {
      await upgrader?.close().catch(() => undefined);
    }
  });
  return command;
}
