import { didYouMean } from "./did-you-mean.js";
import { UsageError } from "./errors.js";
import type { CheckPolicy } from "./upgrader.js";

/** Every policy the start-up check knows. */
export const CHECK_POLICIES: readonly CheckPolicy[] = ["warn", "refuse", "upgrade"];

/**
 * Checks a policy given by the app: a misspelt one (`"upgrad"`) must not fall through to
 * some other behaviour (it auto-stamped the database before this check).
 */
export function assertCheckPolicy(value: unknown): CheckPolicy {
  if (CHECK_POLICIES.includes(value as CheckPolicy)) return value as CheckPolicy;
  throw new UsageError(
    "E_INVALID_OPTION",
    `unknown policy ${JSON.stringify(value)}${didYouMean(String(value), CHECK_POLICIES)}`,
    { hint: `policy is one of ${CHECK_POLICIES.map((p) => `"${p}"`).join(", ")}` },
  );
}
