import type { Command } from "commander";
import { defineCommand, type ExitHolder } from "../command.js";
import { fleetMode } from "../fleet/fleet-context.js";
import { type FleetCliOptions, withFleetOptions } from "../fleet/fleet-options.js";
import { fleetPlan } from "../fleet/fleet-plan.js";
import { EXIT, type Streams } from "../output.js";
import {
  type PlanCliOptions,
  planHasWork,
  planOptions,
  printPlan,
  refusedSteps,
  withPlanOptions,
} from "../plan-view.js";

/** `lockstep plan`: what an upgrade would do. */
export function planCommand(streams: Streams, exit: ExitHolder): Command {
  const command = withPlanOptions(
    defineCommand<PlanCliOptions & FleetCliOptions>(
      "plan",
      "show what an upgrade would do, with preconditions checked (read-only)",
      streams,
      exit,
      async (run) => {
        const mode = await fleetMode(run);
        if (mode.fleet) return fleetPlan(run, mode.fleet);
        const upgrader = await run.open(mode.file ? { file: mode.file } : {});
        const plan = await upgrader.plan(planOptions(run.options));
        run.output.result(plan);
        printPlan(run.output, plan);
        if (plan.preconditions.some((p) => p.status === "failed")) return EXIT.refused;
        if (refusedSteps(plan).length > 0) return EXIT.refused;
        return planHasWork(plan) ? EXIT.pending : EXIT.ok;
      },
    ),
  );
  return withFleetOptions(command, false).addHelpText(
    "after",
    "\nEach step shows its phase (expand, contract, — for none) and what older code still running does to it:\na contract step is deferred while an older release runs, a step without a phase is refused.\nExit codes: 0 nothing to do (deferred contract steps alone: 0, they wait), 2 work pending (a step to apply,\nthe stamp to move), 3 refused (preconditions failed, older code running, uninitialised, ahead...), 1 error.\nMany databases (--targets or the config's databases): the databases grouped by stamp, one plan per group;\nexit 0 all current, 2 some pending, 3 some refused or unreachable, 1 an error.",
  );
}
