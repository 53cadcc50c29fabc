/**
 * An upgrader that pauses just before its second step, for test/lost-lease.test.ts:
 *
 *   node --import tsx test/support/freeze-child.ts <fixture> <url> <ttlMs>
 *
 * Prints FREEZE_POINT when the second step is about to start, then blocks for a second so
 * the parent can SIGSTOP it there; prints one JSON line with its result or error code.
 */
import { adapterFromUrl } from "../../src/adapters/from-url.js";
import { isLockstepError } from "../../src/core/errors.js";
import { Upgrader } from "../../src/core/upgrader.js";
import type { AdapterFixture } from "./fixtures.js";
import { LOST_LEASE_STEP_IDS, lostLeaseSteps } from "./process-scenarios.js";

const [fixtureName, url, ttl] = process.argv.slice(2);
const fixture = (
  (await import(new URL(`./${fixtureName}-fixture.ts`, import.meta.url).href)) as { default: AdapterFixture }
).default;
const upgrader = new Upgrader({
  adapter: await adapterFromUrl(url!),
  appVersion: "0.3.0",
  steps: lostLeaseSteps((db, text) => fixture.mark(db, text)),
  lease: { ttlMs: Number(ttl), pollMs: 25, waitMs: 60_000 },
});
upgrader.on("step:started", ({ step }) => {
  if (step !== LOST_LEASE_STEP_IDS[1]) return;
  process.stdout.write("FREEZE_POINT\n");
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
});
try {
  const result = await upgrader.upgrade();
  process.stdout.write(`${JSON.stringify({ ok: true, applied: result.results.map((r) => r.step) })}\n`);
} catch (error) {
  process.stdout.write(
    `${JSON.stringify({ ok: false, code: isLockstepError(error) ? error.code : String(error) })}\n`,
  );
} finally {
  await upgrader.close();
}
