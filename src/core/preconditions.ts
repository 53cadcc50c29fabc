import type { Adapter } from "./adapter.js";
import { PreconditionError, RefusedError, summaryOf } from "./errors.js";
import type { PreconditionReport } from "./reports.js";
import type { Step } from "./step.js";

/**
 * Evaluates the preconditions of `steps`, in order; with `force`, the skippable ones are
 * skipped, but still checked: a skipped one that fails says so in its `message`, so forcing
 * never hides what it skipped. Reports every outcome and throws nothing.
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
      const failure = await condition.check(ctx);
      const status = force && condition.skippable ? "skipped" : "failed";
      reports.push(
        failure
          ? {
              ...base,
              status,
              message: failure.message,
              ...(failure.count !== undefined && { count: failure.count }),
            }
          : { ...base, status: force && condition.skippable ? "skipped" : "passed" },
      );
    }
  }
  return reports;
}

/** Throws a {@link PreconditionError} listing every failed precondition, if any failed. */
export function throwOnFailedPreconditions(reports: readonly PreconditionReport[]): void {
  const failed = reports.filter((report) => report.status === "failed");
  if (failed.length === 0) return;
  const lines = preconditionLines(failed);
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
        ? "fix the data, or rerun with `--force` (CLI) / `force: true` to skip these skippable conditions (the step then runs over the records they name)"
        : "fix the data first: at least one condition cannot be skipped",
    },
  );
}

/** The preconditions `force` skipped although they fail: what the step now runs over. */
export function skippedFailing(reports: readonly PreconditionReport[]): PreconditionReport[] {
  return reports.filter((r) => r.status === "skipped" && r.message !== undefined);
}

/** "  - description (step x): message" per report. */
function preconditionLines(reports: readonly PreconditionReport[]): string {
  return reports.map((f) => `  - ${f.description} (step ${f.step}): ${f.message}`).join("\n");
}

/**
 * E_OLDER_CODE_RUNNING with the preconditions that fail on the refused steps too: a user who
 * overrides the older code (`--ignore-live`) still meets them, and `--force` would skip the
 * skippable ones (data they protect may be lost), so they are named before anything is run.
 */
export function withFailingPreconditions(
  refusal: RefusedError,
  reports: readonly PreconditionReport[],
): RefusedError {
  const failed = reports.filter((r) => r.status === "failed");
  if (failed.length === 0) return refusal;
  const skippable = failed.filter((f) => f.skippable).length;
  return new RefusedError(
    refusal.code,
    `${summaryOf(refusal)}\nand ${failed.length} precondition(s) fail:\n${preconditionLines(failed)}`,
    {
      hint: `fix the data first${skippable > 0 ? ` (\`--force\` would skip ${skippable === failed.length ? "these" : `${skippable} of these`} and the step would run over it)` : ""}; then ${refusal.hint}`,
    },
  );
}
