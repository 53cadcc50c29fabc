/**
 * Issue 10 item 6: the operator's bypass (`LOCKSTEP_BYPASS=1`) lets the app start whatever the
 * status, logs it loudly, records it in history and always warns in the result; and the
 * guard's logger and listeners: waiting replicas say for whom they wait, the upgrading one
 * says each step, every caller says what it did.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isLockstepError } from "../src/core/errors.js";
import { upgrade } from "../src/core/registry.js";
import { checkDatabase } from "../src/guard/index.js";
import { type AdapterFixture, loadFixtures } from "./support/fixtures.js";
import { describeFixture, Harness, markStep, TEST_LEASE } from "./support/harness.js";

/** A logger that keeps every line. */
function recordingLogger() {
  const lines: { level: string; message: string }[] = [];
  const at = (level: string) => (message: string) => lines.push({ level, message });
  return { lines, logger: { info: at("info"), warn: at("warn"), error: at("error") } };
}

/** Runs `fn` with LOCKSTEP_BYPASS set to `value`, restoring it after. */
async function withBypassEnv<T>(value: string, fn: () => Promise<T>): Promise<T> {
  const before = process.env.LOCKSTEP_BYPASS;
  process.env.LOCKSTEP_BYPASS = value;
  try {
    return await fn();
  } finally {
    if (before === undefined) delete process.env.LOCKSTEP_BYPASS;
    else process.env.LOCKSTEP_BYPASS = before;
  }
}

function bypassTests(fixture: AdapterFixture) {
  it("LOCKSTEP_BYPASS=1: an AHEAD database refused by policy refuse lets the app start, loudly and recorded", async () => {
    const h = await Harness.create(fixture);
    try {
      const u = await h.upgrader("2.0.0", []);
      await u.init();
      await u.close();
      const options = { database: h.db.url, appVersion: "1.0.0", steps: [], policy: "refuse" } as const;
      await assert.rejects(
        () => withBypassEnv("0", () => checkDatabase(options)),
        (e: unknown) => isLockstepError(e, "E_AHEAD"),
        "LOCKSTEP_BYPASS=0 is no bypass",
      );
      const { lines, logger } = recordingLogger();
      const result = await withBypassEnv("1", () => checkDatabase({ ...options, logger }));
      assert.equal(result.bypassed, true);
      assert.equal(result.status, "AHEAD");
      assert.equal(result.action, "none");
      assert.ok(
        result.warnings.some((w) => w.includes("LOCKSTEP_BYPASS") && w.includes("AHEAD")),
        JSON.stringify(result.warnings),
      );
      const loud = lines.filter((l) => l.level === "error" && l.message.includes("LOCKSTEP_BYPASS"));
      assert.equal(loud.length, 1, JSON.stringify(lines));
      const bypass = (await h.history()).filter((e) => e.action === "bypass");
      assert.equal(bypass.length, 1, "recorded in history");
      assert.equal(bypass[0]?.details?.status, "AHEAD");
      assert.equal(bypass[0]?.details?.policy, "refuse");
      assert.equal(bypass[0]?.appVersion, "1.0.0");
      await result.close();
    } finally {
      await h.dispose();
    }
  });

  it("LOCKSTEP_BYPASS=1 with no logger still prints its loud line, to stderr", async () => {
    const h = await Harness.create(fixture);
    try {
      const u = await h.upgrader("2.0.0", []);
      await u.init();
      await u.close();
      const printed: string[] = [];
      const original = console.error;
      console.error = (...args: unknown[]) => printed.push(args.map(String).join(" "));
      let result: Awaited<ReturnType<typeof checkDatabase>> | undefined;
      try {
        result = await withBypassEnv("1", () =>
          checkDatabase({ database: h.db.url, appVersion: "1.0.0", steps: [], policy: "refuse" }),
        );
      } finally {
        console.error = original;
      }
      assert.equal(result.bypassed, true);
      const loud = printed.filter((line) => line.includes("LOCKSTEP_BYPASS") && line.includes("AHEAD"));
      assert.equal(loud.length, 1, JSON.stringify(printed));
      await result.close();
    } finally {
      await h.dispose();
    }
  });

  it("the bypass never upgrades: policy upgrade only reads, the step stays pending", async () => {
    const h = await Harness.create(fixture);
    try {
      const u = await h.upgrader("1.0.0", []);
      await u.init();
      await u.close();
      const result = await checkDatabase({
        database: h.db.url,
        appVersion: "1.1.0",
        steps: [markStep(h.db, "1.1.0", "pending")],
        policy: "upgrade",
        bypass: true,
      });
      assert.equal(result.status, "UPGRADE_PENDING");
      assert.equal(result.action, "none");
      assert.deepEqual(await h.marks(), []);
      assert.equal((await h.state()).stamp, "1.0.0");
      await result.close();
    } finally {
      await h.dispose();
    }
  });

  it("a replica waiting for another upgrader says for whom; the upgrader says each step", async () => {
    const h = await Harness.create(fixture);
    try {
      const u = await h.upgrader("1.0.0", []);
      await u.init();
      await u.close();
      let release: () => void = () => undefined;
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      const slow = upgrade({
        version: "1.1.0",
        name: "held",
        run: async (ctx) => {
          if (!ctx.dryRun) await held;
        },
      });
      const events: string[] = [];
      let stepStarted: () => void = () => undefined;
      const inStep = new Promise<void>((resolve) => {
        stepStarted = resolve;
      });
      const first = recordingLogger();
      const upgrading = checkDatabase({
        database: h.db.url,
        appVersion: "1.1.0",
        steps: [slow],
        policy: "upgrade",
        lease: TEST_LEASE,
        logger: first.logger,
        on: {
          upgrading: ({ steps }) => {
            events.push(`upgrading ${steps}`);
            stepStarted();
          },
          stepApplied: ({ step }) => events.push(`applied ${step}`),
          done: ({ action }) => events.push(`done ${action}`),
        },
      });
      await inStep; // the first holds the lease, inside its step
      const waits: { owner: string | undefined; pid: number | undefined; message: string }[] = [];
      const second = recordingLogger();
      const waiting = checkDatabase({
        database: h.db.url,
        appVersion: "1.1.0",
        steps: [slow],
        policy: "upgrade",
        lease: TEST_LEASE,
        logger: second.logger,
        on: {
          waiting: ({ holder, message }) => {
            waits.push({ owner: holder?.owner, pid: holder?.pid, message });
            release();
          },
        },
      });
      const [a, b] = await Promise.all([upgrading, waiting]);
      assert.equal(a.action, "upgraded");
      assert.deepEqual(a.steps, ["1.1.0/held"]);
      assert.equal(b.action, "waited");
      assert.equal(b.status, "CURRENT");
      assert.ok(waits.length >= 1, "the waiting replica said so");
      assert.equal(waits[0]?.pid, process.pid);
      assert.match(waits[0]?.message ?? "", /waiting for .*\(pid \d+ on .*\) to finish upgrading/);
      assert.ok(second.lines.some((l) => l.level === "info" && /waiting for/.test(l.message)));
      assert.deepEqual(events, ["upgrading 1", "applied 1.1.0/held", "done upgraded"]);
      assert.ok(first.lines.some((l) => /applied 1\.1\.0\/held/.test(l.message)));
      assert.ok(second.lines.some((l) => /another process did the work/.test(l.message)));
      await a.close();
      await b.close();
    } finally {
      await h.dispose();
    }
  });
}

for (const fixture of await loadFixtures()) {
  if (fixture.name !== "sqlite" && fixture.name !== "postgres") continue;
  await describeFixture(fixture, describe, () => bypassTests(fixture));
}
