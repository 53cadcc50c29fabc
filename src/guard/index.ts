/** The start-up guard as apps use it: the blocking and background guard, readiness, the bypass. */
export { checkDatabase, type GuardResult, runGuard } from "./check-database.js";
export type { CheckDatabaseOptions } from "./guard-options.js";
