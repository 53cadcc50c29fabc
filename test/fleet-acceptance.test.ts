/**
 * Issue 12's acceptance, through the built CLI: 40 SQLite files, 4 PostgreSQL, 3 MariaDB and
 * 2 FerretDB databases at mixed stamps, plus one PostgreSQL URL on a closed port. `status`
 * lists the problem tenants first and a histogram by stamp. One tenant's
 * step fails (a `poison` table), one is INTERRUPTED, one AHEAD, one unreachable: each gets
 * its result, the summary counts them, the exit code is 1 and the run record holds it all
 * without a credential. `--resume` then upgrades the failed one alone once its poison is
 * dropped; and a failed canary leaves the untouched tenants `skipped` (FLEET.md's contract).
 */
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { redactUrl, secretsOf } from "../src/adapters/url.js";
import type { CliRun, Project } from "./support/cli.js";
import { TEST_RUN_PREFIX } from "./support/fixtures.js";
import {
  addPoison,
  createTenant,
  dropPoison,
  dropTenants,
  interruptTenant,
  postgresTenantUrl,
  runsOf,
  snapshotTenant,
  stampTenant,
  type Tenant,
  type TenantSnapshot,
  tenantUrl,
} from "./support/fleet-databases.js";
import {
  FLEET_VERSION,
  fleetSteps,
  makeFleetProject,
  POISONED,
  pendingFrom,
  writeTargetsFile,
} from "./support/fleet-project.js";
import { closedPort, fleetUnavailable } from "./support/fleet-servers.js";

/** The PostgreSQL tenants' password (trust auth ignores it): it must never be printed or recorded. */
const PASSWORD = "Fleet-Pw-9c41e7";

type Status = "upgraded" | "current" | "failed" | "refused" | "unreachable" | "skipped";

/** One tenant of the fleet and what its upgrade must report. */
interface Case {
  readonly tenant: Tenant;
  readonly stamp: string | null;
  readonly poison?: boolean;
  readonly interrupted?: boolean;
  readonly status: Status;
  readonly code?: string;
}

/** One result as FLEET.md specifies it. */
interface Result {
  name: string;
  database: string;
  status: Status;
  from: string | null;
  to: string | null;
  stepsApplied: number;
  durationMs: number;
  error: { code: string; message: string } | null;
  resumed?: boolean;
}

interface RunRecord {
  id: string;
  command: string;
  appVersion: string;
  startedAt: string;
  finishedAt: string;
  source: Record<string, unknown>;
  options: Record<string, unknown>;
  results: Result[];
  resumes?: string;
}

const RUN_ID = /^\d{8}-\d{6}-[0-9a-f]{8}$/;

function tenant(project: Project, kind: Tenant["kind"], name: string, named = true): Tenant {
  const database =
    kind === "sqlite"
      ? join(project.dir, "tenants", `${name}.db`)
      : `${TEST_RUN_PREFIX}fleet_${name.replace("-", "")}`;
  // Unnamed tenants are named by the CLI: a SQLite file by its name, a server's by its database.
  const shown = named || kind === "sqlite" ? name : database;
  return { name: shown, named, kind, database, url: tenantUrl(kind, database, PASSWORD) };
}

/** The 50 targets, in the targets file's order. */
function fleetCases(project: Project, downPort: number): Case[] {
  const sqlite = (i: number): Case => {
    const stamp = ["3.0.0", "1.0.0", "2.0.0"][i % 3]!;
    const name = `tenant-${String(i).padStart(2, "0")}`;
    return {
      tenant: tenant(project, "sqlite", name, false),
      stamp,
      status: stamp === FLEET_VERSION ? "current" : "upgraded",
    };
  };
  const down = `${TEST_RUN_PREFIX}fleet_down`;
  const servers: Case[] = [
    { tenant: tenant(project, "postgres", "pg-1"), stamp: "1.0.0", status: "upgraded" },
    {
      tenant: tenant(project, "mysql", "my-1"),
      stamp: "2.0.0",
      interrupted: true,
      status: "refused",
      code: "E_INTERRUPTED",
    },
    { tenant: tenant(project, "mongodb", "mg-1", false), stamp: "1.0.0", status: "upgraded" },
    {
      tenant: tenant(project, "postgres", "pg-2"),
      stamp: "2.0.0",
      poison: true,
      status: "failed",
      code: "E_STEP_FAILED",
    },
    { tenant: tenant(project, "mysql", "my-2"), stamp: "1.0.0", status: "upgraded" },
    {
      tenant: {
        name: "pg-down",
        named: true,
        kind: "postgres",
        database: down,
        url: postgresTenantUrl(down, PASSWORD).replace(/:\d+\//, `:${downPort}/`),
      },
      stamp: null,
      status: "unreachable",
      code: "E_DATABASE_UNREACHABLE",
    },
    { tenant: tenant(project, "postgres", "pg-3", false), stamp: "3.0.0", status: "current" },
    { tenant: tenant(project, "mongodb", "mg-2"), stamp: "9.0.0", status: "refused", code: "E_AHEAD" },
    { tenant: tenant(project, "mysql", "my-3"), stamp: "2.0.0", status: "upgraded" },
    { tenant: tenant(project, "postgres", "pg-4"), stamp: "1.0.0", status: "upgraded" },
  ];
  const first = Array.from({ length: 20 }, (_, i) => sqlite(i + 1));
  const last = Array.from({ length: 20 }, (_, i) => sqlite(i + 21));
  return [...first, ...servers, ...last];
}

/** Creates, stamps, poisons and interrupts each case's database (the unreachable one is never made). */
async function prepare(project: Project, cases: readonly Case[]): Promise<void> {
  const steps = await fleetSteps(project);
  mkdirSync(join(project.dir, "tenants"), { recursive: true });
  for (const c of cases) {
    if (c.stamp === null) continue;
    await createTenant(c.tenant);
    await stampTenant(c.tenant, c.stamp, steps);
    if (c.poison) await addPoison(c.tenant);
    if (c.interrupted) await interruptTenant(c.tenant, "3.0.0", "c");
  }
}

/** Every line of stdout and stderr, and no credential anywhere in them. */
function assertNoSecret(text: string, what: string): void {
  for (const secret of [PASSWORD, ...secretsOf(postgresTenantUrl("x", PASSWORD))]) {
    assert.ok(!text.includes(secret), `${what} holds a password`);
  }
}

/** The result of `name`, which must be there exactly once. */
function resultOf(results: readonly Result[], name: string): Result {
  const found = results.filter((r) => r.name === name);
  assert.equal(found.length, 1, `one result for ${name}, got ${found.length}`);
  return found[0]!;
}

/** A result matches its case: status, from, to, steps applied, error code, redacted URL. */
function assertResult(result: Result, c: Case): void {
  const where = `${c.tenant.name}: ${JSON.stringify(result)}`;
  assert.equal(result.status, c.status, where);
  assert.equal(typeof result.durationMs, "number", where);
  assert.ok(result.durationMs >= 0, where);
  if (c.tenant.kind === "sqlite") assert.match(result.database, /tenants\/tenant-\d\d\.db$/, where);
  else assert.equal(result.database, redactUrl(c.tenant.url), where);
  assert.equal(result.from, c.stamp, where);
  if (c.status === "upgraded" || c.status === "current") {
    assert.equal(result.to, FLEET_VERSION, where);
    assert.equal(result.stepsApplied, pendingFrom(c.stamp!).length, where);
    assert.equal(result.error, null, where);
    return;
  }
  assert.equal(result.stepsApplied, 0, where);
  assert.equal(result.error?.code, c.code, where);
  assert.equal(typeof result.error?.message, "string", where);
  if (c.poison) assert.match(result.error!.message, new RegExp(POISONED.split(":")[0]!), where);
}

/** The run record `id`, checked 0600 and free of credentials. */
function readRecord(project: Project, id: string): RunRecord {
  const path = join(project.dir, ".lockstep", "runs", `${id}.json`);
  assert.equal(statSync(path).mode & 0o777, 0o600, "the run record is 0600");
  const text = readFileSync(path, "utf8");
  assertNoSecret(text, "the run record");
  return JSON.parse(text) as RunRecord;
}

/** Counts by status, as the summary must show them. */
function countsOf(cases: readonly Pick<Case, "status">[]): Map<Status, number> {
  const counts = new Map<Status, number>();
  for (const c of cases) counts.set(c.status, (counts.get(c.status) ?? 0) + 1);
  return counts;
}

/** The stderr JSON events of a `--json` run (every non-empty line is one). */
function events(run: CliRun): { event: string; [key: string]: unknown }[] {
  return run.stderr
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      try {
        return JSON.parse(line) as { event: string };
      } catch {
        throw new Error(`stderr line is not JSON with --json: ${line}\n${run.stderr}`);
      }
    });
}

async function snapshots(cases: readonly Case[]): Promise<Map<string, TenantSnapshot>> {
  const out = new Map<string, TenantSnapshot>();
  for (const c of cases) if (c.stamp !== null) out.set(c.tenant.name, await snapshotTenant(c.tenant));
  return out;
}

const unavailable = await fleetUnavailable();
if (unavailable !== null) console.log(`# skipping the fleet acceptance: ${unavailable}`);

describe("a fleet of 50 tenants on four databases through `lockstep upgrade --targets`", {
  skip: unavailable ?? false,
}, () => {
  let project: Project;
  let cases: Case[];
  let firstRun: string;
  let afterFirst: Map<string, TenantSnapshot>;

  before(async () => {
    project = makeFleetProject();
    cases = fleetCases(project, await closedPort());
    await prepare(project, cases);
    writeTargetsFile(
      project,
      "targets.txt",
      cases.map((c) => c.tenant),
    );
  });
  after(async () => {
    const failures = await dropTenants((cases ?? []).map((c) => c.tenant));
    project?.cleanup();
    assert.deepEqual(failures, [], "every tenant database dropped");
  });

  test("status --targets: problem tenants first, then pending, then current; a histogram by stamp; exit 3", async () => {
    const run = await project.run("status", "--targets", "targets.txt");
    assertNoSecret(`${run.stdout}\n${run.stderr}`, "the output");
    assert.equal(run.code, 3, `${run.stdout}\n${run.stderr}`);
    const lines = run.stdout.split("\n");
    const row = (name: string) => {
      const found = lines.findIndex((l) => new RegExp(`^\\s*${name}\\s`).test(l));
      assert.ok(found >= 0, `a line for ${name}:\n${run.stdout}`);
      return found;
    };
    // AHEAD, INTERRUPTED, unreachable (FLEET.md's order), then pending, then current.
    const problems = ["mg-2", "my-1", "pg-down"].map(row);
    assert.deepEqual(
      problems,
      [...problems].sort((a, b) => a - b),
      `AHEAD, INTERRUPTED, unreachable in order:\n${run.stdout}`,
    );
    const stamped = cases.filter((c) => c.stamp !== null && c.code === undefined);
    const pending = stamped.filter((c) => c.stamp !== FLEET_VERSION).map((c) => row(c.tenant.name));
    const current = stamped.filter((c) => c.stamp === FLEET_VERSION).map((c) => row(c.tenant.name));
    assert.ok(Math.max(...problems) < Math.min(...pending), "problems before pending");
    assert.ok(Math.max(...pending) < Math.min(...current), "pending before current");
    const byStamp = new Map<string, number>();
    for (const c of cases) if (c.stamp !== null) byStamp.set(c.stamp, (byStamp.get(c.stamp) ?? 0) + 1);
    const histogram = lines.slice(Math.max(...current) + 1);
    for (const [stamp, n] of byStamp) {
      const bar = histogram.some((l) =>
        new RegExp(`^\\s*${stamp.replaceAll(".", "\\.")}\\s+${n}\\b`).test(l),
      );
      assert.ok(bar, `the histogram shows ${n} at ${stamp}:\n${run.stdout}`);
    }
  });

  test("one result per tenant, the summary, exit 1, and a run record without credentials", async () => {
    const run = await project.run(
      "upgrade",
      "--targets",
      "targets.txt",
      "--concurrency",
      "4",
      "--on-error",
      "continue",
      "--yes",
    );
    const output = `${run.stdout}\n${run.stderr}`;
    assertNoSecret(output, "the output");
    assert.equal(run.code, 1, output);

    const ids = readdirSync(join(project.dir, ".lockstep", "runs"))
      .filter((f) => f.endsWith(".json"))
      .map((f) => f.slice(0, -".json".length));
    assert.equal(ids.length, 1, `one run record: ${ids.join(", ")}`);
    firstRun = ids[0]!;
    assert.match(firstRun, RUN_ID);
    const record = readRecord(project, firstRun);
    assert.equal(record.id, firstRun);
    assert.equal(record.command, "upgrade");
    assert.equal(record.appVersion, FLEET_VERSION);
    assert.deepEqual(record.source, { targets: "targets.txt" });
    assert.equal(record.options.concurrency, 4);
    assert.equal(record.options.onError, "continue");
    assert.ok(Date.parse(record.startedAt) <= Date.parse(record.finishedAt), "started before it finished");
    assert.equal(record.results.length, cases.length);
    for (const c of cases) assertResult(resultOf(record.results, c.tenant.name), c);

    // The summary: a count per status, and each problem tenant with its code.
    for (const [status, n] of countsOf(cases)) {
      const line = new RegExp(`\\b${status}\\b\\D{0,20}\\b${n}\\b|\\b${n}\\b\\D{0,20}\\b${status}\\b`, "m");
      assert.match(run.stdout, line, `summary counts ${n} ${status}:\n${run.stdout}`);
    }
    for (const c of cases.filter((c) => c.code !== undefined)) {
      const message = resultOf(record.results, c.tenant.name).error!.message.slice(0, 30);
      const listed = run.stdout
        .split("\n")
        .some((l) => l.includes(c.tenant.name) && l.includes(c.code!) && l.includes(message));
      assert.ok(listed, `the summary lists ${c.tenant.name} with ${c.code} and its message:\n${run.stdout}`);
    }
    assert.ok(run.stdout.includes(firstRun), "the output names the run, for --resume");
    // No TTY: one plain line per finished tenant.
    const lines = run.stderr.split("\n");
    for (const c of cases) {
      const named = lines.filter((l) => new RegExp(`(^|\\s)${c.tenant.name}(\\s|$)`).test(l));
      assert.equal(named.length, 1, `one progress line for ${c.tenant.name}:\n${run.stderr}`);
    }

    // Each step body ran exactly once per tenant: the pending ones, on the upgraded only.
    for (const c of cases) {
      if (c.stamp === null) continue;
      const expected = c.status === "upgraded" ? pendingFrom(c.stamp) : [];
      assert.deepEqual(await runsOf(c.tenant), expected, c.tenant.name);
    }
    afterFirst = await snapshots(cases);
    for (const c of cases.filter((c) => c.status === "upgraded" || c.status === "current"))
      assert.equal(afterFirst.get(c.tenant.name)!.stamp, FLEET_VERSION, c.tenant.name);
  });

  test("--resume upgrades the failed tenant alone once its poison is dropped; the others are not touched", async () => {
    assert.ok(firstRun, "the first run recorded an id");
    const poisoned = cases.find((c) => c.poison)!;
    await dropPoison(poisoned.tenant);
    const run = await project.run("upgrade", "--resume", firstRun, "--concurrency", "4", "--yes", "--json");
    assertNoSecret(`${run.stdout}\n${run.stderr}`, "the output");
    // pg-down is still unreachable (retried, recorded unreachable): exit 1.
    assert.equal(run.code, 1, run.stderr);
    const out = run.json() as { run: string; results: Result[] };
    assert.match(out.run, RUN_ID);
    assert.notEqual(out.run, firstRun);
    assert.equal(out.results.length, cases.length);
    const retried = new Set(["failed", "unreachable", "skipped"]);
    for (const c of cases) {
      const result = resultOf(out.results, c.tenant.name);
      if (c === poisoned) {
        assert.equal(result.status, "upgraded", JSON.stringify(result));
        assert.equal(result.from, "2.0.0");
        assert.equal(result.to, FLEET_VERSION);
        assert.equal(result.stepsApplied, 1);
        assert.equal(result.error, null);
      } else {
        assertResult(result, c);
      }
      if (retried.has(c.status)) assert.notEqual(result.resumed, false, c.tenant.name);
      else assert.equal(result.resumed, false, c.tenant.name);
    }
    // Progress as JSON lines on stderr: one target:done per tenant the resume worked on.
    const done = events(run).filter((e) => e.event === "target:done");
    assert.deepEqual(done.map((e) => e.name).sort(), [poisoned.tenant.name, "pg-down"].sort());

    const record = readRecord(project, out.run);
    assert.equal(record.resumes, firstRun);
    assert.deepEqual(record.results, out.results);

    const now = await snapshots(cases);
    for (const c of cases) {
      if (c.stamp === null) continue;
      const before = afterFirst.get(c.tenant.name)!;
      if (c !== poisoned) {
        assert.deepEqual(now.get(c.tenant.name), before, `${c.tenant.name} was not touched`);
        continue;
      }
      const fixed = now.get(c.tenant.name)!;
      assert.equal(fixed.stamp, FLEET_VERSION);
      assert.deepEqual(fixed.runs, ["3.0.0/c"], "the failed step ran once, after the fix");
      assert.ok(fixed.ledger.includes("3.0.0/c:applied"), fixed.ledger.join(", "));
    }
  });

  for (const onError of ["stop", "continue"] as const) {
    test(`--canary 2 --on-error ${onError}: a failed canary leaves the other tenants skipped; resume finishes them`, async () => {
      const canaries = Array.from({ length: 8 }, (_, i): Case => {
        const t = tenant(project, "sqlite", `canary-${onError}-${i + 1}`);
        return { tenant: t, stamp: "1.0.0", poison: i === 1, status: i === 0 ? "upgraded" : "skipped" };
      });
      const canaryCases = canaries.map((c) => (c.poison ? { ...c, status: "failed" as const } : c));
      await prepare(project, canaryCases);
      const file = `canary-${onError}.txt`;
      writeTargetsFile(
        project,
        file,
        canaryCases.map((c) => c.tenant),
      );
      const before = await snapshots(canaryCases);
      const run = await project.run(
        "upgrade",
        "--targets",
        file,
        "--canary",
        "2",
        "--on-error",
        onError,
        "--concurrency",
        "4",
        "--yes",
        "--json",
      );
      assert.equal(run.code, 1, run.stderr);
      const out = run.json() as { run: string; results: Result[] };
      assert.equal(out.results.length, canaryCases.length);
      for (const c of canaryCases) {
        const result = resultOf(out.results, c.tenant.name);
        assert.equal(result.status, c.status, JSON.stringify(result));
        if (c.status === "skipped") {
          assert.deepEqual(
            await snapshotTenant(c.tenant),
            before.get(c.tenant.name),
            `${c.tenant.name} untouched`,
          );
        }
      }
      assert.equal(resultOf(out.results, canaryCases[1]!.tenant.name).error?.code, "E_STEP_FAILED");

      await dropPoison(canaryCases[1]!.tenant);
      const resumed = await project.run("upgrade", "--resume", out.run, "--yes", "--json");
      assert.equal(resumed.code, 0, resumed.stderr);
      const again = resumed.json() as { results: Result[] };
      for (const c of canaryCases) {
        const result = resultOf(again.results, c.tenant.name);
        assert.equal(result.status, "upgraded", JSON.stringify(result));
        assert.equal(result.resumed === false, c.status === "upgraded", c.tenant.name);
        assert.deepEqual(await runsOf(c.tenant), pendingFrom("1.0.0"), `${c.tenant.name}: each step once`);
      }
    });
  }
});
