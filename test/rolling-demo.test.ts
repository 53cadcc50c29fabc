/** `npm run demo:rolling` (examples/rolling/demo.ts) on SQLite: exits 0 and narrates the rollout. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { REPO } from "./support/cli.js";
import { fixtureNamed } from "./support/fixtures.js";
import { describeFixture } from "./support/harness.js";

const dir = mkdtempSync(join(tmpdir(), "lockstep-rolling-demo-"));
after(() => rmSync(dir, { recursive: true, force: true }));

await describeFixture(await fixtureNamed("sqlite"), describe, () => {
  test("the rolling demo exits 0: contract deferred, refused while 1.0.0 runs, applied after", () => {
    const demo = spawnSync(
      process.execPath,
      ["--import", "tsx", "examples/rolling/demo.ts", "--database", `sqlite:${join(dir, "demo.db")}`],
      { cwd: REPO, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" }, timeout: 120_000 },
    );
    const output = demo.stdout + demo.stderr;
    assert.equal(demo.status, 0, output);
    assert.match(output, /applied 1\.1\.0\/add-display-name/);
    assert.match(output, /E_OLDER_CODE_RUNNING/);
    assert.match(output, /1\.0\.0 ×2/, "status groups the live instances by release");
    assert.match(output, /GET \/users\/1 on 1\.2\.0 \(:\d+\) → 200 \{"id":1,"name":"Ada"\}/);
    assert.match(output, /Demo done/);
  });
});
