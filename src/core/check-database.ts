import { checkOptions } from "./check-options.js";
import { type CheckPolicy, type CheckResult, Upgrader, type UpgraderOptions } from "./upgrader.js";
import { UPGRADER_OPTIONS } from "./upgrader-options.js";

/** Options of {@link checkDatabase}. */
export interface CheckDatabaseOptions<TDb = unknown> extends UpgraderOptions<TDb> {
  /** "warn" (default): report and run; "refuse": throw unless current; "upgrade": upgrade under the lease. */
  readonly policy?: CheckPolicy;
  /** Called with each warning (default: none; the result carries them too). */
  readonly onWarning?: (message: string) => void;
}

/**
 * The start-up guard, for an app's boot: one read when the database is current. Closes
 * the adapter when done.
 */
export async function checkDatabase<TDb>(options: CheckDatabaseOptions<TDb>): Promise<CheckResult> {
  checkOptions(options, "checkDatabase(options)", {
    ...UPGRADER_OPTIONS,
    "policy?": "string",
    "onWarning?": "function",
  });
  const { policy, onWarning, ...upgraderOptions } = options;
  const upgrader = new Upgrader(upgraderOptions);
  if (onWarning) upgrader.on("warning", ({ message }) => onWarning(message));
  try {
    return await upgrader.check(policy ? { policy } : {});
  } finally {
    await upgrader.close();
  }
}
