/** The fleet's overall progress line on a TTY (the lines and JSON events are tested through the CLI). */
import assert from "node:assert/strict";
import { test } from "node:test";
import { overallLine, targetLine } from "../src/cli/fleet/fleet-progress.js";
import { Output } from "../src/cli/output.js";
import { resultOf } from "../src/fleet/target-result.js";

test("the overall line: a bar, done/total, elapsed and an ETA from the pace so far", () => {
  assert.equal(overallLine(0, 4, 10), `  [${"░".repeat(20)}] 0/4 databases, 10 ms, ETA ?`);
  assert.equal(
    overallLine(1, 4, 2000),
    `  [${"█".repeat(5)}${"░".repeat(15)}] 1/4 databases, 2.0 s, ETA 6.0 s`,
  );
  assert.equal(overallLine(4, 4, 8000), `  [${"█".repeat(20)}] 4/4 databases, 8.0 s, ETA 0 ms`);
});

test("a finished target's line: its versions when read, none when it never was", () => {
  const out = new Output(
    {
      stdout: process.stdout,
      stderr: process.stderr,
      stdin: process.stdin,
      env: { NO_COLOR: "1" },
      cwd: "/",
    },
    false,
  );
  const target = { name: "acme", url: "postgres://u:pw@h/acme", baseDir: "/", origin: "x:1" };
  const upgraded = resultOf(target, {
    status: "upgraded",
    from: "1.0.0",
    to: "2.0.0",
    stepsApplied: 2,
    durationMs: 1500,
  });
  assert.equal(targetLine(out, upgraded), "acme upgraded 1.0.0 → 2.0.0, 2 steps, 1.5 s");
  const error = { code: "E_DATABASE_UNREACHABLE", message: "cannot connect" };
  const unreachable = resultOf(target, { status: "unreachable", durationMs: 40, error });
  assert.equal(
    targetLine(out, unreachable),
    "acme unreachable, 40 ms: E_DATABASE_UNREACHABLE cannot connect",
  );
  const current = resultOf(target, { status: "current", from: "2.0.0", to: "2.0.0", durationMs: 5 });
  assert.equal(targetLine(out, current), "acme current at 2.0.0, 5 ms");
});
