import { randomBytes } from "node:crypto";
import { readFileSync, readlinkSync } from "node:fs";
import { hostname, userInfo } from "node:os";

/**
 * Who is acting: recorded in history and in the lease. This module is the one place
 * below the CLI that reads the process's identity; callers may pass their own.
 */
export interface Actor {
  /**
   * Unique per upgrader: `host/machine/pid-namespace/pid/random`, e.g.
   * `web-1/3f9a1c2e/4026531836/4711/a1b2c3d4`. `machine` is the start of this boot's id
   * (`-` where none can be read).
   */
  readonly owner: string;
  readonly host: string;
  readonly user: string;
  readonly pid: number;
  /**
   * Is process `pid` of lease owner `owner` alive? `undefined` unless `owner` ran on this
   * machine, in this boot and PID namespace: a pid elsewhere cannot be checked from here.
   */
  isLocalProcessAlive(owner: string, pid: number): boolean | undefined;
}

/** What {@link defaultActor} reads from the system; tests pass their own. */
export interface ActorIdentity {
  readonly host: string;
  /** This boot of this machine; null when it cannot be read (then no owner is judged local). */
  readonly machineId: string | null;
  readonly pidNamespace: string;
  readonly pid: number;
  readonly user: string;
}

function readFirst(paths: readonly string[]): string | null {
  for (const path of paths) {
    try {
      const id = readFileSync(path, "utf8").replace(/[^0-9a-f]/gi, "");
      if (id !== "") return id.slice(0, 8).toLowerCase();
    } catch {
      // Not Linux, or not readable here: try the next source.
    }
  }
  return null;
}

function pidNamespace(): string {
  try {
    return readlinkSync("/proc/self/ns/pid").replace(/\D/g, "");
  } catch {
    return "0";
  }
}

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return "unknown";
  }
}

/** This process's identity. */
export function systemIdentity(): ActorIdentity {
  return {
    host: hostname(),
    // The initial PID namespace has the same inode on every Linux machine, so host and
    // namespace alone made two machines sharing a hostname judge each other's live upgrader
    // "local and dead" and break its lease. The boot id differs between machines (and between
    // boots, where an old pid means nothing); the machine id is the fallback.
    machineId: readFirst(["/proc/sys/kernel/random/boot_id", "/etc/machine-id"]),
    pidNamespace: pidNamespace(),
    pid: process.pid,
    user: currentUser(),
  };
}

/** The actor for this process (or for `identity`). */
export function defaultActor(identity: ActorIdentity = systemIdentity()): Actor {
  const { host, machineId, pid } = identity;
  const prefix = `${host}/${machineId ?? "-"}/${identity.pidNamespace}/`;
  return {
    owner: `${prefix}${pid}/${randomBytes(4).toString("hex")}`,
    host,
    user: identity.user,
    pid,
    // A lease owner from this machine, boot and PID namespace can be checked with signal 0;
    // anywhere else (or without a machine id to tell machines apart) we cannot know, and say
    // so with undefined: that lease then ends by expiry, never by a guess.
    isLocalProcessAlive(owner, ownerPid) {
      if (machineId === null || !owner.startsWith(prefix)) return undefined;
      try {
        process.kill(ownerPid, 0);
        return true;
      } catch (error) {
        return (error as NodeJS.ErrnoException).code === "EPERM";
      }
    },
  };
}
