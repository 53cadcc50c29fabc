/** `lockstep plan --targets …`: every target planned (read-only), grouped by stamp and outcome, one plan per group. */

import { redactUrl } from "../../adapters/url.js";
import type { PlanReport } from "../../core/upgrader.js";
import { fleetStatusExitCode } from "../../fleet/status-rows.js";
import { errorOf, statusOfError } from "../../fleet/target-result.js";
import type { CommandRun } from "../command.js";
import { EXIT, type Output } from "../output.js";
import {
  type PlanCliOptions,
  planHasWork,
  planOptions,
  printPlan,
  throwOnRefusedPlan,
} from "../plan-view.js";
import type { Fleet } from "./fleet-context.js";
import { type FleetCliOptions, rolloutOf } from "./fleet-options.js";
import { readTargets, type TargetRead } from "./fleet-read.js";

type Options = PlanCliOptions & FleetCliOptions;

/** One target's plan, or why it has none. */
interface Planned {
  readonly name: string;
  readonly database: string;
  readonly plan: PlanReport | null;
  readonly status: "planned" | "failed" | "refused" | "unreachable";
  readonly error: { readonly code: string; readonly message: string } | null;
}

/** Targets whose plans read alike (stamp, steps, decisions, preconditions), and the plan of the first of them. */
interface Group {
  readonly stamp: string | null;
  readonly status: "planned" | "refused";
  readonly targets: string[];
  readonly plan: PlanReport;
}

/** Plans every target (`--concurrency` at once) and prints one plan per group; exit 0/2/3/1. */
export async function fleetPlan(run: CommandRun<Options>, fleet: Fleet): Promise<number> {
  const { options, output } = run;
  const reads = await readTargets(fleet, rolloutOf(options).concurrency, (u) => u.plan(planOptions(options)));
  const outcomes = reads.map(plannedOf);
  const planned = outcomes.map((o) => o.planned);
  const codes = outcomes.map((o) => o.code);
  const groups = groupByPlan(planned);
  const problems = planned.filter((p) => p.status !== "planned");
  output.result({
    codeVersion: fleet.shared.appVersion,
    groups: groups.map((g) => ({ stamp: g.stamp, status: g.status, targets: g.targets, plan: g.plan })),
    results: planned.map(({ plan, ...p }) => ({
      ...p,
      stamp: plan?.stamp ?? null,
      to: plan?.target ?? null,
    })),
  });
  printGroups(output, groups, problems);
  return fleetStatusExitCode(codes);
}

/** A target's plan (or why it has none) and the exit code `plan` gives for it alone. */
function plannedOf(read: TargetRead<PlanReport>): { planned: Planned; code: number } {
  const shown = { name: read.target.name, database: redactUrl(read.target.url) };
  if (!read.ok) {
    const error = errorOf(read.error, read.target.url);
    return { planned: { ...shown, plan: null, status: statusOfError(read.error), error }, code: read.code };
  }
  const { status, error, code } = outcomeOf(read.value, read.target.url);
  return { planned: { ...shown, plan: read.value, status, error }, code };
}

/** What the one-database plan would say: refused (exit 3, with its error), else work pending (2) or nothing to do (0). */
function outcomeOf(
  plan: PlanReport,
  url: string,
): { status: "planned" | "refused"; error: Planned["error"]; code: number } {
  try {
    throwOnRefusedPlan(plan);
  } catch (error) {
    return { status: "refused", error: errorOf(error, url), code: EXIT.refused };
  }
  return { status: "planned", error: null, code: planHasWork(plan) ? EXIT.pending : EXIT.ok };
}

/**
 * One group per plan as printed: the same stamp is not enough, since a precondition or a live
 * older release can refuse one target of a stamp and not another (each is named with its own).
 */
function groupByPlan(planned: readonly Planned[]): Group[] {
  const groups = new Map<string, Group>();
  for (const p of planned) {
    if (p.plan === null || (p.status !== "planned" && p.status !== "refused")) continue;
    const key = planKey(p.plan);
    const group = groups.get(key);
    if (group) group.targets.push(p.name);
    else groups.set(key, { stamp: p.plan.stamp, status: p.status, targets: [p.name], plan: p.plan });
  }
  return [...groups.values()];
}

/** Everything a printed plan shows but the database's own description. */
function planKey({ database: _database, codeVersion: _code, ...shown }: PlanReport): string {
  return JSON.stringify(shown);
}

function printGroups(out: Output, groups: readonly Group[], problems: readonly Planned[]): void {
  const { c } = out;
  for (const g of groups) {
    const names = g.targets.length > 8 ? `${g.targets.slice(0, 8).join(", ")}, …` : g.targets.join(", ");
    const refused = g.status === "refused" ? `, ${c.red("refused")}` : "";
    out.line(
      c.bold(
        `== stamp ${g.stamp ?? "(none)"}${refused}: ${g.targets.length} database${g.targets.length === 1 ? "" : "s"} (${names}) ==`,
      ),
    );
    printPlan(out, g.plan);
    out.line();
  }
  if (problems.length === 0) return;
  out.line(c.bold(`Refused or not planned: ${problems.length}`));
  for (const p of problems)
    out.line(`  ${p.name}  ${c.red(p.status)}  ${p.error?.code}: ${p.error?.message}`);
}
