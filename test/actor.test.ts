/**
 * The lease owner's identity (issue 9 item 15): two machines with one hostname must not judge
 * each other's upgrader "local and dead" and break its live lease.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { adapterFromUrl } from "../src/adapters/from-url.js";
import type { LeaseHandle } from "../src/core/adapter.js";
import { isLockstepError } from "../src/core/errors.js";
import { Upgrader } from "../src/core/upgrader.js";
import { type ActorIdentity, defaultActor, systemIdentity } from "../src/runtime/actor.js";

/** The pid of a process that has exited. */
const DEAD_PID = spawnSync(process.execPath, ["-e", ""]).pid as number;

function identity(machineId: string | null, pid = 4711): ActorIdentity {
  return { host: "web-1", machineId, pidNamespace: "4026531836", pid, user: "deploy" };
}

describe("defaultActor", () => {
  test("the owner reads host/machine/pid-namespace/pid/random", () => {
    assert.match(
      defaultActor(identity("aaaaaaaa")).owner,
      /^web-1\/aaaaaaaa\/4026531836\/4711\/[0-9a-f]{8}$/,
    );
  });

  test("same hostname and PID namespace, another machine: not local, so not judged dead", () => {
    const here = defaultActor(identity("aaaaaaaa"));
    const there = defaultActor(identity("bbbbbbbb", DEAD_PID));
    assert.equal(here.isLocalProcessAlive(there.owner, DEAD_PID), undefined);
    assert.equal(here.isLocalProcessAlive(there.owner, process.pid), undefined);
  });

  test("same machine: a dead pid is dead, a live one alive", () => {
    const here = defaultActor(identity("aaaaaaaa"));
    const sibling = defaultActor(identity("aaaaaaaa", DEAD_PID));
    assert.equal(here.isLocalProcessAlive(sibling.owner, DEAD_PID), false);
    assert.equal(here.isLocalProcessAlive(sibling.owner, process.pid), true);
  });

  test("without a machine id nothing is judged local", () => {
    const here = defaultActor(identity(null));
    const sibling = defaultActor(identity(null, DEAD_PID));
    assert.equal(here.isLocalProcessAlive(sibling.owner, DEAD_PID), undefined);
  });

  test("an owner in lockstep 0.1's format (host/namespace/pid/random) is not local", () => {
    const here = defaultActor(identity("aaaaaaaa"));
    assert.equal(here.isLocalProcessAlive(`web-1/4026531836/${DEAD_PID}/a1b2c3d4`, DEAD_PID), undefined);
  });

  test("this process: the boot id names the machine", { skip: process.platform !== "linux" }, () => {
    const bootId = "/proc/sys/kernel/random/boot_id";
    const expected = existsSync(bootId) ? readFileSync(bootId, "utf8").replace(/-/g, "").slice(0, 8) : null;
    assert.equal(systemIdentity().machineId, expected);
    assert.ok(defaultActor().owner.includes(`/${expected}/`));
  });
});

describe("the upgrader and a lease held from a host of the same name", () => {
  const dir = mkdtempSync(join(tmpdir(), "lockstep-actor-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function holdLease(file: string, holder: ActorIdentity): Promise<() => Promise<void>> {
    const adapter = await adapterFromUrl(`sqlite:${join(dir, file)}`);
    await adapter.open({ create: true });
    await adapter.ensureStore();
    const actor = defaultActor(holder);
    const attempt = await adapter.tryAcquireLease({ ...actor, ttlMs: 60_000 });
    assert.ok("lease" in attempt);
    const lease: LeaseHandle = attempt.lease;
    return async () => {
      await lease.release().catch(() => undefined);
      await adapter.close();
    };
  }

  async function upgradeAs(file: string, me: ActorIdentity): Promise<{ error: unknown; broken: boolean }> {
    const upgrader = new Upgrader({
      adapter: await adapterFromUrl(`sqlite:${join(dir, file)}`),
      appVersion: "1.0.0",
      steps: [],
      actor: defaultActor(me),
    });
    let broken = false;
    upgrader.on("lease:broken", () => {
      broken = true;
    });
    try {
      await upgrader.upgrade({ wait: false, fromVersion: "1.0.0" });
      return { error: null, broken };
    } catch (error) {
      return { error, broken };
    } finally {
      await upgrader.close();
    }
  }

  test("another machine's holder is left alone: E_LOCK_HELD, lease not broken", async () => {
    const release = await holdLease("other.db", identity("bbbbbbbb", DEAD_PID));
    try {
      const { error, broken } = await upgradeAs("other.db", identity("aaaaaaaa", process.pid));
      assert.equal(broken, false);
      assert.ok(isLockstepError(error, "E_LOCK_HELD"), String(error));
    } finally {
      await release();
    }
  });

  test("a dead holder on this machine is still broken at once", async () => {
    const release = await holdLease("same.db", identity("aaaaaaaa", DEAD_PID));
    try {
      const { error, broken } = await upgradeAs("same.db", identity("aaaaaaaa", process.pid));
      assert.equal(error, null);
      assert.equal(broken, true);
    } finally {
      await release();
    }
  });
});
