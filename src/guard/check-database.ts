/**
 * The start-up guard as apps call it: `checkDatabase({ config: "./lockstep.config.ts" })`.
 * Registers this process in the instance registry FIRST, then reads the state (one read when
 * the database is current), applies the policy, and returns what it found and did with a
 * handle on the registration (`keepAlive`, `close`).
 */
import type { InstanceRecord } from "../core/adapter.js";
import { assertCheckPolicy } from "../core/check-policy.js";
import type { GuardBehaviour } from "../core/guard-behaviour.js";
import type { CheckPolicy, CheckResult } from "../core/reports.js";
import { Upgrader } from "../core/upgrader.js";
import type { UpgraderOptions } from "../core/upgrader-options.js";
import { type Actor, defaultActor } from "../runtime/actor.js";
import { bypassMessage, bypassRequested, recordBypass } from "./bypass.js";
import { GuardReporter } from "./guard-events.js";
import { assertInstanceTtl, type CheckDatabaseOptions, resolveGuardOptions } from "./guard-options.js";
import { AdapterQueue, InstanceHandle } from "./instance-handle.js";

/** What the guard found and did, with this process's registration. */
export interface GuardResult extends CheckResult {
  /** This process's entry in the instance registry; null when it could not be recorded. */
  readonly instance: InstanceRecord | null;
  /** The bypass (`LOCKSTEP_BYPASS=1`) let the app start whatever the status. */
  readonly bypassed: boolean;
  /** Refreshes this instance's registration now (the automatic timer does it every TTL/3). */
  keepAlive(): Promise<void>;
  /** Removes this instance from the registry and stops the keep-alive timer. Idempotent. */
  close(): Promise<void>;
}

/** What a finished guard keeps for later reads (readiness): its upgrader, connection queue and actor. */
export interface GuardContext {
  readonly upgrader: Upgrader<any>;
  readonly queue: AdapterQueue;
  readonly actor: Actor;
  /** The guard's logger and listeners (readiness says through it when the data moved below this code). */
  readonly reporter: GuardReporter;
}

const contexts = new WeakMap<GuardResult, GuardContext>();

/** The context of a result {@link checkDatabase} returned. */
export function guardContext(result: GuardResult): GuardContext | undefined {
  return contexts.get(result);
}

/**
 * The start-up guard. `policy` "warn" (default) reports and lets the app run; "refuse" throws
 * unless the database is current or compatible with this code; "upgrade" applies pending steps
 * under the lease (replicas starting together upgrade once; the others wait and say for whom).
 */
export async function checkDatabase<TDb>(options: CheckDatabaseOptions<TDb>): Promise<GuardResult> {
  const { upgrader, behaviour } = await resolveGuardOptions(options);
  return runGuard(upgrader, behaviour);
}

/** The guard on resolved options (see {@link checkDatabase}). */
export async function runGuard<TDb>(
  upgraderOptions: UpgraderOptions<TDb>,
  behaviour: GuardBehaviour,
): Promise<GuardResult> {
  const policy = assertCheckPolicy(behaviour.policy ?? "warn");
  const ttl = behaviour.instanceTtlMs;
  assertInstanceTtl(ttl, "checkDatabase(options)");
  const actor = upgraderOptions.actor ?? defaultActor();
  const upgrader = new Upgrader({ ...upgraderOptions, actor });
  const reporter = new GuardReporter(behaviour);
  reporter.attach(upgrader);
  const bypass = bypassRequested(behaviour.bypass);
  const queue = new AdapterQueue(upgrader.adapter);
  const instance = new InstanceHandle(queue, actor, upgrader.codeVersion, ttl, (m) => reporter.warning(m));
  const { result, warnings } = await guardOnce(
    upgrader,
    actor,
    instance,
    reporter,
    bypass ? "warn" : policy,
    bypass && policy,
  );
  if (behaviour.autoKeepAlive !== false) instance.startTimer();
  const guardResult: GuardResult = {
    ...result,
    warnings: [...warnings, ...result.warnings],
    instance: instance.registered ? instance.record : null,
    bypassed: bypass,
    keepAlive: () => instance.keepAlive(),
    close: () => instance.close(),
  };
  contexts.set(guardResult, { upgrader, queue, actor, reporter });
  reporter.done(guardResult);
  return guardResult;
}

/**
 * One check on one connection: open, register, check, (bypass: record), close. On a refusal
 * the registration is removed again before the error is thrown.
 */
async function guardOnce<TDb>(
  upgrader: Upgrader<TDb>,
  actor: Actor,
  instance: InstanceHandle,
  reporter: GuardReporter,
  policy: CheckPolicy,
  bypassedPolicy: CheckPolicy | false,
): Promise<{ result: CheckResult; warnings: string[] }> {
  const { adapter } = upgrader;
  const warnings: string[] = [];
  const warn = (message: string | null) => {
    if (message === null) return;
    warnings.push(message);
    reporter.warning(message);
  };
  try {
    await adapter.open({ create: policy === "upgrade" });
    // Before the state is read: an upgrader raising the floor then sees this process.
    warn(await instance.registerOpen());
    const result = await upgrader.check({ policy });
    if (bypassedPolicy !== false) {
      const message = bypassMessage(result, bypassedPolicy);
      reporter.error(`lockstep: ${message}`);
      warnings.push(message);
      reporter.warning(message, false);
      warn(await recordBypass(adapter, { actor, codeVersion: upgrader.codeVersion }, result, bypassedPolicy));
    }
    return { result, warnings };
  } catch (error) {
    await instance.removeOpen();
    throw error;
  } finally {
    await upgrader.close().catch(() => undefined);
    await adapter.close().catch(() => undefined);
  }
}
