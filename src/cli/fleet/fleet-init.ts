/**
 * `lockstep init --targets …`: stamps brand-new tenant databases with the code version (or
 * `--version`) without replaying history. A target that holds data (a table or collection
 * lockstep did not make) or is already stamped is refused.
 */
import { RefusedError, UsageError } from "../../core/errors.js";
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
  // init's own warning about an empty database is what a new tenant is: not repeated per target.
  const quiet = (message: string) => {
    if (!message.startsWith("the database is empty")) warn(message);
  };
  return withTarget(fleet, target, quiet, async (upgrader) => {
    await upgrader.open({ create: true });
    const state = await upgrader.adapter.readState();
    known.from = state.stamp;
    if (state.stamp === null && state.userObjects !== 0) throw holdsData(state.userObjects);
    const result = await upgrader.init(version !== undefined ? { version } : {});
    return resultOf(target, {
      status: "upgraded",
      from: result.previous,
      to: result.version,
      durationMs: Date.now() - startedAt,
    });
  }).catch((error: unknown) => failedResult(target, error, startedAt, known));
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
