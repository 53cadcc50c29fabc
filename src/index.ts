/**
 * lockstep: keep an application's database in step with its release version.
 * @packageDocumentation
 */

export { type AdapterFromUrlOptions, adapterFromUrl } from "./adapters/from-url.js";
export { redactUrl } from "./adapters/url.js";
export {
  type DatabaseEntry,
  type DatabasesSpec,
  defineConfig,
  type LockstepConfig,
} from "./config/define-config.js";
export {
  type LoadedLockstepConfig,
  type LoadLockstepConfigOptions,
  loadLockstepConfig,
} from "./config/load-lockstep-config.js";
export type * from "./core/adapter.js";
export {
  type BatchCheckpoint,
  type BatchOptions,
  type BatchResult,
  type BatchTransform,
  DEFAULT_BATCH_PAGE_SIZE,
} from "./core/batch.js";
export { type ConditionOptions, condition, noDocumentsIn, noRowsWhere } from "./core/conditions.js";
export * from "./core/errors.js";
export type { UpgraderEvents } from "./core/events.js";
export type { GuardBehaviour, GuardListeners, GuardLogger } from "./core/guard-behaviour.js";
export type { InitResult } from "./core/init-database.js";
export {
  DEFAULT_INSTANCE_TTL_MS,
  describeGroup,
  type ReleaseGroup,
  summariseInstances,
} from "./core/instances.js";
export type { ChecksumMismatch, DatabaseStatus, PlanOptions, StatusReport } from "./core/planner.js";
export {
  type RegisterUpgradeOptions,
  registerUpgrade,
  StepRegistry,
  type StepSource,
  stepId,
  upgrade,
} from "./core/registry.js";
export type { StepResult } from "./core/results.js";
export type * from "./core/step.js";
export {
  type CheckAction,
  type CheckPolicy,
  type CheckResult,
  DEFAULT_LEASE_OPTIONS,
  type LeaseOptions,
  type MeasuredCount,
  type PlannedStep,
  type PlanReport,
  type PreconditionReport,
  type UpgradeOptions,
  type UpgradeResult,
  Upgrader,
  type UpgraderOptions,
} from "./core/upgrader.js";
export {
  BASELINE_VERSION,
  isDevVersion,
  normaliseVersion,
  type ParsedVersion,
  parseVersion,
  stepTarget,
} from "./core/versions.js";
export {
  type CheckDatabaseOptions,
  checkDatabase,
  type DatabaseGuard,
  type DatabaseGuardOptions,
  type GuardResult,
  type GuardRetrying,
  type GuardRetryOptions,
  type GuardState,
  lockstepReadiness,
  type ReadinessBody,
  type ReadinessHandler,
  type ReadinessOptions,
  startDatabaseGuard,
} from "./guard/index.js";
export { LOCKSTEP_VERSION } from "./version.js";
