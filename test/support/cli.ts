/**
 * Runs the built `lockstep` binary the way users do: a separate process in a temp project
 * whose node_modules/lockstep points at this repository (as an install would).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";

export const REPO = fileURLToPath(new URL("../..", import.meta.url));
export const CLI = join(REPO, "dist", "cli", "main.js");

/** The outcome of one CLI run. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (with --json). */
  json(): any;
}

/** Runs `lockstep args…` in `cwd`, with no TTY and stdin closed. */
export function lockstep(
  cwd: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<CliRun> {
  return collectRun(
    spawn(process.execPath, [CLI, ...args], {
      cwd,
      env: { ...process.env, NO_COLOR: "1", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
}

/**
 * Collects a spawned CLI's output until it exits; `onStderr` sees stderr as it comes (all of
 * it so far) and may signal the child.
 */
export function collectRun(
  child: ChildProcess,
  onStderr?: (text: string, child: ChildProcess) => void,
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (d) => {
      stdout += d;
    });
    child.stderr?.on("data", (d) => {
      stderr += d;
      onStderr?.(stderr, child);
    });
    child.on("error", reject);
    child.on("close", (code) =>
      resolve({
        code,
        stdout,
        stderr,
        json() {
          try {
            return JSON.parse(stdout);
          } catch {
            throw new Error(`stdout is not JSON (exit ${code}):\n${stdout}\nstderr:\n${stderr}`);
          }
        },
      }),
    );
  });
}

/** A temp project with package.json, a config and step files. */
export interface Project {
  readonly dir: string;
  write(path: string, text: string): void;
  run(...args: string[]): Promise<CliRun>;
  cleanup(): void;
}

/** Makes a temp project: `files` maps relative paths to contents. */
export function makeProject(files: Record<string, string>): Project {
  const dir = mkdtempSync(join(tmpdir(), "lockstep-cli-"));
  mkdirSync(join(dir, "node_modules"));
  symlinkSync(REPO, join(dir, "node_modules", "lockstep"), "dir");
  const project: Project = {
    dir,
    write(path, text) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    },
    run: (...args) => lockstep(dir, args),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
  for (const [path, text] of Object.entries(files)) project.write(path, text);
  return project;
}

/** A step file that records that it ran in a `marks` table. */
export function markingStep(version: string, name: string, extra = ""): string {
  return `import { upgrade } from "lockstep";
export default upgrade({
  version: "${version}",
  name: "${name}",
  ${extra}
  run(ctx) {
    if (ctx.dryRun) return;
    ctx.db.exec("create table if not exists marks (mark text)");
    ctx.db.prepare("insert into marks values (?)").run("${version}/${name}");
    return { marked: 1 };
  },
});
`;
}

/** Every mark in the `marks` table of the project's SQLite `app.db` (none before it exists). */
export function projectMarks(project: Project): string[] {
  const db = new Database(join(project.dir, "app.db"), { readonly: true });
  try {
    if (!db.prepare("select 1 from sqlite_master where name = 'marks'").get()) return [];
    return (db.prepare("select mark from marks").all() as { mark: string }[]).map((r) => r.mark);
  } finally {
    db.close();
  }
}
