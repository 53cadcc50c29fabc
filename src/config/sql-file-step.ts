import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { StepDefinitionError } from "../core/errors.js";
import type { StepDefinition, StepPhase } from "../core/step.js";
import { runSql, sqlRunnerFor } from "./run-sql.js";

/** `-- lockstep-phase: expand` (or `contract`) among the file's leading comment lines. */
const PHASE_LINE = /^--\s*lockstep-phase:\s*(\S*)\s*$/;

/**
 * The phase a SQL step declares in its leading comment lines, and the SQL without that line
 * (the checksum's input: declaring the phase of a released step later is not an edit).
 */
export function sqlStepPhase(sql: string): { phase: string | undefined; hashed: string } {
  const lines = sql.split("\n");
  for (const [i, line] of lines.entries()) {
    const text = line.trim();
    if (text !== "" && !text.startsWith("--")) break;
    const match = PHASE_LINE.exec(text);
    if (match) return { phase: match[1], hashed: [...lines.slice(0, i), ...lines.slice(i + 1)].join("\n") };
  }
  return { phase: undefined, hashed: sql };
}

/** `<version>-<name>.sql`, e.g. `1.4.0-add-index.sql`. */
const SQL_STEP_FILE = /^(v?\d+\.\d+\.\d+)-([A-Za-z0-9][\w.-]*)\.sql$/;

/**
 * The step of one SQL file in the steps folder: version and name from the file name,
 * checksum from its content; its run executes the file in the step's transaction.
 */
export function sqlFileStep(path: string): StepDefinition<unknown> {
  const file = basename(path);
  const match = SQL_STEP_FILE.exec(file);
  const [, version, name] = match ?? [];
  if (version === undefined || name === undefined) {
    throw new StepDefinitionError(
      "E_INVALID_STEP",
      `SQL step file ${path} is not named <version>-<name>.sql`,
      {
        hint: "rename it, e.g. 1.4.0-add-index.sql",
      },
    );
  }
  const sql = readFileSync(path, "utf8");
  const { phase, hashed } = sqlStepPhase(sql);
  return {
    version,
    name,
    description: `SQL file ${file}`,
    // The registry refuses a phase other than expand/contract, naming the step.
    ...(phase !== undefined && { phase: phase as StepPhase }),
    checksum: createHash("sha256").update(`${version}\n${name}\n${hashed}`).digest("hex"),
    // Checked before anything is applied, so a MongoDB upgrade stops before its first step.
    conditions: [
      {
        description: `the database runs SQL (${file})`,
        skippable: false,
        check: async (ctx) =>
          sqlRunnerFor(ctx.db) ? null : { message: `${path} is SQL, and this database does not run SQL` },
      },
    ],
    run: async (ctx) => {
      if (!ctx.dryRun) await runSql(ctx.db, sql, path);
    },
  };
}
