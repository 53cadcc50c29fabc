import type { Adapter } from "./adapter.js";
import { PreconditionError } from "./errors.js";
import type { PreconditionReport } from "./reports.js";
import type { Step } from "./step.js";

/**
 * Evaluates the preconditions of `steps`, in order; with `force`, the skippable ones are
 * skipped. Reports every outcome and throws nothing.
 */
export async function checkPreconditions<TDb>(
  adapter: Adapter<TDb>,
  steps: readonly Step<TDb>[],
  force: boolean,
): Promise<PreconditionReport[]> {
  const reports: PreconditionReport[] = [];
  const ctx = {
    db: adapter.handle(),
    databaseKind: adapter.kind,
    count: (query: Parameters<Adapter["count"]>[0]) => adapter.count(query),
  };
  for (const step of steps) {
    for (const condition of step.conditions ?? []) {
      const base = { step: step.id, description: condition.description, skippable: condition.skippable };
      if (force && condition.skippable) {
        reports.push({ ...base, status: "skipped" });
        continue;
      }
      const failure = await condition.check(ctx);
      reports.push(
        failure
          ? {
              ...base,
              status: "failed",
              message: failure.message,
              ...(failure.count !== undefined && { count: failure.count }),
            }
          : { ...base, status: "passed" },
      );
    }
  }
  return reports;
}

/** Throws a {@link PreconditionError} listing every failed precondition, if any failed. */
export function throwOnFailedPreconditions(reports: readonly PreconditionReport[]): void {
  const failed = reports.filter((report) => report.status === "failed");
  if (failed.length === 0) return;
  const lines = failed.map((f) => `  - ${f.description} (step ${f.step}): ${f.message}`).join("\n");
  const allSkippable = failed.every((f) => f.skippable);
  throw new PreconditionError(
    `${failed.length} precondition(s) failed; nothing was applied:\n${lines}`,
    failed.map((f) => ({
      step: f.step,
      description: f.description,
      message: f.message ?? "",
      skippable: f.skippable,
      ...(f.count !== undefined && { count: f.count }),
    })),
    {
      hint: allSkippable
        ? "fix the data, or rerun with --force to skip these skippable conditions"
        : "fix the data first: at least one condition cannot be skipped",
    },
  );
}
