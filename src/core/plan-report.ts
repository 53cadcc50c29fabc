/** `plan()`'s report: the plan as data, each step with its phase and what older code running does to it. */
import type { Actor } from "../runtime/actor.js";
import type { Adapter, DatabaseDescription, DatabaseState } from "./adapter.js";
import { decideSteps, type RollingMode, type StepDecision } from "./compatibility.js";
import { liveInstances, summariseInstances } from "./instances.js";
import { type PlannerOptions, planUpgrade } from "./planner.js";
import { checkPreconditions } from "./preconditions.js";
import type { PlannedStep, PlanReport } from "./reports.js";
import type { Step } from "./step.js";
import { stepMode } from "./step-mode.js";
import type { UpgradeOptions } from "./upgrader-options.js";

/** The rolling-deploy flags of an upgrade. */
export function rollingMode(options: UpgradeOptions): RollingMode {
  return {
    contract: options.contract ?? false,
    force: options.force ?? false,
    ignoreLive: options.ignoreLiveInstances ?? false,
    allowDowntime: options.allowDowntime ?? false,
  };
}

/** What the plan of `state` looks like to this code, read-only (the registry is read, never pruned). */
export async function planReport<TDb>(
  where: { adapter: Adapter<TDb>; actor: Actor; database: DatabaseDescription },
  state: DatabaseState,
  steps: readonly Step<TDb>[],
  codeVersion: string,
  planOptions: PlannerOptions,
  options: UpgradeOptions,
): Promise<PlanReport> {
  const { adapter, database } = where;
  const plan = planUpgrade(state, steps, codeVersion, planOptions);
  const live = await liveInstances(adapter, where.actor, { prune: false });
  const decisions = decideSteps(plan.steps, live, rollingMode(options), { target: plan.target });
  // Refused steps' preconditions too: a refusal names those that fail as well (preconditions.ts).
  const applying = plan.steps.filter((_, i) => decisions[i]?.kind !== "defer");
  const preconditions = await checkPreconditions(adapter, applying, options.force ?? false);
  return {
    database,
    codeVersion,
    stamp: state.stamp,
    from: plan.from,
    target: plan.target,
    steps: plan.steps.map((step, i) => planned(step, database, decisions[i] as StepDecision)),
    baseline: plan.baseline.map((step) => step.id),
    skippedOutOfOrder: plan.skippedOutOfOrder.map((step) => step.id),
    checksumMismatches: plan.checksumMismatches,
    preconditions,
    interrupted: state.interrupted,
    instances: summariseInstances(live),
    note: plan.note,
  };
}

function planned(step: Step<unknown>, database: DatabaseDescription, decision: StepDecision): PlannedStep {
  return {
    id: step.id,
    version: step.version,
    name: step.name,
    description: step.description ?? null,
    atomic: stepMode(step, database.capabilities) === "atomic",
    idempotent: step.idempotent ?? false,
    batched: step.batched ?? false,
    phase: step.phase ?? null,
    decision: decision.kind,
    heldBy: decision.heldBy,
    behind: decision.behind,
  };
}
