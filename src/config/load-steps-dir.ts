import { type Dirent, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import {
  ConfigError,
  InvalidVersionError,
  LockstepError,
  StepDefinitionError,
  summaryOf,
} from "../core/errors.js";
import { collectStepDefinitions, StepRegistry } from "../core/registry.js";
import type { StepDefinition } from "../core/step.js";
import { importModule } from "./import-module.js";
import { sqlFileStep } from "./sql-file-step.js";

/** Step files the folder loads: modules (TypeScript without a build step) and SQL. */
const MODULE_FILE = /\.(ts|mts|cts|js|mjs|cjs)$/;
/** Companions of compiled step files, skipped. */
const COMPANION_FILE = /\.(d\.[mc]?ts|map)$/;

/**
 * Loads every step file of a folder, in file-name order. A file the folder cannot load is
 * refused, naming it; so is a step the registry would refuse, naming its file. Subfolders
 * (helpers the step files import) and dot-files are not loaded.
 */
export async function loadStepsDir(dir: string): Promise<StepDefinition<any>[]> {
  const steps: StepDefinition<any>[] = [];
  const fileOf = new Map<string, string>();
  for (const entry of stepEntries(dir)) {
    const path = join(dir, entry.name);
    const found = await stepsOfFile(path);
    for (const step of inFile(path, () => new StepRegistry(found)).steps) {
      const other = fileOf.get(step.id);
      if (other !== undefined) {
        throw new StepDefinitionError("E_DUPLICATE_STEP", `${other} and ${path} both register ${step.id}`, {
          hint: "rename one of them: a step's identity is its version plus its name",
        });
      }
      fileOf.set(step.id, path);
    }
    steps.push(...found);
  }
  return steps;
}

function stepEntries(dir: string): Dirent[] {
  const stat = statSync(dir, { throwIfNoEntry: false });
  if (stat === undefined) {
    throw new ConfigError("E_CONFIG_INVALID", `steps folder not found: ${dir}`, {
      hint: "create it, or `lockstep new <version> <name>` creates it with the first step",
    });
  }
  if (!stat.isDirectory()) {
    throw new ConfigError("E_CONFIG_INVALID", `"steps" names ${dir}, which is a file, not a folder`, {
      hint: 'point steps at the folder of step files (steps: "./upgrades"), or list the steps: steps: [firstStep]',
    });
  }
  return readdirSync(dir, { withFileTypes: true })
    .filter(
      (entry) => !entry.name.startsWith(".") && !entry.isDirectory() && !COMPANION_FILE.test(entry.name),
    )
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

async function stepsOfFile(path: string): Promise<StepDefinition<any>[]> {
  if (path.endsWith(".sql")) return [inFile(path, () => sqlFileStep(path))];
  if (!MODULE_FILE.test(path)) {
    throw new ConfigError("E_CONFIG_INVALID", `${path} is not a step file`, {
      hint: "the steps folder loads .ts, .mts, .cts, .js, .mjs, .cjs and <version>-<name>.sql files: move it elsewhere (subfolders are not loaded)",
    });
  }
  let module: Record<string, unknown>;
  try {
    module = await importModule(path);
  } catch (error) {
    if (error instanceof LockstepError) {
      inFile(path, () => {
        throw error;
      });
    }
    throw new ConfigError("E_CONFIG_INVALID", `cannot load step file ${path}: ${(error as Error).message}`, {
      cause: error,
      hint: "fix the error in that step file",
    });
  }
  const exported = module.default;
  if (exported === undefined) {
    throw new ConfigError("E_CONFIG_INVALID", `step file ${path} has no default export`, {
      hint: "export default upgrade({ version, name, run })",
    });
  }
  return inFile(path, () => collectStepDefinitions(Array.isArray(exported) ? exported : [exported]));
}

/** Runs `fn`, re-throwing a step definition error with the file it came from in its message. */
function inFile<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof InvalidVersionError && !error.source.includes(path)) {
      throw new InvalidVersionError(error.value, `${error.source} in ${path}`);
    }
    if (error instanceof StepDefinitionError && !error.message.includes(path)) {
      throw new StepDefinitionError(error.code, `${path}: ${summaryOf(error)}`, {
        cause: error.cause,
        ...(error.hint !== undefined && { hint: error.hint }),
      });
    }
    throw error;
  }
}
