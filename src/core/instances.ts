/**
 * The instance registry, as the core reads it: which copies of the app are live, which of
 * them run a release older than a step, and the one-line summary `status` prints.
 */
import type { Actor } from "../runtime/actor.js";
import type { Adapter, InstanceInfo } from "./adapter.js";
import { compareVersions, isDevVersion, parseVersion } from "./versions.js";

/** How long an instance counts as live without a keep-alive, unless configured. */
export const DEFAULT_INSTANCE_TTL_MS = 120_000;

/**
 * The live instances: those whose time to live has not run out (database clock) and whose
 * process, when it ran on this machine, boot and PID namespace, is still alive. The dead
 * ones are removed from the registry on the way (best effort), unless `prune` is false
 * (`status` and `plan` only read).
 */
export async function liveInstances(
  adapter: Adapter,
  actor: Actor,
  { prune = true }: { prune?: boolean } = {},
): Promise<InstanceInfo[]> {
  const all = await adapter.listInstances();
  const live: InstanceInfo[] = [];
  for (const instance of all) {
    const gone = instance.expired || actor.isLocalProcessAlive(instance.owner, instance.pid) === false;
    if (!gone) live.push(instance);
    else if (prune) await adapter.removeInstance(instance.id).catch(() => undefined);
  }
  return live;
}

/** Live instances running a release older than `version` (development builds are never counted). */
export function olderThan(instances: readonly InstanceInfo[], version: string): InstanceInfo[] {
  return instances.filter((i) => {
    try {
      return (
        !isDevVersion(parseVersion(i.appVersion, "an instance's version")) &&
        compareVersions(i.appVersion, version) < 0
      );
    } catch {
      return false;
    }
  });
}

/** One group of {@link summariseInstances}: a release and where its instances run. */
export interface ReleaseGroup {
  readonly release: string;
  readonly count: number;
  readonly hosts: readonly string[];
  /** The freshest keep-alive of the group, in ms before now (database clock). */
  readonly lastSeenMsAgo: number;
  /** The host of that freshest instance. */
  readonly lastSeenOn: string;
}

/** Live instances grouped by release, newest release first. */
export function summariseInstances(instances: readonly InstanceInfo[]): ReleaseGroup[] {
  const groups = new Map<string, InstanceInfo[]>();
  for (const i of instances) groups.set(i.appVersion, [...(groups.get(i.appVersion) ?? []), i]);
  return [...groups.entries()]
    .map(([release, list]) => {
      const freshest = list.reduce((a, b) => (b.ageMs < a.ageMs ? b : a));
      return {
        release,
        count: list.length,
        hosts: [...new Set(list.map((i) => i.host))].sort(),
        lastSeenMsAgo: freshest.ageMs,
        lastSeenOn: freshest.host,
      };
    })
    .sort((a, b) => safeCompare(b.release, a.release));
}

/** "1.4.2 ×3, last seen 12 s ago on web-7". */
export function describeGroup(group: ReleaseGroup): string {
  return `${group.release} ×${group.count}, last seen ${Math.round(group.lastSeenMsAgo / 1000)} s ago on ${group.lastSeenOn}`;
}

function safeCompare(a: string, b: string): number {
  try {
    return compareVersions(a, b);
  } catch {
    return a.localeCompare(b);
  }
}
