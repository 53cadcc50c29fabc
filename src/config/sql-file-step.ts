import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { StepDefinitionError } from "../core/errors.js";
import type { StepDefinition } from "../core/step.js";
import { runSql, sqlRunnerFor } from "./run-sql.js";

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
  return {
    version,
    name,
    description: `SQL file ${file}`,
    checksum: createHash("sha256").update(`${version}\n${name}\n${sql}`).digest("hex"),
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
