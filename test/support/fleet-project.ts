/**
 * A fleet project for the CLI: package.json at release 3.0.0, a config with no database (the
 * targets come from a file), and three steps whose body records itself in the tenant's
 * `runs` (so a test counts how often each ran per tenant) and throws while the tenant holds
 * a `poison` table/collection.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadStepsDir } from "../../src/config/load-steps-dir.js";
import type { StepDefinition } from "../../src/core/step.js";
import { makeProject, type Project } from "./cli.js";
import type { Tenant } from "./fleet-databases.js";

/** The code version of the fleet project. */
export const FLEET_VERSION = "3.0.0";
/** The steps, in order. */
export const FLEET_STEPS = ["1.0.0/a", "2.0.0/b", "3.0.0/c"] as const;
/** What a poisoned tenant's step throws. */
export const POISONED = "poison present: drop it, then resume";

/** The step ids a tenant stamped at `stamp` has pending under the fleet project's code. */
export function pendingFrom(stamp: string): string[] {
  const major = Number(stamp.split(".")[0]);
  return FLEET_STEPS.filter((id) => Number(id.split(".")[0]) > major);
}

const RECORD_RUN = `/** Records that a step body ran in the tenant's \`runs\`; throws while a \`poison\` table/collection exists. */
export async function recordRun(ctx) {
  if (ctx.dryRun) return { wouldRecord: 1 };
  const id = \`\${ctx.version}/\${ctx.name}\`;
  const poisoned = () => { throw new Error(${JSON.stringify(POISONED)}); };
  switch (ctx.databaseKind) {
    case "sqlite":
      if (ctx.db.prepare("select 1 from sqlite_master where name = 'poison'").get()) poisoned();
      ctx.db.prepare("insert into runs (step) values (?)").run(id);
      break;
    case "postgres": {
      const { rows } = await ctx.db.query("select to_regclass('poison') is not null as found");
      if (rows[0].found) poisoned();
      await ctx.db.query("insert into runs (step) values ($1)", [id]);
      break;
    }
    case "mysql": {
      const [rows] = await ctx.db.query(
        "select count(*) as n from information_schema.tables where table_schema = database() and table_name = 'poison'",
      );
      if (Number(rows[0].n) > 0) poisoned();
      await ctx.db.query("insert into runs (step) values (?)", [id]);
      break;
    }
    case "mongodb":
      if ((await ctx.db.listCollections({ name: "poison" }).toArray()).length > 0) poisoned();
      await ctx.db.collection("runs").insertOne({ step: id });
      break;
    default:
      throw new Error(\`no runs table on \${ctx.databaseKind}\`);
  }
  return { recorded: 1 };
}
`;

function stepFile(id: string): string {
  const [version, name] = id.split("/");
  return `import { upgrade } from "lockstep";
import { recordRun } from "./lib/record-run.js";

export default upgrade({ version: "${version}", name: "${name}", run: recordRun });
`;
}

/** A temp project with the fleet's package.json, config and steps (`extraConfig`: more config keys). */
export function makeFleetProject(extraConfig = ""): Project {
  const files: Record<string, string> = {
    "package.json": JSON.stringify({ name: "tenants-app", version: FLEET_VERSION, type: "module" }),
    "lockstep.config.js": `import { defineConfig } from "lockstep";
export default defineConfig({ steps: "./upgrades", lease: { waitMs: 2000 }${extraConfig} });
`,
    "upgrades/lib/record-run.js": RECORD_RUN,
  };
  for (const id of FLEET_STEPS) files[`upgrades/${id.replace("/", "-")}.js`] = stepFile(id);
  return makeProject(files);
}

/** The project's steps, loaded as the CLI loads them (same checksums), to stamp tenants in-process. */
export function fleetSteps(project: Project): Promise<StepDefinition<any>[]> {
  return loadStepsDir(join(project.dir, "upgrades"));
}

/**
 * Writes a targets file: a comment header, then one line per tenant (`name=URL`, or the bare
 * URL for a tenant the CLI names), with a blank line and a trailing comment along the way.
 * SQLite URLs are written relative to the project (the cwd).
 */
export function writeTargetsFile(project: Project, file: string, tenants: readonly Tenant[]): void {
  const lines = ["# tenants of the fleet test", ""];
  tenants.forEach((tenant, i) => {
    const url =
      tenant.kind === "sqlite" ? `sqlite:${tenant.database.slice(project.dir.length + 1)}` : tenant.url;
    const line = tenant.named ? `${tenant.name}=${url}` : url;
    lines.push(i === 1 ? `${line}   # trailing comment` : line);
    if (i === 20) lines.push("", "# the servers follow");
  });
  writeFileSync(join(project.dir, file), `${lines.join("\n")}\n`);
}
