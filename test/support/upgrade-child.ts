/**
 * Upgraders in their own OS process, for test/processes.test.ts:
 *
 *   node --import tsx test/support/upgrade-child.ts <fixture> - race <wait|nowait> <holdMs>
 *   node --import tsx test/support/upgrade-child.ts <fixture> <url> kill <atomic|nonatomic> [idempotent]
 *
 * race: prints READY, then serves rounds from stdin so one set of processes races many
 * databases without paying Node's start-up each time. `open <url>` opens a new upgrader
 * on that database and prints OPENED; `go` (sent to every racer at once) upgrades with the
 * race steps and prints one JSON line with the result or the error code; `exit` ends.
 * kill: upgrades with the kill step, which marks, prints STEP_STARTED and sleeps until killed.
 */
import { createInterface } from "node:readline";
import { adapterFromUrl } from "../../src/adapters/from-url.js";
import { isLockstepError } from "../../src/core/errors.js";
import type { StepDefinition } from "../../src/core/step.js";
import { type LeaseOptions, Upgrader } from "../../src/core/upgrader.js";
import type { AdapterFixture } from "./fixtures.js";
import { killStep, RACE_TARGET, raceSteps } from "./process-scenarios.js";

const [fixtureName, url, scenario, mode, extra] = process.argv.slice(2);
if (!fixtureName || !url || (scenario !== "race" && scenario !== "kill")) {
  console.error("usage: upgrade-child.ts <fixture> <url|-> race|kill <mode> [arg]");
  process.exit(2);
}

// Only this fixture's module (and driver) is loaded: racers start faster. Its mark() needs
// only the step's db handle, so the child creates no database (a SIGKILLed child would leave it).
const fixture = (
  (await import(new URL(`./${fixtureName}-fixture.ts`, import.meta.url).href)) as { default: AdapterFixture }
).default;
const mark = (db: unknown, text: string) => fixture.mark(db, text);

function report(result: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ pid: process.pid, ...result })}\n`);
}

async function upgradeOnce(upgrader: Upgrader<unknown>, wait: boolean): Promise<number> {
  const started = Date.now();
  try {
    const result = await upgrader.upgrade({ wait });
    report({
      ok: true,
      outcome: result.outcome,
      waitedForLease: result.waitedForLease,
      ms: Date.now() - started,
      applied: result.results.filter((r) => r.status === "applied").map((r) => r.step),
    });
    return 0;
  } catch (error) {
    report({
      ok: false,
      code: isLockstepError(error) ? error.code : null,
      message: error instanceof Error ? error.message : String(error),
    });
    return isLockstepError(error, "E_LOCK_HELD") ? 3 : 1;
  } finally {
    await upgrader.close();
  }
}

async function open(target: string, appVersion: string, steps: StepDefinition[], lease: LeaseOptions) {
  const upgrader = new Upgrader({ adapter: await adapterFromUrl(target), appVersion, steps, lease });
  await upgrader.describe();
  return upgrader;
}

if (scenario === "race") {
  const steps = raceSteps(mark, Number(extra ?? 0));
  const lines = createInterface({ input: process.stdin });
  let upgrader: Upgrader<unknown> | undefined;
  process.stdout.write("READY\n");
  for await (const line of lines) {
    const [command, argument] = line.trim().split(" ");
    if (command === "open" && argument) {
      upgrader = await open(argument, RACE_TARGET, steps, { ttlMs: 5_000, pollMs: 25, waitMs: 120_000 });
      process.stdout.write("OPENED\n");
    } else if (command === "go" && upgrader) {
      await upgradeOnce(upgrader, mode !== "nowait");
      upgrader = undefined;
    } else if (command === "exit") {
      break;
    }
  }
  lines.close();
} else {
  const step = killStep(mark, { transaction: mode !== "nonatomic", idempotent: extra === "idempotent" }, () =>
    process.stdout.write("STEP_STARTED\n"),
  );
  // A long lease: the next upgrader must notice the dead holder, not wait for expiry.
  const upgrader = await open(url, "0.2.0", [step], { ttlMs: 60_000, pollMs: 25, waitMs: 120_000 });
  process.exitCode = await upgradeOnce(upgrader, true);
}
