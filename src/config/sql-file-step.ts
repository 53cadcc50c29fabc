import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { closestName, didYouMean } from "../core/did-you-mean.js";
import { StepDefinitionError } from "../core/errors.js";
import type { StepDefinition, StepPhase } from "../core/step.js";
import { runSql, sqlRunnerFor } from "./run-sql.js";

/** The directives a SQL step file may carry in its leading comment lines. */
const DIRECTIVES = ["lockstep-phase"] as const;

/** `-- lockstep-<word>: value` (any case); the value is checked by the registry. */
const LINE_DIRECTIVE = /^--\s*(lockstep-[\w-]*)\s*:\s*(.*?)\s*$/i;
/** A `lockstep-…:` directive (or `lockstep phase:`, `lockstep_phase:`) in any comment form, to refuse it where it would be ignored. */
const ANY_DIRECTIVE = /^(?:--|\/\*)\s*(lockstep[-_ ][\w -]*?)\s*:/i;

/**
 * The phase a SQL step declares in its leading comment lines (`-- lockstep-phase: expand`,
 * key and value in any case), and the SQL without those lines (the checksum's input:
 * declaring the phase of a released step later is not an edit). A directive lockstep would
 * otherwise ignore is refused with E_INVALID_STEP naming the file and line: a misspelt one,
 * one in a block comment, one after the first statement, two that disagree.
 */
export function sqlStepPhase(
  sql: string,
  path = "(SQL step)",
): { phase: string | undefined; hashed: string } {
  const lines = sql.split("\n");
  let phase: { value: string; line: number } | undefined;
  const drop = new Set<number>();
  let leading = true;
  for (const [i, line] of lines.entries()) {
    const text = line.trim();
    if (leading && text !== "" && !text.startsWith("--")) leading = false;
    const any = ANY_DIRECTIVE.exec(text);
    if (any === null) continue;
    const where = `${path}:${i + 1}`;
    const key = (any[1] ?? "").toLowerCase();
    // `-- lockstep note: …` is prose; `-- lockstep phase:` is a misspelt directive.
    if (!key.startsWith("lockstep-") && closestName(key, DIRECTIVES) === undefined) continue;
    if (!DIRECTIVES.includes(key as never)) {
      throw directiveError(where, `unknown directive \`${any[1]}\`${didYouMean(key, DIRECTIVES)}`);
    }
    const match = LINE_DIRECTIVE.exec(text);
    if (match === null) {
      throw directiveError(where, `\`${any[1]}\` in a block comment is not read; write it as a line comment`);
    }
    if (!leading) {
      throw directiveError(
        where,
        `\`${any[1]}\` after the first statement is not read; move it to the file's leading comment lines`,
      );
    }
    const value = (match[2] ?? "").toLowerCase();
    if (phase !== undefined && phase.value !== value) {
      throw directiveError(
        where,
        `\`lockstep-phase: ${value}\` contradicts \`lockstep-phase: ${phase.value}\` on line ${phase.line}; keep one`,
      );
    }
    phase ??= { value, line: i + 1 };
    drop.add(i);
  }
  return { phase: phase?.value, hashed: lines.filter((_, i) => !drop.has(i)).join("\n") };
}

function directiveError(where: string, what: string): StepDefinitionError {
  return new StepDefinitionError("E_INVALID_STEP", `${where}: ${what}`, {
    hint: "declare the phase on one leading line: `-- lockstep-phase: expand` (or contract); none means needed now and breaking",
  });
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
  const { phase, hashed } = sqlStepPhase(sql, path);
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
