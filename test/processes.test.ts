/**
 * Upgraders in separate OS processes (test/support/upgrade-child.ts) on one database:
 * racing upgraders apply each step exactly once; an upgrader killed inside a step leaves a
 * database that is either rolled back (atomic steps) or INTERRUPTED naming the step.
 */
import assert from "node:assert/strict";
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { isLockstepError } from "../src/core/errors.js";
import { type AdapterFixture, loadFixtures } from "./support/fixtures.js";
import { describeFixture, Harness, harnessTest } from "./support/harness.js";
import {
  KILL_STEP_ID,
  killStep,
  RACE_FROM,
  RACE_STEP_IDS,
  RACE_TARGET,
} from "./support/process-scenarios.js";

const CHILD = fileURLToPath(new URL("./support/upgrade-child.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** Runs per race test (issues 2 and 3 ask for 20); LOCKSTEP_RACE_RUNS lowers it for quick local runs. */
const RACE_RUNS = Number(process.env.LOCKSTEP_RACE_RUNS ?? 20);
const NO_WAIT_RUNS = Math.max(1, Math.ceil(RACE_RUNS / 4));

interface ChildResult {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
}

/** One line of a racer's report. */
type RaceReport = Record<string, any>;

class Child {
  readonly proc: ChildProcessWithoutNullStreams;
  readonly exited: Promise<ChildResult>;
  #buffer = "";
  #stderr = "";
  readonly #lines: string[] = [];
  #cursor = 0;
  #wake: (() => void)[] = [];
  #done = false;

  constructor(args: string[]) {
    this.proc = spawn(process.execPath, ["--import", "tsx", CHILD, ...args], { cwd: ROOT, env: process.env });
    this.proc.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      const parts = (this.#buffer + chunk).split("\n");
      this.#buffer = parts.pop() ?? "";
      this.#lines.push(...parts);
      this.#notify();
    });
    this.proc.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      this.#stderr += chunk;
    });
    this.exited = new Promise((resolve) => {
      this.proc.on("exit", (exitCode, signal) => {
        this.#done = true;
        this.#notify();
        resolve({ exitCode, signal, stderr: this.#stderr });
      });
    });
  }

  #notify(): void {
    for (const wake of this.#wake.splice(0)) wake();
  }

  /** The next line printed that matches; rejects if the child exits first. */
  async next(match: (line: string) => boolean, what: string): Promise<string> {
    for (;;) {
      while (this.#cursor < this.#lines.length) {
        const line = this.#lines[this.#cursor++]!;
        if (match(line)) return line;
      }
      if (this.#done) throw new Error(`child exited before printing ${what}: ${this.#stderr}`);
      await new Promise<void>((resolve) => this.#wake.push(resolve));
    }
  }

  waitFor(line: string): Promise<string> {
    return this.next((l) => l === line, line);
  }

  async report(): Promise<RaceReport> {
    return JSON.parse(await this.next((l) => l.startsWith("{"), "its JSON report")) as RaceReport;
  }

  send(line: string): void {
    this.proc.stdin.write(`${line}\n`);
  }

  kill(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill("SIGKILL");
  }
}

function processTests(fixture: AdapterFixture) {
  // Issue 2: two processes on one SQLite file; issue 3: eight on a server database.
  const racers = fixture.name === "sqlite" ? 2 : 8;

  async function initAt(h: Harness, version: string) {
    const u = await h.upgrader(version, []);
    await u.init();
    await u.close();
  }

  /**
   * Starts `racers` processes once and runs `rounds` races with them, each on a fresh
   * database: every racer opens it, then all are told "go" at once.
   */
  async function races(
    mode: "wait" | "nowait",
    holdMs: number,
    rounds: number,
    check: (h: Harness, reports: RaceReport[], round: number) => Promise<void>,
  ): Promise<ChildResult[]> {
    const children = Array.from(
      { length: racers },
      () => new Child([fixture.name, "-", "race", mode, String(holdMs)]),
    );
    try {
      await Promise.all(children.map((c) => c.waitFor("READY")));
      for (let round = 0; round < rounds; round++) {
        const h = await Harness.create(fixture);
        try {
          await initAt(h, RACE_FROM);
          for (const child of children) child.send(`open ${h.db.url}`);
          await Promise.all(children.map((c) => c.waitFor("OPENED")));
          for (const child of children) child.send("go");
          await check(h, await Promise.all(children.map((c) => c.report())), round);
        } finally {
          await h.dispose();
        }
      }
      for (const child of children) child.send("exit");
      return await Promise.all(children.map((c) => c.exited));
    } finally {
      for (const child of children) child.kill();
    }
  }

  async function assertAppliedOnce(h: Harness) {
    const marks = await h.marks();
    assert.deepEqual(
      [...marks].sort(),
      [...RACE_STEP_IDS].sort(),
      `each step marked once: ${marks.join(", ")}`,
    );
    const state = await h.state();
    const applied = state.ledger.filter((e) => e.kind === "applied").map((e) => `${e.version}/${e.name}`);
    assert.deepEqual(applied.sort(), [...RACE_STEP_IDS].sort());
    assert.equal(state.stamp, RACE_TARGET);
    assert.deepEqual(state.interrupted, []);
    const started = (await h.history()).filter((e) => e.action === "step_started");
    assert.equal(started.length, RACE_STEP_IDS.length, "no step was even started twice");
  }

  it(`${racers} processes racing upgrade() apply each step exactly once (${RACE_RUNS} runs)`, async (t) => {
    let waited = 0;
    const exits = await races("wait", 150, RACE_RUNS, async (h, reports, round) => {
      for (const r of reports) {
        assert.equal(r.ok, true, `run ${round}: a racer failed: ${JSON.stringify(r)}`);
        assert.ok(["upgraded", "current"].includes(r.outcome), `outcome ${r.outcome}`);
      }
      const winners = reports.filter((r) => r.outcome === "upgraded");
      assert.equal(winners.length, 1, `run ${round}: exactly one racer upgrades`);
      assert.deepEqual(winners[0]?.applied, [...RACE_STEP_IDS]);
      for (const loser of reports.filter((r) => r !== winners[0])) assert.deepEqual(loser.applied, []);
      waited += reports.filter((r) => r.waitedForLease === true).length;
      await assertAppliedOnce(h);
    });
    for (const exit of exits) assert.equal(exit.exitCode, 0, exit.stderr);
    // waitedForLease is not asserted: on SQLite a loser may sit in the busy handler until the winner is done.
    t.diagnostic(
      `${fixture.name}: ${RACE_RUNS} runs x ${racers} processes, 0 double applications, ${waited} racer-runs waited for the lease`,
    );
  });

  it(`with wait: false the losers fail with E_LOCK_HELD (${NO_WAIT_RUNS} runs)`, async (t) => {
    let refused = 0;
    // The winner holds its first step long enough for every loser to try.
    await races("nowait", 1_000, NO_WAIT_RUNS, async (h, reports, round) => {
      const winners = reports.filter((r) => r.outcome === "upgraded");
      assert.equal(winners.length, 1, `run ${round}: ${JSON.stringify(reports)}`);
      for (const r of reports.filter((x) => x !== winners[0])) {
        if (r.ok === true) {
          // Came in after the winner released: nothing left to do.
          assert.equal(r.outcome, "current");
        } else {
          assert.equal(r.code, "E_LOCK_HELD", JSON.stringify(r));
          refused++;
        }
      }
      await assertAppliedOnce(h);
    });
    assert.ok(refused > 0, "some loser was refused with E_LOCK_HELD");
    t.diagnostic(
      `${fixture.name}: ${refused} of ${NO_WAIT_RUNS * (racers - 1)} losers refused with E_LOCK_HELD`,
    );
  });

  describe("SIGKILL inside a step", () => {
    async function killInside(h: Harness, mode: "atomic" | "nonatomic", idempotent = false) {
      await initAt(h, RACE_FROM);
      const child = new Child([fixture.name, h.db.url, "kill", mode, idempotent ? "idempotent" : "-"]);
      try {
        await child.waitFor("STEP_STARTED");
      } finally {
        child.kill();
      }
      const result = await child.exited;
      assert.equal(result.signal, "SIGKILL", `the child died by SIGKILL: ${result.stderr}`);
    }

    const rerunStep = (h: Harness, transaction: boolean, idempotent = false) =>
      killStep((db, text) => h.db.mark(db, text), { transaction, idempotent });

    const test = harnessTest(fixture);

    test(
      fixture.atomicSteps
        ? "an atomic step leaves nothing behind and a rerun completes"
        : "a step on a database without transactions leaves INTERRUPTED naming it",
      async (h) => {
        await killInside(h, "atomic");
        const u = await h.upgrader("0.2.0", [rerunStep(h, true)]);
        if (fixture.atomicSteps) {
          assert.deepEqual(await h.marks(), [], "nothing of the killed step persisted");
          const state = await h.state();
          assert.equal(state.stamp, RACE_FROM);
          assert.deepEqual(state.interrupted, []);
          assert.ok(!state.ledger.some((e) => e.name === "slow"));
          const report = await u.status();
          assert.equal(
            report.status,
            "UPGRADE_PENDING",
            "a dead holder's lease is not an upgrade in progress",
          );
          assert.deepEqual(report.pending, [KILL_STEP_ID]);
          const started = Date.now();
          const result = await u.upgrade();
          // The dead child's lease lives 60 s: the rerun must have broken it, not waited.
          assert.ok(Date.now() - started < 30_000);
          assert.deepEqual(
            result.results.map((r) => `${r.step}:${r.status}`),
            [`${KILL_STEP_ID}:applied`],
          );
          assert.deepEqual(await h.marks(), [KILL_STEP_ID]);
          assert.equal((await u.status()).status, "CURRENT");
          const unlocks = (await h.history()).filter((e) => e.action === "unlock");
          if ((await h.adapter()).capabilities.leaseMode === "session-lock") {
            // The database dropped the dead session's lock itself: nothing to break.
            assert.equal(unlocks.length, 0);
          } else {
            assert.equal(unlocks.length, 1, "the dead holder's lease was broken and audited");
            assert.equal(unlocks[0]?.details?.automatic, true);
          }
        } else {
          const report = await u.status();
          assert.equal(report.status, "INTERRUPTED");
          assert.deepEqual(
            report.interrupted.map((m) => `${m.version}/${m.name}`),
            [KILL_STEP_ID],
          );
        }
      },
    );

    test("a transaction: false step leaves INTERRUPTED naming it; resolve --applied clears it", async (h) => {
      await killInside(h, "nonatomic");
      assert.deepEqual(await h.marks(), [KILL_STEP_ID], "its partial write stays");
      const u = await h.upgrader("0.2.0", [rerunStep(h, false)]);
      const report = await u.status();
      assert.equal(report.status, "INTERRUPTED");
      assert.deepEqual(
        report.interrupted.map((m) => `${m.version}/${m.name}`),
        [KILL_STEP_ID],
      );
      await assert.rejects(u.upgrade(), (e: unknown) => isLockstepError(e, "E_INTERRUPTED"));
      assert.deepEqual(await h.marks(), [KILL_STEP_ID], "the refused rerun did not run the step");
      await u.resolve(KILL_STEP_ID, "applied");
      const after = await u.status();
      assert.equal(after.status, "CURRENT");
      assert.deepEqual(after.interrupted, []);
      const history = await h.history();
      assert.ok(history.some((e) => e.action === "resolve" && e.details?.outcome === "applied"));
      assert.ok(history.some((e) => e.action === "step_started" && e.step === "slow"));
    });

    test("an idempotent step killed outside a transaction is retried by upgrade", async (h) => {
      await killInside(h, "nonatomic", true);
      const u = await h.upgrader("0.2.0", [rerunStep(h, false, true)]);
      assert.equal((await u.status()).status, "INTERRUPTED");
      const result = await u.upgrade();
      assert.deepEqual(
        result.results.map((r) => `${r.step}:${r.status}`),
        [`${KILL_STEP_ID}:applied`],
      );
      const report = await u.status();
      assert.equal(report.status, "CURRENT");
      assert.deepEqual(report.interrupted, []);
      assert.deepEqual(await h.marks(), [KILL_STEP_ID, KILL_STEP_ID], "the partial run and the retry");
    });
  });
}

for (const fixture of await loadFixtures()) {
  await describeFixture(fixture, describe, () => processTests(fixture));
}
