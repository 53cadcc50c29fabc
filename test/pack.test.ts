/**
 * The package as users get it: `npm pack`, installed into an empty project, then its
 * `lockstep` binary run on a TypeScript config and an SQLite database.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { REPO } from "./support/cli.js";

const dir = mkdtempSync(join(tmpdir(), "lockstep-pack-"));
const app = join(dir, "app");
after(() => rmSync(dir, { recursive: true, force: true }));

test("npm pack installs and its binary runs a TypeScript config on SQLite", () => {
  const packed = execFileSync("npm", ["pack", "--silent", "--pack-destination", dir], {
    cwd: REPO,
    encoding: "utf8",
  })
    .trim()
    .split("\n")
    .at(-1)!;
  mkdirSync(join(app, "upgrades"), { recursive: true });
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", version: "2.0.0", type: "module" }));
  const install = spawnSync(
    "npm",
    ["install", "--no-audit", "--no-fund", "--prefer-offline", "--omit=peer", join(dir, packed)],
    { cwd: app, encoding: "utf8" },
  );
  assert.equal(install.status, 0, install.stderr);
  // --verbose stacks map to the TypeScript sources, so they ship (issue 9 item 25).
  assert.ok(existsSync(join(app, "node_modules", "lockstep", "src", "core", "upgrader.ts")));
  // The SQLite driver is an optional peer dependency; reuse this checkout's build of it.
  symlinkSync(
    join(REPO, "node_modules", "better-sqlite3"),
    join(app, "node_modules", "better-sqlite3"),
    "dir",
  );
  writeFileSync(
    join(app, "lockstep.config.ts"),
    `import { defineConfig } from "lockstep";\nexport default defineConfig({ database: "sqlite:./app.db", steps: "./upgrades" });\n`,
  );
  const bin = join(app, "node_modules", ".bin", "lockstep");
  const run = (...args: string[]) => spawnSync(bin, args, { cwd: app, encoding: "utf8" });

  assert.equal(
    run("--version").stdout.trim(),
    JSON.parse(execFileSync("npm", ["pkg", "get", "version"], { cwd: REPO, encoding: "utf8" })),
  );
  assert.equal(run("new", "2.0.0", "first-step").status, 0);
  const init = run("init", "--json");
  assert.equal(init.status, 0, init.stderr + init.stdout);
  assert.equal(JSON.parse(init.stdout).version, "2.0.0");
  const status = run("status", "--json");
  assert.equal(status.status, 0, status.stderr);
  assert.equal(JSON.parse(status.stdout).status, "CURRENT");
  assert.deepEqual(JSON.parse(status.stdout).pending, []);
});

test("the packed types type-check in a consumer project with skipLibCheck false", () => {
  assert.ok(existsSync(join(app, "node_modules", "lockstep")), "the install above must have run");
  // A user of a subpath installs its driver (and the driver's types where it ships none);
  // nothing else: lockstep's public types may not need its devDependencies (@types/semver).
  mkdirSync(join(app, "node_modules", "@types"), { recursive: true });
  for (const dep of ["pg", "@types/pg", "@types/better-sqlite3", "mysql2", "mongodb", "@types/node"]) {
    symlinkSync(join(REPO, "node_modules", dep), join(app, "node_modules", dep), "dir");
  }
  writeFileSync(
    join(app, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        module: "nodenext",
        moduleResolution: "nodenext",
        target: "es2022",
        types: ["node"],
        skipLibCheck: false,
        noEmit: true,
      },
      files: ["consumer.ts"],
    }),
  );
  writeFileSync(
    join(app, "consumer.ts"),
    `import { parseVersion, stepTarget, Upgrader, upgrade, type ParsedVersion } from "lockstep";
import { SqliteAdapter } from "lockstep/sqlite";
import { PostgresAdapter } from "lockstep/postgres";
import { MysqlAdapter } from "lockstep/mysql";
import { MongoAdapter } from "lockstep/mongodb";
const target: ParsedVersion = stepTarget(parseVersion("1.0.0-rc.1", "consumer"));
export const used = [target.version, Upgrader, upgrade, SqliteAdapter, PostgresAdapter, MysqlAdapter, MongoAdapter];
`,
  );
  const tsc = spawnSync(
    process.execPath,
    [join(REPO, "node_modules", "typescript", "bin", "tsc"), "-p", app],
    {
      cwd: app,
      encoding: "utf8",
    },
  );
  assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
});
