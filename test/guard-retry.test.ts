/**
 * The background guard after a refusal: one that waiting can resolve (a no-phase step while
 * an older release is live: E_OLDER_CODE_RUNNING) is tried again with a growing delay, the
 * readiness answer naming the current reason, until the older instance leaves; one that
 * waiting cannot fix (AHEAD) fails at once and says so on stderr when there is no logger.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe } from "node:test";
import { adapterFromUrl } from "../src/adapters/from-url.js";
import { upgrade } from "../src/core/registry.js";
import { Upgrader } from "../src/core/upgrader.js";
import {
  checkDatabase,
  type DatabaseGuard,
  lockstepReadiness,
  startDatabaseGuard,
} from "../src/guard/index.js";
import { fixtureNamed } from "./support/fixtures.js";
import { describeFixture, type Harness, harnessTest, sleep } from "./support/harness.js";

/** A logger that keeps every line. */
function recordingLogger() {
  const lines: { level: string; message: string }[] = [];
  const at = (level: string) => (message: string) => lines.push({ level, message });
  return { lines, logger: { info: at("info"), warn: at("warn"), error: at("error") } };
}

/** Runs `fn` with console.error captured. */
export async function capturingStderr<T>(fn: () => Promise<T>): Promise<{ value: T; printed: string[] }> {
  const printed: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => printed.push(args.map(String).join(" "));
  try {
    return { value: await fn(), printed };
  } finally {
    console.error = original;
  }
}

async function until(what: string, fn: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`never ${what}`);
    await sleep(25);
  }
}

async function initAt(h: Harness, version: string): Promise<void> {
  const u = await h.upgrader(version, []);
  await u.init();
  await u.close();
}

const RETRY = { until: "30s", delayMs: 100, maxDelayMs: 200 } as const;

const fixture = await fixtureNamed("sqlite");
await describeFixture(fixture, describe, () => {
  const test = harnessTest(fixture);
  const noPhase = () => upgrade({ version: "1.1.0", name: "rename", run: () => undefined });

  test("E_OLDER_CODE_RUNNING is retried, readiness says why, and the guard passes once the older instance left", async (h) => {
    await initAt(h, "1.0.0");
    const older = await checkDatabase({ database: h.db.url, appVersion: "1.0.0", steps: [] });
    const { lines, logger } = recordingLogger();
    let guard: DatabaseGuard | undefined;
    try {
      guard = startDatabaseGuard({
        database: h.db.url,
        appVersion: "1.1.0",
        steps: [noPhase()],
        policy: "upgrade",
        retry: RETRY,
        logger,
      });
      const readiness = lockstepReadiness(guard, { cacheMs: 0 });
      const g = guard;
      await until("retrying", () => g.state() === "retrying");
      const waiting = await readiness.check();
      assert.equal(waiting.statusCode, 503);
      assert.equal(waiting.body.guard, "retrying");
      assert.equal(waiting.body.status, "STARTING", "a status, never an error code");
      assert.equal(waiting.body.error?.code, "E_OLDER_CODE_RUNNING", JSON.stringify(waiting.body));
      assert.match(waiting.body.message, /tries again/);
      assert.equal(waiting.body.codeVersion, "1.1.0", "known before the guard is done");
      await sleep(500);
      assert.notEqual(guard.state(), "failed", "still trying while the older instance is live");
      assert.ok((guard.retrying?.attempt ?? 0) >= 2, `attempts: ${guard.retrying?.attempt}`);
      assert.ok(
        lines.some((l) => l.level === "warn" && /E_OLDER_CODE_RUNNING.*trying again/.test(l.message)),
        JSON.stringify(lines),
      );
      await older.close(); // the 1.0.0 replica stops
      const result = await guard.ready;
      assert.equal(result.action, "upgraded");
      assert.deepEqual(result.steps, ["1.1.0/rename"]);
      const ok = await readiness.check();
      assert.equal(ok.statusCode, 200, JSON.stringify(ok.body));
      assert.equal(ok.body.status, "CURRENT");
      assert.equal(ok.body.error, null);
    } finally {
      await older.close();
      await guard?.close();
    }
  });

  test("a refusal waiting cannot fix (AHEAD) fails at once: FAILED with the code apart, printed to stderr without a logger", async (h) => {
    await initAt(h, "2.0.0");
    const { value: guard, printed } = await capturingStderr(async () => {
      const g = startDatabaseGuard({ database: h.db.url, appVersion: "1.0.0", steps: [], policy: "refuse" });
      await g.ready.catch(() => undefined);
      return g;
    });
    try {
      assert.equal(guard.state(), "failed");
      assert.equal(guard.retrying, undefined);
      const { statusCode, body } = await lockstepReadiness(guard).check();
      assert.equal(statusCode, 503);
      assert.equal(body.guard, "failed");
      assert.equal(body.status, "FAILED");
      assert.equal(body.error?.code, "E_AHEAD");
      assert.equal(body.codeVersion, "1.0.0");
      assert.equal(printed.length, 1, JSON.stringify(printed));
      assert.match(printed[0] ?? "", /start-up guard failed: E_AHEAD/);
    } finally {
      await guard.close();
    }
  });

  test("retry: false fails at once; a retry that runs out fails with the last refusal", async (h) => {
    await initAt(h, "1.0.0");
    const older = await checkDatabase({ database: h.db.url, appVersion: "1.0.0", steps: [] });
    try {
      const options = {
        database: h.db.url,
        appVersion: "1.1.0",
        steps: [noPhase()],
        policy: "upgrade",
      } as const;
      const started = Date.now();
      const { value: once, printed } = await capturingStderr(async () => {
        const g = startDatabaseGuard({ ...options, retry: false });
        await g.ready.catch(() => undefined);
        return g;
      });
      assert.equal(once.state(), "failed");
      assert.equal((once.error as { code?: string }).code, "E_OLDER_CODE_RUNNING");
      assert.ok(Date.now() - started < 5_000);
      assert.equal(printed.length, 1);
      const { value: short, printed: retried } = await capturingStderr(async () => {
        const g = startDatabaseGuard({ ...options, retry: { until: 600, delayMs: 100 } });
        await g.ready.catch(() => undefined);
        return g;
      });
      assert.equal(short.state(), "failed");
      assert.equal((short.error as { code?: string }).code, "E_OLDER_CODE_RUNNING");
      assert.equal(retried.length, 2, `the first retry and the final failure: ${JSON.stringify(retried)}`);
      assert.deepEqual(await h.marks(), []);
    } finally {
      await older.close();
    }
  });

  test("close() stops a retrying guard", async (h) => {
    await initAt(h, "1.0.0");
    const older = await checkDatabase({ database: h.db.url, appVersion: "1.0.0", steps: [] });
    try {
      const guard = startDatabaseGuard({
        database: h.db.url,
        appVersion: "1.1.0",
        steps: [noPhase()],
        policy: "upgrade",
        retry: { delayMs: 60_000 },
        logger: recordingLogger().logger,
      });
      await until("retrying", () => guard.state() === "retrying");
      const started = Date.now();
      await guard.close();
      assert.ok(Date.now() - started < 2_000, "close does not wait for the next attempt");
      assert.equal(guard.state(), "failed");
      assert.equal((guard.error as { code?: string }).code, "E_ABORTED");
    } finally {
      await older.close();
    }
  });

  test("a database that is not there yet is waited for (policy refuse), then the guard passes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lockstep-guard-retry-"));
    const url = `sqlite:${join(dir, "later.db")}`;
    const guard = startDatabaseGuard({
      database: url,
      appVersion: "1.0.0",
      steps: [],
      policy: "refuse",
      retry: RETRY,
      logger: recordingLogger().logger,
    });
    try {
      await until("retrying", () => guard.state() === "retrying");
      const code = guard.retrying?.error.code;
      assert.ok(code === "E_DATABASE_NOT_FOUND" || code === "E_DATABASE_UNREACHABLE", String(code));
      const u = new Upgrader({ adapter: await adapterFromUrl(url), appVersion: "1.0.0", steps: [] });
      await u.open({ create: true });
      await u.init();
      await u.close();
      const result = await guard.ready;
      assert.equal(result.status, "CURRENT");
    } finally {
      await guard.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
