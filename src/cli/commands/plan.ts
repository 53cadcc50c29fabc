import { type Command, Option } from "commander";
import type { PlanReport } from "../../core/upgrader.js";
import { defineCommand, type ExitHolder } from "../command.js";
import { EXIT, type Output, type Streams } from "../output.js";

/** Options shared by `plan` and `upgrade`. */
export interface PlanCliOptions {
  readonly fromVersion?: string;
  readonly targetVersion?: string;
  readonly outOfOrder?: boolean;
  readonly force?: boolean;
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
    .addOption(new Option("--force", "skip preconditions marked skippable"));
}

/** The plan options as the library takes them. */
export function planOptions(o: PlanCliOptions) {
  return {
    ...(o.fromVersion !== undefined && { fromVersion: o.fromVersion }),
    ...(o.targetVersion !== undefined && { targetVersion: o.targetVersion }),
    ...(o.outOfOrder === true && { outOfOrder: true }),
    ...(o.force === true && { force: true }),
  };
}

/** True when an upgrade would change something. */
export function planHasWork(plan: PlanReport): boolean {
  return (
    plan.steps.length > 0 || plan.stamp === null || plan.stamp !== plan.target || plan.baseline.length > 0
  );
}

/** `lockstep plan`: what an upgrade would do. */
export function planCommand(streams: Streams, exit: ExitHolder): Command {
  return withPlanOptions(
    defineCommand<PlanCliOptions>(
      "plan",
      "show what an upgrade would do, with preconditions checked (read-only)",
      streams,
      exit,
      async (run) => {
        const upgrader = await run.open();
        const plan = await upgrader.plan(planOptions(run.options));
        run.output.result(plan);
        printPlan(run.output, plan);
        if (plan.preconditions.some((p) => p.status === "failed")) return EXIT.refused;
        return planHasWork(plan) ? EXIT.pending : EXIT.ok;
      },
    ),
  ).addHelpText(
    "after",
    "\nExit codes: 0 nothing to do, 2 work pending, 3 refused (preconditions failed, uninitialised, ahead...), 1 error.",
  );
}

/** Prints a plan for humans. */
export function printPlan(out: Output, plan: PlanReport): void {
  const { c } = out;
  out.line(`${c.bold("database")}  ${plan.database.target} (${plan.database.server})`);
  for (const g of plan.database.guarantees) out.line(`          · ${g}`);
  if (plan.note !== null) out.line(`${c.yellow("note")}      ${plan.note}`);
  if (!planHasWork(plan)) {
    out.line(`Database is already up to date (version ${plan.stamp}); nothing to do.`);
    return;
  }
  out.line(
    `${c.bold("Planned upgrade:")} ${plan.stamp ?? `(unstamped, from ${plan.from})`} -> ${plan.target}`,
  );
  if (plan.baseline.length > 0)
    out.line(`  baseline (recorded as applied, not run): ${plan.baseline.join(", ")}`);
  plan.steps.forEach((step, i) => {
    const flags = [
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
  });
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
          ? c.yellow("skipped (--force)")
          : c.red("FAILED");
    out.line(
      `  precondition [${p.step}] ${p.description}: ${mark}${p.message ? ` — ${p.message}` : ""}${p.status === "failed" && p.skippable ? " (skippable with --force)" : ""}`,
    );
  }
}
