/** The plan as `plan`, `upgrade` and the fleet commands share it: options, the refusals, printing. */
import { type Command, Option } from "commander";
import { describeHolders, olderCodeError } from "../core/compatibility.js";
import { describeGroup } from "../core/instances.js";
import { type PlanReport, throwOnFailedPreconditions, withFailingPreconditions } from "../core/upgrader.js";
import type { Output } from "./output.js";

/** Options shared by `plan` and `upgrade`. */
export interface PlanCliOptions {
  readonly fromVersion?: string;
  readonly targetVersion?: string;
  readonly outOfOrder?: boolean;
  readonly force?: boolean;
  readonly contract?: boolean;
  readonly ignoreLive?: boolean;
  readonly allowDowntime?: boolean;
}

/** Adds the planning options to a command. */
export function withPlanOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        "--from-version <version>",
        "the release an unstamped database (from before lockstep) is at",
      ),
    )
    .addOption(new Option("--target-version <version>", "stop at this version (default: the code version)"))
    .addOption(new Option("--out-of-order", "also apply steps below the stamp that were never applied"))
    .addOption(
      new Option(
        "--force",
        "skip preconditions marked skippable (the step runs over the records they protect; each failing one is still reported); with --contract, also apply contract steps while older code runs (recorded in history). To override only older code, use --ignore-live",
      ),
    )
    .addOption(
      new Option(
        "--contract",
        "apply the contract steps deferred while older releases ran; refused (E_OLDER_CODE_RUNNING, with any failing preconditions) while one still runs",
      ),
    )
    .addOption(
      new Option(
        "--ignore-live",
        "apply contract steps even while older releases run (they may fail on the new data); overrides only that, recorded in history with the releases",
      ),
    )
    .addOption(
      new Option(
        "--allow-downtime",
        "apply steps without a phase, and also deferred contract steps, even while older releases run: they may fail (recorded in history)",
      ),
    );
}

/** The plan options as the library takes them. */
export function planOptions(o: PlanCliOptions) {
  return {
    ...(o.fromVersion !== undefined && { fromVersion: o.fromVersion }),
    ...(o.targetVersion !== undefined && { targetVersion: o.targetVersion }),
    ...(o.outOfOrder === true && { outOfOrder: true }),
    ...(o.force === true && { force: true }),
    ...(o.contract === true && { contract: true }),
    ...(o.ignoreLive === true && { ignoreLiveInstances: true }),
    ...(o.allowDowntime === true && { allowDowntime: true }),
  };
}

/** True when an upgrade would change something (deferred steps do not count: they wait). */
export function planHasWork(plan: PlanReport): boolean {
  return (
    plan.steps.some((s) => s.decision !== "defer") ||
    plan.stamp === null ||
    plan.stamp !== plan.target ||
    plan.baseline.length > 0
  );
}

/** The steps an upgrade would refuse while older code runs (E_OLDER_CODE_RUNNING). */
export function refusedSteps(plan: PlanReport): PlanReport["steps"] {
  return plan.steps.filter((s) => s.decision === "refuse");
}

/** Throws what an upgrade of `plan` would be refused for: a step older code forbids, failed preconditions. */
export function throwOnRefusedPlan(plan: PlanReport): void {
  const refused = refusedSteps(plan)[0];
  if (refused !== undefined) {
    // The failing preconditions with the refusal: what an override would run over.
    throw withFailingPreconditions(
      olderCodeError({ ...refused, step: refused.id, kind: "refuse", override: null }, "nothing was written"),
      plan.preconditions,
    );
  }
  throwOnFailedPreconditions(plan.preconditions);
}

/** Prints a plan for humans. */
export function printPlan(out: Output, plan: PlanReport): void {
  const { c } = out;
  out.line(`${c.bold("database")}  ${plan.database.target} (${plan.database.server})`);
  for (const g of plan.database.guarantees) out.line(`          · ${g}`);
  if (plan.note !== null) out.line(`${c.yellow("note")}      ${plan.note}`);
  if (!planHasWork(plan)) {
    out.line(`Database is already up to date (version ${plan.stamp}); nothing to do.`);
    for (const step of plan.steps)
      out.line(`  ${c.bold(step.id)} (phase ${step.phase ?? "—"}): ${decisionLine(out, step)}`);
    return;
  }
  out.line(
    plan.stamp === plan.target
      ? `${c.bold("Planned upgrade:")} at ${plan.target} (steps at or below the stamp; it stays)`
      : `${c.bold("Planned upgrade:")} ${plan.stamp ?? `(unstamped, from ${plan.from})`} -> ${plan.target}`,
  );
  if (plan.baseline.length > 0)
    out.line(`  baseline (recorded as applied, not run): ${plan.baseline.join(", ")}`);
  plan.steps.forEach((step, i) => {
    const flags = [
      `phase ${step.phase ?? "—"}`,
      step.batched
        ? "batched: each page commits with a checkpoint; resumes after a crash"
        : step.atomic
          ? "atomic"
          : c.yellow("not atomic: a crash leaves it INTERRUPTED"),
      step.idempotent ? "idempotent" : "",
    ]
      .filter(Boolean)
      .join(", ");
    out.line(`  ${i + 1}. ${c.bold(step.id)}${step.description ? ` — ${step.description}` : ""} (${flags})`);
    const blocked = decisionLine(out, step);
    if (blocked !== null) out.line(`     ${blocked}`);
  });
  if (plan.instances.length > 0)
    out.line(`  live: ${plan.instances.map((g) => describeGroup(g)).join("; ")}`);
  if (plan.steps.length === 0) out.line(`  no step to run; the stamp moves to ${plan.target}`);
  for (const id of plan.skippedOutOfOrder) {
    out.line(
      `  ${c.yellow("skipped")} ${id}: below the stamp, never applied; rerun with --out-of-order to apply it`,
    );
  }
  for (const m of plan.checksumMismatches)
    out.line(`  ${c.yellow("edited")} ${m.step} changed since it was applied`);
  for (const p of plan.preconditions) {
    const mark =
      p.status === "passed"
        ? c.green("ok")
        : p.status === "skipped"
          ? c.yellow(p.message ? "FAILS, skipped (--force)" : "skipped (--force)")
          : c.red("FAILED");
    out.line(
      `  precondition [${p.step}] ${p.description}: ${mark}${p.message ? ` — ${p.message}` : ""}${p.status === "failed" && p.skippable ? " (skippable with --force)" : ""}`,
    );
  }
}

/** What holds a step back, or the override that lets it run; null for a step that simply applies. */
function decisionLine(out: Output, step: PlanReport["steps"][number]): string | null {
  const { c } = out;
  const held = step.heldBy.length > 0 ? describeHolders(step.heldBy) : null;
  if (step.decision === "defer") {
    return c.yellow(
      `deferred: ${held ? `older code runs (${held})` : `waits behind ${step.behind}`}; \`lockstep upgrade --contract\` once it stops`,
    );
  }
  if (step.decision === "refuse") {
    return c.red(
      `refused (E_OLDER_CODE_RUNNING): ${held ? `older code runs (${held})` : `waits behind the deferred ${step.behind}`}`,
    );
  }
  // An expand step is meant to apply while older code runs; anything else applying then was overridden.
  return held && step.phase !== "expand"
    ? c.yellow(`applies although older code runs (${held}): it may fail on the new data`)
    : null;
}
