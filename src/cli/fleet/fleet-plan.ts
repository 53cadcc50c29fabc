/** `lockstep plan --targets …`: every target planned (read-only), grouped by stamp, one plan per group. */

import { redactUrl } from "../../adapters/url.js";
import type { PlanReport } from "../../core/upgrader.js";
import { pool } from "../../fleet/pool.js";
import { fleetStatusExitCode } from "../../fleet/status-rows.js";
import { errorOf, statusOfError } from "../../fleet/target-result.js";
import type { CommandRun } from "../command.js";
import { EXIT, type Output } from "../output.js";
import { type PlanCliOptions, planHasWork, planOptions, printPlan, refusedSteps } from "../plan-view.js";
import { type Fleet, withTarget } from "./fleet-context.js";
import { type FleetCliOptions, rolloutOf } from "./fleet-options.js";

type Options = PlanCliOptions & FleetCliOptions;

/** One target's plan, or why it has none. */
interface Planned {
  readonly name: string;
  readonly database: string;
  readonly plan: PlanReport | null;
  readonly status: "planned" | "failed" | "refused" | "unreachable";
  readonly error: { readonly code: string; readonly message: string } | null;
}

/** Targets at one stamp, and the plan of the first of them. */
interface Group {
  readonly stamp: string | null;
  readonly targets: string[];
  readonly plan: PlanReport;
}

/** Plans every target (`--concurrency` at once) and prints one plan per stamp; exit 0/2/3/1. */
export async function fleetPlan(run: CommandRun<Options>, fleet: Fleet): Promise<number> {
  const { options, output } = run;
  const planned: Planned[] = [];
  const codes: number[] = [];
  await pool(fleet.targets, rolloutOf(options).concurrency, async (target, i) => {
    const database = redactUrl(target.url);
    try {
      const plan = await withTarget(
        fleet,
        target,
        () => undefined,
        (u) => u.plan(planOptions(options)),
      );
      planned[i] = { name: target.name, database, plan, status: "planned", error: null };
      codes[i] = planExitCode(plan);
    } catch (error) {
      const status = statusOfError(error);
      planned[i] = { name: target.name, database, plan: null, status, error: errorOf(error, target.url) };
      codes[i] = status === "failed" ? EXIT.error : EXIT.refused;
    }
  });
  const groups = groupByStamp(planned);
  const problems = planned.filter((p) => p.plan === null);
  output.result({
    codeVersion: fleet.shared.appVersion,
    groups: groups.map((g) => ({ stamp: g.stamp, targets: g.targets, plan: g.plan })),
    results: planned.map(({ plan, ...p }) => ({
      ...p,
      stamp: plan?.stamp ?? null,
      to: plan?.target ?? null,
    })),
  });
  printGroups(output, groups, problems);
  return fleetStatusExitCode(codes);
}

/** The one-database plan's exit code: 3 refused, 2 work pending, 0 nothing to do. */
function planExitCode(plan: PlanReport): number {
  if (plan.preconditions.some((p) => p.status === "failed") || refusedSteps(plan).length > 0)
    return EXIT.refused;
  return planHasWork(plan) ? EXIT.pending : EXIT.ok;
}

function groupByStamp(planned: readonly Planned[]): Group[] {
  const groups = new Map<string | null, Group>();
  for (const p of planned) {
    if (p.plan === null) continue;
    const group = groups.get(p.plan.stamp);
    if (group) group.targets.push(p.name);
    else groups.set(p.plan.stamp, { stamp: p.plan.stamp, targets: [p.name], plan: p.plan });
  }
  return [...groups.values()];
}

function printGroups(out: Output, groups: readonly Group[], problems: readonly Planned[]): void {
  const { c } = out;
  for (const g of groups) {
    const names = g.targets.length > 8 ? `${g.targets.slice(0, 8).join(", ")}, …` : g.targets.join(", ");
    out.line(
      c.bold(
        `== stamp ${g.stamp ?? "(none)"}: ${g.targets.length} database${g.targets.length === 1 ? "" : "s"} (${names}) ==`,
      ),
    );
    printPlan(out, g.plan);
    out.line();
  }
  if (problems.length === 0) return;
  out.line(c.bold(`Not planned: ${problems.length}`));
  for (const p of problems)
    out.line(`  ${p.name}  ${c.red(p.status)}  ${p.error?.code}: ${p.error?.message}`);
}
