/**
 * `lockstep init --targets …`: stamps brand-new tenant databases with the code version (or
 * `--version`) without replaying history. A target that holds data (a table or collection
 * lockstep did not make) or is already stamped is refused, and so is an empty one when the
 * steps build the schema (`stepsBuildSchema`): baselining them would leave it without tables.
 */

import { RefusedError, UsageError } from "../../core/errors.js";
import type { Upgrader } from "../../core/upgrader.js";
import { compareVersions, normaliseVersion } from "../../core/versions.js";
import { failedResult, resultOf, type TargetResult } from "../../fleet/target-result.js";
import type { Target } from "../../fleet/targets.js";
import type { CommandRun } from "../command.js";
import type { Fleet } from "./fleet-context.js";
import { withTarget } from "./fleet-context.js";
import { type FleetCliOptions, rolloutOf } from "./fleet-options.js";
import { runFleetCommand } from "./fleet-run.js";

type Options = FleetCliOptions & { version?: string; force?: boolean };

/** Stamps every target of `fleet`. */
export async function fleetInit(run: CommandRun<Options>, fleet: Fleet): Promise<number> {
  const { options } = run;
  if (options.force === true) {
    throw new UsageError("E_USAGE", "init --force is for one database, never many at once", {
      hint: "repair a stamp on its own database: `lockstep init --database URL --version X --force`",
    });
  }
  return runFleetCommand(run, {
    command: "init",
    fleet,
    rollout: rolloutOf(options),
    options: options.version !== undefined ? { version: options.version } : {},
    runOne: (target, _signal, warn) => initOne(fleet, target, options.version, warn),
  });
}

async function initOne(
  fleet: Fleet,
  target: Target,
  version: string | undefined,
  warn: (message: string) => void,
): Promise<TargetResult> {
  const startedAt = Date.now();
  const known: { from?: string | null } = {};
  // Every warning init gives is shown, named by its target (progress.warn).
  return withTarget(fleet, target, warn, async (upgrader) => {
    await upgrader.open({ create: true });
    const state = await upgrader.adapter.readState();
    known.from = state.stamp;
    if (state.stamp === null && state.userObjects !== 0) throw holdsData(state.userObjects);
    if (state.stamp === null) refuseSchemaBuilders(upgrader, version, fleet);
    const result = await upgrader.init(version !== undefined ? { version } : {});
    return resultOf(target, {
      status: "upgraded",
      from: result.previous,
      to: result.version,
      durationMs: Date.now() - startedAt,
    });
  }).catch((error: unknown) => failedResult(target, error, startedAt, known));
}

/**
 * An empty database whose steps build the schema needs them run, not baselined: init would
 * record them as done and leave it without a table (the single-database init only warns).
 */
function refuseSchemaBuilders(upgrader: Upgrader<any>, version: string | undefined, fleet: Fleet): void {
  if (!upgrader.stepsBuildSchema) return;
  const at = version !== undefined ? normaliseVersion(version, "--version") : upgrader.codeVersion;
  const baseline = upgrader.steps.filter((step) => compareVersions(step.version, at) <= 0);
  if (baseline.length === 0) return;
  const targets = "targets" in fleet.source ? ` --targets ${fleet.source.targets}` : "";
  throw new RefusedError(
    "E_INIT_BUILDS_SCHEMA",
    `the database is empty and the steps build the schema (stepsBuildSchema): init would record ${baseline.length} step(s) up to ${at} as baselined and build no table`,
    {
      hint: `these steps build the schema: run \`lockstep upgrade${targets}\` on brand-new tenants (it runs them from nothing); init is for tenants whose schema is made elsewhere`,
    },
  );
}

function holdsData(count: number | undefined): RefusedError {
  return new RefusedError(
    "E_INIT_NOT_EMPTY",
    count === undefined
      ? "cannot tell whether the database is empty, and init --targets stamps only new, empty databases"
      : `the database holds ${count} table(s)/collection(s) lockstep did not create: not a new tenant`,
    {
      hint: "for a database from before lockstep run `lockstep upgrade --database URL --from-version <its release>`; init only brand-new ones",
    },
  );
}
