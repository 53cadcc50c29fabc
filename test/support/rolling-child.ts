/**
 * One replica of an app release, booting with the start-up guard and staying up, for
 * test/rolling-deploy.test.ts:
 *
 *   node --import tsx test/support/rolling-child.ts <fixture> <url> <appVersion> <policy> [--wait-go] [--hold-ms N]
 *
 * With --wait-go it prints READY and waits for a line on stdin (sent to every replica at
 * once). It runs `checkDatabase(...)` with the phased steps and prints one JSON line:
 * `{ ok: true, status, action, steps }` and then stays alive, registered in the instance
 * registry, until it is killed; or `{ ok: false, code, message }` and exits 1.
 */
import { once } from "node:events";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { adapterFromUrl } from "../../src/adapters/from-url.js";
import { isLockstepError } from "../../src/core/errors.js";
import type { CheckPolicy } from "../../src/core/upgrader.js";
import { checkDatabase } from "../../src/guard/index.js";
import { phasedSteps } from "./rolling-steps.js";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { "wait-go": { type: "boolean" }, "hold-ms": { type: "string", default: "0" } },
});
const [fixtureName, url, appVersion, policy] = positionals;
if (!fixtureName || !url || !appVersion || !policy) {
  console.error("usage: rolling-child.ts <fixture> <url> <appVersion> <policy> [--wait-go] [--hold-ms N]");
  process.exit(2);
}
const steps = await phasedSteps(fixtureName, Number(values["hold-ms"]));
const adapter = await adapterFromUrl(url);
if (values["wait-go"]) {
  const lines = createInterface({ input: process.stdin });
  process.stdout.write("READY\n");
  await once(lines, "line");
  lines.close();
}
try {
  const result = await checkDatabase({
    adapter,
    appVersion,
    steps,
    policy: policy as CheckPolicy,
    lease: { ttlMs: 5_000, pollMs: 25, waitMs: 120_000 },
  });
  const { status, action, steps: applied, warnings } = result;
  process.stdout.write(`${JSON.stringify({ ok: true, status, action, steps: applied, warnings })}\n`);
  // A replica serving: its instance stays registered (the TTL outlives the test) until killed.
  setInterval(() => undefined, 60_000);
} catch (error) {
  process.stdout.write(
    `${JSON.stringify({ ok: false, code: isLockstepError(error) ? error.code : null, message: String(error) })}\n`,
  );
  process.exit(1);
}
