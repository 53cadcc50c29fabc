import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { type Command, Option } from "commander";
import { type ConfigFile, readConfig, resolveAppVersion, stepsDirOf } from "../../config/load-config.js";
import { ConfigError, LockstepError } from "../../core/errors.js";
import { compareVersions, normaliseVersion, parseVersion, stepTarget } from "../../core/versions.js";
import { defineCommand, type ExitHolder } from "../command.js";
import { EXIT, type Output, type Streams } from "../output.js";

const TEMPLATE = new URL("../../../templates/step.ts.tmpl", import.meta.url);

/** `lockstep new <version> <name>`: write a step file from the template. */
export function newCommand(streams: Streams, exit: ExitHolder): Command {
  return defineCommand<{ dir?: string; description?: string; phase?: string }>(
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
      const config = await configOf(streams.cwd, options);
      const dir =
        options.dir !== undefined
          ? resolve(streams.cwd, options.dir)
          : (config?.stepsDir ?? resolve(streams.cwd, "upgrades"));
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
        .replaceAll("__DESCRIPTION__", options.description ?? `TODO: what ${name} changes, and why`)
        .replace(
          "__PHASE__",
          options.phase !== undefined ? `  phase: "${options.phase}",` : '  // phase: "expand",',
        )
        .replace("__CONDITIONS__", conditionExamples(config?.kind ?? null));
      writeFileSync(file, text, { flag: "wx" });
      output.result({ file, version, name });
      output.line(
        `Wrote ${relative(streams.cwd, file) || file}. If your config lists steps instead of a folder, add it there.`,
      );
      warnIfAboveCode(output, version, codeVersion(streams.cwd, options.appVersion, config?.file ?? null));
      return EXIT.ok;
    },
  )
    .argument("<version>", "the first release that needs the step, e.g. 1.4.0")
    .argument("<name>", "what the step does, e.g. relationships-to-refcode")
    .addOption(
      new Option("--dir <path>", "where to write it (default: the config's steps folder, else ./upgrades)"),
    )
    .addOption(new Option("--description <text>", "the step's description"))
    .addOption(
      new Option(
        "--phase <phase>",
        "expand (older releases keep working after it) or contract (breaks them; this release does not need it); default none: needed now and breaking",
      ).choices(["expand", "contract"]),
    );
}

/** The commented precondition example for the config's database; both when it is not known. */
function conditionExamples(kind: "sql" | "mongodb" | null): string {
  const sql = '  // conditions: [noRowsWhere("items", "refcode is null", { skippable: true })],';
  const mongo = '  // conditions: [noDocumentsIn("items", { refcode: null }, { skippable: true })],';
  if (kind === "sql") return sql;
  if (kind === "mongodb") return mongo;
  return `${sql}\n${mongo}`;
}

/** The database kind a config's `database` names, when it is a URL (read without connecting). */
function kindOf(database: unknown): "sql" | "mongodb" | null {
  const url =
    typeof database === "string"
      ? database
      : typeof (database as { kind?: unknown } | null)?.kind === "string"
        ? `${(database as { kind: string }).kind}:`
        : "";
  if (/^mongodb(\+srv)?:/i.test(url)) return "mongodb";
  if (/^(sqlite|file|postgres(ql)?|mysql|mariadb):/i.test(url)) return "sql";
  return null;
}

/** The config's steps folder (it need not exist yet) and database kind; null when there is no config. */
async function configOf(
  cwd: string,
  options: { config?: string; dir?: string },
): Promise<{ stepsDir: string; kind: "sql" | "mongodb" | null; file: ConfigFile } | null> {
  try {
    const file = await readConfig(cwd, options.config);
    return { stepsDir: stepsDirOf(file), kind: kindOf(file.config.database), file };
  } catch (error) {
    // With --dir the config only picks the example: a config that does not load shows both.
    if (options.dir !== undefined && options.config === undefined) return null;
    if (error instanceof ConfigError && error.code === "E_CONFIG_NOT_FOUND" && options.config === undefined) {
      return null;
    }
    throw error;
  }
}

/** A step above the code version never runs until the app's version reaches it: say so at once. */
function warnIfAboveCode(
  output: Output,
  version: string,
  code: { version: string; source: string } | null,
): void {
  if (code === null) return;
  if (compareVersions(version, stepTarget(parseVersion(code.version, code.source)).version) <= 0) return;
  output.warn(
    `${version} is above the code version ${code.version} (${code.source}): plan and upgrade leave this step out until the app's version reaches ${version}; bump the version when you release it, or pass --app-version ${version} to try it`,
  );
}

/** The code version plan and upgrade would use here, and where it comes from; null when none can be told. */
function codeVersion(
  cwd: string,
  explicit: string | undefined,
  file: ConfigFile | null,
): { version: string; source: string } | null {
  try {
    return resolveAppVersion(explicit, file?.config.appVersion, file?.dir ?? cwd, file?.path ?? cwd);
  } catch {
    // No package.json and no appVersion: plan and upgrade say so themselves.
    return null;
  }
}
