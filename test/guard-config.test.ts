/**
 * Issue 10 item 6: the app reuses the CLI's config. `checkDatabase({ config })` (a relative
 * path, an absolute one, a file: URL), `loadLockstepConfig(path)` spread in, a database URL
 * and a steps folder given directly, the package.json version — and a misuse is a coded error.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import Database from "better-sqlite3";
import { loadLockstepConfig } from "../src/config/load-lockstep-config.js";
import { isLockstepError } from "../src/core/errors.js";
import { Upgrader } from "../src/core/upgrader.js";
import { checkDatabase, startDatabaseGuard } from "../src/guard/index.js";
import { makeProject, markingStep, type Project, projectMarks, REPO } from "./support/cli.js";

const DATALAB = join(REPO, "examples", "datalab", "lockstep.config.ts");

function project(): Project {
  return makeProject({
    "package.json": JSON.stringify({ name: "app", version: "2.1.0", type: "module" }),
    "lockstep.config.ts": `import { defineConfig } from "lockstep";
export default defineConfig({ database: "sqlite:./app.db", steps: "./upgrades", stepsBuildSchema: true });
`,
    "upgrades/2.0.0-first.ts": markingStep("2.0.0", "first"),
    "upgrades/2.1.0-second.ts": markingStep("2.1.0", "second"),
  });
}

async function rejectsWith(fn: () => Promise<unknown>, code: string, text: RegExp): Promise<void> {
  await assert.rejects(fn, (error: unknown) => {
    assert.ok(isLockstepError(error), `a coded error, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.match(error.message, text);
    assert.ok(error.hint, "a hint naming the fix");
    return true;
  });
}

describe("checkDatabase({ config })", () => {
  it("reads a project's config as the CLI does: URL, steps folder, package.json version", async () => {
    const p = project();
    try {
      const result = await checkDatabase({ config: "./lockstep.config.ts", cwd: p.dir, policy: "upgrade" });
      assert.equal(result.report.codeVersion, "2.1.0", "the version of the project's package.json");
      assert.equal(result.action, "upgraded");
      assert.deepEqual(result.steps, ["2.0.0/first", "2.1.0/second"]);
      assert.equal(result.status, "CURRENT");
      assert.deepEqual(projectMarks(p), ["2.0.0/first", "2.1.0/second"]);
      await result.close();
      // An absolute path and a file: URL mean the same file, from any working directory.
      const absolute = await checkDatabase({ config: join(p.dir, "lockstep.config.ts"), policy: "refuse" });
      assert.equal(absolute.status, "CURRENT");
      assert.equal(absolute.action, "none");
      await absolute.close();
      const url = await checkDatabase({
        config: pathToFileURL(join(p.dir, "lockstep.config.ts")),
        policy: "refuse",
      });
      assert.equal(url.status, "CURRENT");
      await url.close();
    } finally {
      p.cleanup();
    }
  });

  it("takes loadLockstepConfig(path) spread in, and a URL and steps folder given directly", async () => {
    const p = project();
    try {
      const loaded = await loadLockstepConfig(join(p.dir, "lockstep.config.ts"));
      assert.equal(loaded.appVersion, "2.1.0");
      assert.equal(loaded.steps.length, 2);
      const first = await checkDatabase({ ...loaded, policy: "upgrade" });
      assert.deepEqual(first.steps, ["2.0.0/first", "2.1.0/second"]);
      await first.close();
      // No config: a database URL string and a steps folder, relative to cwd; package.json's version.
      const direct = await checkDatabase({
        database: "sqlite:./app.db",
        steps: "./upgrades",
        cwd: p.dir,
        policy: "refuse",
      });
      assert.equal(direct.status, "CURRENT");
      assert.equal(direct.report.codeVersion, "2.1.0");
      await direct.close();
      // The config object itself spread in (what gave `not a step: string .` before).
      const module = (await import(pathToFileURL(join(p.dir, "lockstep.config.ts")).href)) as {
        default: Record<string, unknown>;
      };
      const spread = await checkDatabase({ ...module.default, cwd: p.dir, policy: "refuse" });
      assert.equal(spread.status, "CURRENT");
      await spread.close();
    } finally {
      p.cleanup();
    }
  });

  it("a config option that is not a path, or no database at all, is a coded error", async () => {
    await rejectsWith(
      () => checkDatabase({ config: { database: "sqlite:x.db" } as unknown as string }),
      "E_INVALID_OPTION",
      /`config` must be the config file's path/,
    );
    await rejectsWith(
      () => checkDatabase({ appVersion: "1.0.0", steps: [] }),
      "E_INVALID_OPTION",
      /no database given/,
    );
    await rejectsWith(
      () => checkDatabase({ config: "./nowhere/lockstep.config.ts", cwd: REPO }),
      "E_CONFIG_NOT_FOUND",
      /config file not found/,
    );
    await rejectsWith(
      () =>
        checkDatabase({ database: "sqlite:x.db", appVersion: "1.0.0", steps: [], polcy: "upgrade" } as never),
      "E_INVALID_OPTION",
      /unknown option `polcy` \(did you mean `policy`\?\)/,
    );
  });

  it("reads the datalab example's config (appVersion, steps folder, a --database-style override)", async () => {
    const p = makeProject({});
    try {
      const file = join(p.dir, "datalab.db");
      new Database(file).close();
      const database = `sqlite:${file}`;
      const loaded = await loadLockstepConfig(DATALAB, { database });
      // The release the example's config declares (it moves as the example gains releases).
      const release = /appVersion: "([^"]+)"/.exec(readFileSync(DATALAB, "utf8"))?.[1];
      assert.ok(release, "the datalab config declares its appVersion");
      assert.equal(loaded.appVersion, release);
      assert.ok(loaded.steps.length >= 2, "datalab's upgrades folder");
      const fresh = await checkDatabase({ config: DATALAB, database });
      assert.equal(fresh.status, "UNINITIALISED");
      assert.equal(fresh.report.codeVersion, release);
      assert.ok(fresh.warnings.length > 0, "policy warn reports it");
      await fresh.close();
      const upgrader = new Upgrader(loaded);
      await upgrader.init({ version: release });
      await upgrader.close();
      const current = await checkDatabase({ config: DATALAB, database, policy: "refuse" });
      assert.equal(current.status, "CURRENT");
      assert.equal(current.action, "none");
      await current.close();
    } finally {
      p.cleanup();
    }
  });

  it("startDatabaseGuard throws a misspelt option or policy at once, naming itself and every option", () => {
    const base = { database: "sqlite:x.db", appVersion: "1.0.0", steps: [] };
    const throwsWith = (fn: () => unknown, text: RegExp) =>
      assert.throws(fn, (error: unknown) => {
        assert.ok(isLockstepError(error, "E_INVALID_OPTION"), String(error));
        assert.match(error.message, text);
        return true;
      });
    throwsWith(
      () => startDatabaseGuard({ ...base, polcy: "refuse" } as never),
      /^startDatabaseGuard\(options\): unknown option `polcy` \(did you mean `policy`\?\)/,
    );
    throwsWith(
      () => startDatabaseGuard({ ...base, policy: "upgrad" } as never),
      /^startDatabaseGuard\(options\): option `policy`: unknown policy "upgrad" \(did you mean "upgrade"\?\)/,
    );
    throwsWith(() => startDatabaseGuard({ ...base, retry: { untill: "10m" } } as never), /retry\.untill/);
    throwsWith(
      () => startDatabaseGuard({ ...base, instanceTtlMs: 86_400_000 }),
      /between 5000 ms .* and 3600000 ms/,
    );
    throwsWith(() => startDatabaseGuard({ ...base, instanceTtlMs: 1_000 }), /instanceTtlMs/);
    try {
      startDatabaseGuard({ ...base, polcy: "refuse" } as never);
    } catch (error) {
      const hint = (error as { hint: string }).hint;
      for (const option of [
        "config",
        "database",
        "adapter",
        "steps",
        "policy",
        "logger",
        "instanceTtlMs",
        "retry",
      ]) {
        assert.match(hint, new RegExp(`\\b${option}\\b`), `the hint lists \`${option}\`: ${hint}`);
      }
    }
  });

  it("checkDatabase names itself in its option errors and lists config and database", async () => {
    await assert.rejects(
      () =>
        checkDatabase({ database: "sqlite:x.db", appVersion: "1.0.0", steps: [], polcy: "refuse" } as never),
      (error: unknown) => {
        assert.ok(isLockstepError(error, "E_INVALID_OPTION"));
        assert.match(error.message, /^checkDatabase\(options\)/);
        assert.match(error.hint ?? "", /\{ config, database, /);
        assert.doesNotMatch(error.hint ?? "", /retry/, "retry belongs to the background guard");
        return true;
      },
    );
  });

  it("a missing config file's hint speaks to a library caller (the `config` option), not to the CLI", async () => {
    await assert.rejects(
      () => checkDatabase({ config: "./nowhere/lockstep.config.ts", cwd: REPO }),
      (error: unknown) => {
        assert.ok(isLockstepError(error, "E_CONFIG_NOT_FOUND"));
        assert.match(error.hint ?? "", /the `config` option/);
        assert.doesNotMatch(error.message, /--config/);
        return true;
      },
    );
  });
});
