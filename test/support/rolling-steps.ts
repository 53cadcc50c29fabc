/**
 * The steps of the rolling-deploy tests, shared by the guard processes
 * (rolling-child.ts) and the CLI configs the tests write, so both hold the same code (and
 * checksums). Each step marks its identity through the fixture: a step that ran twice shows
 * as two marks.
 */

import { runStatements } from "../../examples/rolling/sql.js";
import { upgrade } from "../../src/core/registry.js";
import type { StepDefinition } from "../../src/core/step.js";
import type { AdapterFixture } from "./fixtures.js";

/** Expand at 1.1.0 (older code keeps working), contract at 1.2.0 (breaks 1.0.0 and 1.1.0). */
export const EXPAND_ID = "1.1.0/add-display-name";
export const CONTRACT_ID = "1.2.0/drop-name";

/** The fixture called `name`, loaded in this process (child processes know only its name). */
export async function loadFixture(name: string): Promise<AdapterFixture> {
  const module = (await import(new URL(`./${name}-fixture.ts`, import.meta.url).href)) as {
    default: AdapterFixture;
  };
  return module.default;
}

/**
 * The release series 1.0.0 → 1.1.0 (expand) → 1.2.0 (contract) as marking steps. The expand
 * step holds its transaction for `holdMs` so racing guards overlap it.
 */
export async function phasedSteps(fixtureName: string, holdMs = 0): Promise<StepDefinition[]> {
  const fixture = await loadFixture(fixtureName);
  return [
    upgrade({
      version: "1.1.0",
      name: "add-display-name",
      phase: "expand",
      run: async (ctx) => {
        if (ctx.dryRun) return;
        await fixture.mark(ctx.db, EXPAND_ID);
        if (holdMs > 0) await new Promise((resolve) => setTimeout(resolve, holdMs));
      },
    }),
    upgrade({
      version: "1.2.0",
      name: "drop-name",
      phase: "contract",
      run: async (ctx) => {
        if (ctx.dryRun) return;
        await fixture.mark(ctx.db, CONTRACT_ID);
      },
    }),
  ];
}

/**
 * A lockstep.config.ts for a temp project whose CLI runs the same steps as the guard
 * processes: `steps` come from this module, so the checksums agree.
 */
export function phasedConfig(fixtureName: string, url: string, appVersion: string): string {
  const steps = new URL("./rolling-steps.ts", import.meta.url).pathname;
  return `import { defineConfig } from "lockstep";
import { phasedSteps } from ${JSON.stringify(steps)};
export default defineConfig({
  database: ${JSON.stringify(url)},
  appVersion: ${JSON.stringify(appVersion)},
  steps: await phasedSteps(${JSON.stringify(fixtureName)}),
});
`;
}

/**
 * Today's way to make the same change, for the zero-downtime test's counter-example: one
 * step with no phase that renames `name` to `display_name` (needed now and breaking), so
 * 1.0.0 code fails from the moment it runs until the last 1.0.0 replica is gone.
 */
export const renameWithoutPhase = upgrade({
  version: "1.2.0",
  name: "rename-name-to-display-name",
  async run(ctx) {
    const rename = ["alter table users rename column name to display_name"];
    await runStatements(ctx, { sqlite: rename, postgres: rename, mysql: rename });
  },
});

/**
 * A lockstep.config.ts (in a temp project) for the recipe app whose 1.2.0 change is
 * {@link renameWithoutPhase} instead of the example's expand and contract steps.
 */
export function noPhaseRecipeConfig(): string {
  const createUsers = new URL("../../examples/rolling/upgrades/1.0.0-create-users.ts", import.meta.url)
    .pathname;
  const steps = new URL("./rolling-steps.ts", import.meta.url).pathname;
  return `import { defineConfig } from "lockstep";
import createUsers from ${JSON.stringify(createUsers)};
import { renameWithoutPhase } from ${JSON.stringify(steps)};
export default defineConfig({
  appVersion: process.env.APP_VERSION ?? "1.2.0",
  database: process.env.DATABASE_URL ?? "",
  steps: [createUsers, renameWithoutPhase],
});
`;
}

/**
 * A lockstep.config.ts (in a temp project) for the recipe app at 1.0.0 on a new database,
 * whose second 1.0.0 step sleeps `ms`: the readiness test watches the app while it runs.
 */
export function slowRecipeConfig(ms: number): string {
  const createUsers = new URL("../../examples/rolling/upgrades/1.0.0-create-users.ts", import.meta.url)
    .pathname;
  return `import { defineConfig, upgrade } from "lockstep";
import createUsers from ${JSON.stringify(createUsers)};
export default defineConfig({
  appVersion: process.env.APP_VERSION ?? "1.0.0",
  database: process.env.DATABASE_URL ?? "",
  stepsBuildSchema: true,
  steps: [
    createUsers,
    upgrade({
      version: "1.0.0",
      name: "slow-backfill",
      run: () => new Promise((resolve) => setTimeout(resolve, ${ms})),
    }),
  ],
});
`;
}
