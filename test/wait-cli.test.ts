/**
 * Issue 10 item 6: `lockstep wait --until current|compatible [--timeout] [--interval]`, the
 * built CLI as an initContainer runs it: exit 0 once reached (here: after another process
 * upgraded mid-wait), 4 on timeout, 3 for a state waiting cannot change, 1 on a usage error;
 * --json and progress lines.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { lockstep, makeProject, markingStep, type Project } from "./support/cli.js";

function project(version: string): Project {
  return makeProject({
    "package.json": JSON.stringify({ name: "app", version, type: "module" }),
    "lockstep.config.ts": `import { defineConfig } from "lockstep";
export default defineConfig({ database: "sqlite:./app.db", steps: "./upgrades", stepsBuildSchema: true });
`,
    "upgrades/1.0.0-first.ts": markingStep("1.0.0", "first"),
  });
}

describe("lockstep wait", () => {
  it("exits 0 once another process upgraded the database, printing progress meanwhile", async () => {
    const p = project("1.0.0");
    try {
      const waiting = p.run("wait", "--until", "current", "--timeout", "60s", "--interval", "200ms");
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      const upgraded = await p.run("upgrade", "--yes");
      assert.equal(upgraded.code, 0, upgraded.stderr);
      const run = await waiting;
      assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.match(run.stdout, /ready CURRENT/);
      assert.match(run.stderr, /waiting for current: (UNREACHABLE|UPGRADE_PENDING)/, "a progress line");
    } finally {
      p.cleanup();
    }
  });

  it("exits 4 on timeout, with --json saying so", async () => {
    const p = project("1.0.0");
    try {
      // No database file yet: waited for (a database not up yet), then the timeout.
      const run = await lockstep(p.dir, ["wait", "--timeout", "1s", "--interval", "200ms", "--json"]);
      assert.equal(run.code, 4, run.stdout + run.stderr);
      const json = run.json();
      assert.equal(json.outcome, "timeout");
      assert.equal(json.status, "UNREACHABLE");
      assert.ok(json.polls >= 2, `polled more than once: ${json.polls}`);
      assert.match(run.stderr, /"event":"waiting"/);
    } finally {
      p.cleanup();
    }
  });

  it("exits 3 at once for a state waiting cannot change (AHEAD)", async () => {
    const p = project("1.0.0");
    try {
      assert.equal((await p.run("upgrade", "--yes")).code, 0);
      const started = Date.now();
      const run = await lockstep(p.dir, [
        "wait",
        "--app-version",
        "0.9.0",
        "--until",
        "compatible",
        "--timeout",
        "30s",
      ]);
      assert.equal(run.code, 3, run.stdout + run.stderr);
      assert.match(run.stdout, /will not get there by waiting \(E_AHEAD\): AHEAD: /);
      assert.match(run.stdout, /^next {6}\S/m, `the next command, as status prints it: ${run.stdout}`);
      const json = await lockstep(p.dir, [
        "wait",
        "--app-version",
        "0.9.0",
        "--until",
        "compatible",
        "--json",
      ]);
      assert.equal(json.code, 3);
      const body = json.json();
      assert.equal(body.outcome, "never");
      assert.equal(body.error.code, "E_AHEAD");
      assert.equal(typeof body.next, "string");
      assert.equal(body.next, body.error.hint);
      assert.ok(Date.now() - started < 15_000, "did not wait for the timeout");
    } finally {
      p.cleanup();
    }
  });

  it("--until compatible is reached by a release with no steps (the guard stamps it); current is not", async () => {
    const p = project("1.0.0");
    try {
      assert.equal((await p.run("upgrade", "--yes")).code, 0);
      const compatible = await lockstep(p.dir, ["wait", "--app-version", "1.1.0", "--until", "compatible"]);
      assert.equal(compatible.code, 0, compatible.stdout + compatible.stderr);
      const current = await lockstep(p.dir, [
        "wait",
        "--app-version",
        "1.1.0",
        "--timeout",
        "600ms",
        "--interval",
        "200ms",
      ]);
      assert.equal(current.code, 4, current.stdout + current.stderr);
    } finally {
      p.cleanup();
    }
  });

  it("older code on an expanded database: --until compatible exits 0, --until current exits 3", async () => {
    const p = project("1.1.0");
    try {
      p.write("upgrades/1.1.0-add-col.ts", markingStep("1.1.0", "add-col", 'phase: "expand",'));
      assert.equal((await p.run("upgrade", "--yes", "--from-version", "0.0.0")).code, 0);
      const compatible = await lockstep(p.dir, ["wait", "--app-version", "1.0.0", "--until", "compatible"]);
      assert.equal(compatible.code, 0, compatible.stdout + compatible.stderr);
      assert.match(compatible.stdout, /ready AHEAD_COMPATIBLE/);
      const current = await lockstep(p.dir, ["wait", "--app-version", "1.0.0", "--until", "current"]);
      assert.equal(current.code, 3, current.stdout + current.stderr);
      assert.match(current.stdout, /will not get there by waiting \(E_AHEAD\): AHEAD_COMPATIBLE/);
      assert.match(current.stdout, /next .*--until compatible/);
    } finally {
      p.cleanup();
    }
  });

  it("a bad duration is a usage error (exit 1); --help documents the exit codes", async () => {
    const p = project("1.0.0");
    try {
      const bad = await p.run("wait", "--timeout", "soon");
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /E_USAGE/);
      const help = await p.run("wait", "--help");
      assert.equal(help.code, 0);
      assert.match(help.stdout, /--until <state>/);
      assert.match(help.stdout, /4 timed out/);
    } finally {
      p.cleanup();
    }
  });
});
