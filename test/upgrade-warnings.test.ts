/** Warnings an upgrade emits name their step (issue 9 item 16: "step [object Object]"). */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { adapterFromUrl } from "../src/adapters/from-url.js";
import { upgrade } from "../src/core/registry.js";
import { Upgrader } from "../src/core/upgrader.js";

const dir = mkdtempSync(join(tmpdir(), "lockstep-warnings-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("a step below the stamp that never ran is named in the out-of-order warning", async () => {
  const url = `sqlite:${join(dir, "app.db")}`;
  const first = new Upgrader({ adapter: await adapterFromUrl(url), appVersion: "2.0.0", steps: [] });
  await first.init();
  await first.close();
  const late = upgrade({ version: "1.5.0", name: "late", run: () => undefined });
  const next = upgrade({ version: "2.1.0", name: "next", run: () => undefined });
  const upgrader = new Upgrader({
    adapter: await adapterFromUrl(url),
    appVersion: "2.1.0",
    steps: [late, next],
  });
  const warnings: string[] = [];
  upgrader.on("warning", ({ message }) => warnings.push(message));
  try {
    await upgrader.upgrade();
  } finally {
    await upgrader.close();
  }
  assert.equal(warnings.length, 1, warnings.join("\n"));
  assert.match(warnings[0]!, /step 1\.5\.0\/late is below the stamp/);
  assert.doesNotMatch(warnings[0]!, /object Object/);
});
