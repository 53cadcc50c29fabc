/**
 * A replica booting with the start-up guard, for test/guard-report.test.ts:
 *
 *   node --import tsx test/support/guard-child.ts <fixture> <url>
 *
 * Prints READY, waits for `go` on stdin (sent to every replica at once), runs
 * `checkDatabase({ policy: "upgrade" })` with the race steps and prints one JSON line with
 * what it reported (or the error's code), then exits.
 */
import { once } from "node:events";
import { createInterface } from "node:readline";
import { adapterFromUrl } from "../../src/adapters/from-url.js";
import { isLockstepError } from "../../src/core/errors.js";
import { checkDatabase } from "../../src/guard/index.js";
import type { AdapterFixture } from "./fixtures.js";
import { RACE_TARGET, raceSteps } from "./process-scenarios.js";

const [fixtureName, url] = process.argv.slice(2);
if (!fixtureName || !url) {
  console.error("usage: guard-child.ts <fixture> <url>");
  process.exit(2);
}
const fixture = (
  (await import(new URL(`./${fixtureName}-fixture.ts`, import.meta.url).href)) as { default: AdapterFixture }
).default;
// The winner holds its first step for a second: every replica reads the pending state before it is done.
const steps = raceSteps((db, text) => fixture.mark(db, text), 1_000);
const adapter = await adapterFromUrl(url);
const lines = createInterface({ input: process.stdin });
process.stdout.write("READY\n");
await once(lines, "line");
lines.close();
try {
  const result = await checkDatabase({
    adapter,
    appVersion: RACE_TARGET,
    steps,
    policy: "upgrade",
    lease: { ttlMs: 5_000, pollMs: 25, waitMs: 120_000 },
  });
  process.stdout.write(
    `${JSON.stringify({ ok: true, action: result.action, steps: result.steps, status: result.status })}\n`,
  );
} catch (error) {
  process.stdout.write(
    `${JSON.stringify({ ok: false, code: isLockstepError(error) ? error.code : null, message: String(error) })}\n`,
  );
  process.exitCode = 1;
}
