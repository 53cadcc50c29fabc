/** The start-up guard as apps use it: the blocking and background guard, readiness, the bypass. */
export {
  type DatabaseGuard,
  type DatabaseGuardOptions,
  type GuardRetrying,
  type GuardState,
  startDatabaseGuard,
} from "./background-guard.js";
export { checkDatabase, type GuardResult, runGuard } from "./check-database.js";
export type { CheckDatabaseOptions } from "./guard-options.js";
export type { GuardRetryOptions } from "./guard-retry.js";
export {
  lockstepReadiness,
  type ReadinessBody,
  type ReadinessHandler,
  type ReadinessOptions,
} from "./readiness.js";
