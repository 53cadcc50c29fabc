/**
 * The deployment recipes of examples/rolling/deploy/ (Kubernetes Jobs, initContainers, a
 * Deployment, docker compose). No cluster runs here, so "tested" means: every lockstep
 * command they run is parsed out of them and is a real command of the built CLI with real
 * options (checked against `lockstep <command> --help`), the servers they start exist, and
 * the probes are wired the way the README says (readiness to /readyz, never liveness).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, test } from "node:test";
import { CLI, REPO } from "./support/cli.js";

const DEPLOY = join(REPO, "examples", "rolling", "deploy");
const APP_DIR = join(REPO, "examples", "rolling");

/** Every YAML file under the deploy folder. */
function recipeFiles(dir = DEPLOY): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? recipeFiles(join(dir, entry.name))
      : /\.ya?ml$/.test(entry.name)
        ? [join(dir, entry.name)]
        : [],
  );
}

/** A `command: [...]` line of a recipe, parsed (the recipes write commands as JSON-style flow sequences). */
interface RecipeCommand {
  readonly file: string;
  readonly line: number;
  readonly argv: string[];
}

function commandsOf(file: string): RecipeCommand[] {
  const out: RecipeCommand[] = [];
  readFileSync(file, "utf8")
    .split("\n")
    .forEach((text, index) => {
      const code = text.replace(/^\s*#.*$/, "");
      const match = /^\s*(?:-\s+)?(?:command|args):\s*(\[.*\])\s*$/.exec(code);
      if (match) out.push({ file, line: index + 1, argv: JSON.parse(match[1]!) as string[] });
      else
        assert.doesNotMatch(
          code,
          /\blockstep\s+[a-z]/,
          `${relative(REPO, file)}:${index + 1} runs lockstep outside a parsable command: [...] line`,
        );
    });
  return out;
}

/** The lockstep invocations: the subcommand and the options given to it. */
function lockstepCalls(commands: RecipeCommand[]): { where: string; command: string; flags: string[] }[] {
  return commands.flatMap(({ file, line, argv }) => {
    const at = argv.findIndex((a) => /(^|\/)lockstep$/.test(a));
    if (at < 0) return [];
    const [command = "", ...rest] = argv.slice(at + 1);
    const flags = rest.filter((a) => a.startsWith("-")).map((a) => a.split("=")[0]!);
    return [{ where: `${relative(REPO, file)}:${line}`, command, flags }];
  });
}

function help(command: string): string {
  const run = spawnSync(process.execPath, [CLI, command, "--help"], { encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
  return run.stdout;
}

describe("the deployment recipes (examples/rolling/deploy)", () => {
  const files = recipeFiles();
  const commands = files.flatMap(commandsOf);
  const calls = lockstepCalls(commands);

  test("hold the recipes the README promises", () => {
    const names = files.map((f) => relative(DEPLOY, f)).sort();
    assert.deepEqual(names, [
      "docker-compose.yml",
      "kubernetes/contract-job.yaml",
      "kubernetes/deployment.yaml",
      "kubernetes/migrate-job.yaml",
    ]);
    const shown = calls.map((c) => `${c.command} ${c.flags.join(" ")}`);
    for (const expected of ["upgrade --yes", "wait --until --timeout", "upgrade --contract --yes"])
      assert.ok(
        shown.some((s) => s.startsWith(expected)),
        `${expected} in ${shown.join("; ")}`,
      );
    for (const file of files.filter((f) => f.includes("kubernetes"))) {
      const text = readFileSync(file, "utf8");
      assert.match(text, /^apiVersion: /m, file);
      assert.match(text, /^kind: (Job|Deployment)$/m, file);
    }
  });

  test("every lockstep command they run is a real command, with real options", () => {
    assert.ok(calls.length >= 6, `${calls.length} lockstep commands found`);
    const helps = new Map<string, string>();
    for (const call of calls) {
      if (!helps.has(call.command)) helps.set(call.command, help(call.command));
      const text = helps.get(call.command)!;
      assert.match(
        text,
        new RegExp(`^Usage: lockstep ${call.command}\\b`),
        `${call.where}: no command ${call.command}`,
      );
      for (const flag of call.flags) {
        const escaped = flag.replace(/[-]/g, "\\-");
        assert.match(
          text,
          new RegExp(`(^|[\\s,])${escaped}\\b`, "m"),
          `${call.where}: ${call.command} has no ${flag}`,
        );
      }
    }
  });

  test("`wait --until` names a state the command knows", () => {
    const waits = commands.filter((c) => c.argv.includes("wait"));
    assert.ok(waits.length >= 2);
    const text = help("wait");
    for (const { argv } of waits) {
      const until = argv[argv.indexOf("--until") + 1]!;
      assert.ok(["current", "compatible"].includes(until), until);
      assert.match(text, new RegExp(`\\b${until}\\b`));
    }
  });

  test("the servers they start exist, and readiness (never liveness) is lockstep's", () => {
    for (const { argv, file, line } of commands.filter((c) => c.argv[0] === "node")) {
      const script = argv.find((a) => a.endsWith(".mjs"));
      assert.ok(script && existsSync(join(APP_DIR, script)), `${relative(REPO, file)}:${line}: ${script}`);
    }
    const deployment = readFileSync(join(DEPLOY, "kubernetes", "deployment.yaml"), "utf8");
    assert.match(deployment, /readinessProbe:\s*\n\s*httpGet: \{ path: \/readyz/);
    assert.match(deployment, /livenessProbe:\s*\n\s*httpGet: \{ path: \/healthz/);
  });
});
