/** The fleet's overall progress line on a TTY (the lines and JSON events are tested through the CLI). */
import assert from "node:assert/strict";
import { test } from "node:test";
import { overallLine } from "../src/cli/fleet/fleet-progress.js";

test("the overall line: a bar, done/total, elapsed and an ETA from the pace so far", () => {
  assert.equal(overallLine(0, 4, 10), `  [${"░".repeat(20)}] 0/4 databases, 10 ms, ETA ?`);
  assert.equal(
    overallLine(1, 4, 2000),
    `  [${"█".repeat(5)}${"░".repeat(15)}] 1/4 databases, 2.0 s, ETA 6.0 s`,
  );
  assert.equal(overallLine(4, 4, 8000), `  [${"█".repeat(20)}] 4/4 databases, 8.0 s, ETA 0 ms`);
});
