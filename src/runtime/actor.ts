import { randomBytes } from "node:crypto";
import { readlinkSync } from "node:fs";
import { hostname, userInfo } from "node:os";

/**
 * Who is acting: recorded in history and in the lease. This module is the one place
 * below the CLI that reads the process's identity; callers may pass their own.
 */
export interface Actor {
  /** Unique per upgrader: host, PID namespace, pid and a random suffix. */
  readonly owner: string;
  readonly host: string;
  readonly user: string;
  readonly pid: number;
  /** Is process `pid` alive, where `ownerPrefix` says it runs on this machine? */
  isLocalProcessAlive(owner: string, pid: number): boolean | undefined;
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

/** The actor for this process. */
export function defaultActor(): Actor {
  const host = hostname();
  const prefix = `${host}/${pidNamespace()}/`;
  return {
    owner: `${prefix}${process.pid}/${randomBytes(4).toString("hex")}`,
    host,
    user: currentUser(),
    pid: process.pid,
    // A lease owner from this host and PID namespace can be checked with signal 0;
    // anywhere else we cannot know, and say so with undefined.
    isLocalProcessAlive(owner, pid) {
      if (!owner.startsWith(prefix)) return undefined;
      try {
        process.kill(pid, 0);
        return true;
      } catch (error) {
        return (error as NodeJS.ErrnoException).code === "EPERM";
      }
    },
  };
}
