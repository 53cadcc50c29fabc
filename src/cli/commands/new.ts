import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { type Command, Option } from "commander";
import { readConfig, stepsDirOf } from "../../config/load-config.js";
import { ConfigError, LockstepError } from "../../core/errors.js";
import { normaliseVersion } from "../../core/versions.js";
import { defineCommand, type ExitHolder } from "../command.js";
import { EXIT, type Streams } from "../output.js";

const TEMPLATE = new URL("../../../templates/step.ts.tmpl", import.meta.url);

/** `lockstep new <version> <name>`: write a step file from the template. */
export function newCommand(streams: Streams, exit: ExitHolder): Command {
  return defineCommand<{ dir?: string; description?: string }>(
    "new",
    "write a new step file from a template",
    streams,
    exit,
    async ({ options, output, streams }, versionArg, nameArg) => {
      const version = normaliseVersion(versionArg, "the version argument");
      const name = nameArg ?? "";
      if (!/^[a-z0-9][a-z0-9-]*$/i.test(name)) {
        throw new LockstepError("E_INVALID_STEP", `step name ${JSON.stringify(name)} is not a plain name`, {
          hint: "use letters, digits and dashes, e.g. relationships-to-refcode",
        });
      }
      const dir =
        options.dir !== undefined ? resolve(streams.cwd, options.dir) : await stepsDir(streams.cwd, options);
      const file = join(dir, `${version}-${name}.ts`);
      if (existsSync(file)) {
        throw new LockstepError("E_STEP_FILE_EXISTS", `${file} already exists`, {
          hint: "pick another name",
        });
      }
      mkdirSync(dir, { recursive: true });
      const text = readFileSync(TEMPLATE, "utf8")
        .replaceAll("__VERSION__", version)
        .replaceAll("__NAME__", name)
        .replaceAll("__DESCRIPTION__", options.description ?? `TODO: what ${name} changes, and why`);
      writeFileSync(file, text, { flag: "wx" });
      output.result({ file, version, name });
      output.line(
        `Wrote ${relative(streams.cwd, file) || file}. If your config lists steps instead of a folder, add it there.`,
      );
      return EXIT.ok;
    },
  )
    .argument("<version>", "the first release that needs the step, e.g. 1.4.0")
    .argument("<name>", "what the step does, e.g. relationships-to-refcode")
    .addOption(
      new Option("--dir <path>", "where to write it (default: the config's steps folder, else ./upgrades)"),
    )
    .addOption(new Option("--description <text>", "the step's description"));
}

/** The config's steps folder (it need not exist yet), else ./upgrades when there is no config. */
async function stepsDir(cwd: string, options: { config?: string }): Promise<string> {
  try {
    return stepsDirOf(await readConfig(cwd, options.config));
  } catch (error) {
    if (error instanceof ConfigError && error.code === "E_CONFIG_NOT_FOUND" && options.config === undefined) {
      return resolve(cwd, "upgrades");
    }
    throw error;
  }
}
