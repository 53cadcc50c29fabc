import { ConfigError, type LockstepError, StepDefinitionError } from "./errors.js";
import type { Step } from "./step.js";
import type { LeaseOptions } from "./upgrader.js";

const BOOLEAN_OPTIONS = ["idempotent", "batched", "transaction"] as const;
const FUNCTION_OPTIONS = ["prepare"] as const;
const STRING_OPTIONS = ["description", "checksum"] as const;

/**
 * What is wrong with the options of one registered step (its identity, name and `run` are
 * checked by the registry): options of the wrong type, conditions without a `check`.
 * Returns every problem, so `lockstep check` can list them all at once.
 */
export function stepOptionProblems(step: Step<unknown>): LockstepError[] {
  const problems: LockstepError[] = [];
  const bad = (option: string, expected: string, value: unknown) =>
    problems.push(
      new StepDefinitionError(
        "E_INVALID_STEP",
        `step ${step.id}: \`${option}\` must be ${expected}, not ${describe(value)}`,
        { hint: `fix \`${option}\` in step ${step.id} (see the StepDefinition type)` },
      ),
    );
  const options = step as unknown as Record<string, unknown>;
  for (const option of BOOLEAN_OPTIONS) {
    const value = options[option];
    if (value !== undefined && typeof value !== "boolean") bad(option, "true or false", value);
  }
  for (const option of FUNCTION_OPTIONS) {
    const value = options[option];
    if (value !== undefined && typeof value !== "function") bad(option, "a function", value);
  }
  for (const option of STRING_OPTIONS) {
    const value = options[option];
    if (value !== undefined && typeof value !== "string") bad(option, "a string", value);
  }
  if (step.conditions !== undefined) {
    if (!Array.isArray(step.conditions)) bad("conditions", "an array of conditions", step.conditions);
    else
      step.conditions.forEach((c, i) => {
        const condition = c as unknown as Record<string, unknown> | null;
        if (condition === null || typeof condition !== "object" || typeof condition.check !== "function") {
          bad(`conditions[${i}]`, "a condition (noRowsWhere, noDocumentsIn or condition(...))", c);
        }
      });
  }
  if (step.affects !== undefined && !Array.isArray(step.affects)) {
    bad("affects", "an array of count queries", step.affects);
  }
  return problems;
}

/** What is wrong with the config's `lease` timings: each a non-negative number of ms. */
export function leaseOptionProblems(lease: LeaseOptions | undefined): LockstepError[] {
  if (lease === undefined) return [];
  if (lease === null || typeof lease !== "object") {
    return [invalidLease("lease", lease, "an object such as { ttlMs: 30000 }")];
  }
  const problems: LockstepError[] = [];
  for (const key of ["ttlMs", "waitMs", "pollMs"] as const) {
    const value: unknown = lease[key];
    if (value === undefined) continue;
    const positive = key !== "waitMs";
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || (positive && value === 0)) {
      problems.push(
        invalidLease(`lease.${key}`, value, positive ? "a positive number of ms" : "a number of ms"),
      );
    }
  }
  return problems;
}

function invalidLease(option: string, value: unknown, expected: string): LockstepError {
  return new ConfigError("E_CONFIG_INVALID", `\`${option}\` must be ${expected}, not ${describe(value)}`, {
    hint: "fix the lease timings in the config: lease: { ttlMs: 30000, waitMs: 600000, pollMs: 250 }",
  });
}

function describe(value: unknown): string {
  if (typeof value === "function") return "a function";
  if (Array.isArray(value)) return "an array";
  return value !== null && typeof value === "object" ? "an object" : (JSON.stringify(value) ?? String(value));
}
