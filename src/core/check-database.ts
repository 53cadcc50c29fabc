import { type CheckPolicy, type CheckResult, Upgrader, type UpgraderOptions } from "./upgrader.js";

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
  const upgrader = new Upgrader(options);
  if (options.onWarning) {
    const onWarning = options.onWarning;
    upgrader.on("warning", ({ message }) => onWarning(message));
  }
  try {
    return await upgrader.check(options.policy ? { policy: options.policy } : {});
  } finally {
    await upgrader.close();
  }
}
