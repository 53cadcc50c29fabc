/**
 * A fleet `upgrade` or `init` from start to end: a run id and its record (written after each
 * target), the rollout, progress, SIGINT/SIGTERM (finish those in flight, start no more), the
 * summary, `--json`'s `{ run, results }` and the exit code.
 */

import { isLockstepError, summaryOf } from "../../core/errors.js";
import { inTargetOrder, type ResumePlan } from "../../fleet/resume.js";
import { type RolloutOptions, runFleet } from "../../fleet/run-fleet.js";
import { createRunRecord, type RunRecord, runsDirOf, writeRunRecord } from "../../fleet/run-record.js";
import { countByStatus, fleetExitCode, whySkipped } from "../../fleet/summary.js";
import type { TargetResult } from "../../fleet/target-result.js";
import type { Target } from "../../fleet/targets.js";
import type { CommandRun } from "../command.js";
import { type StopSignal, signalExit } from "../output.js";
import type { Fleet } from "./fleet-context.js";
import { fleetProgress } from "./fleet-progress.js";
import { printFleetSummary } from "./fleet-summary.js";

/** One target's work: its own upgrader, lease, ledger and stamp. */
export type RunOne = (
  target: Target,
  signal: AbortSignal,
  warn: (message: string) => void,
) => Promise<TargetResult>;

/** What a fleet command runs. */
export interface FleetRunSpec {
  readonly command: "upgrade" | "init";
  readonly fleet: Fleet;
  readonly rollout: RolloutOptions;
  /** The command's options as the record keeps them (never a URL). */
  readonly options: Readonly<Record<string, unknown>>;
  readonly resume?: { readonly id: string; readonly plan: ResumePlan };
  readonly runOne: RunOne;
}

/** Runs the fleet and returns the exit code (130/143 after a signal). */
export async function runFleetCommand(run: CommandRun<object>, spec: FleetRunSpec): Promise<number> {
  const { output, streams } = run;
  const { fleet, resume } = spec;
  const plan = resume?.plan;
  const toRun = resume?.plan.run ?? fleet.targets;
  // Written before the first target: an unwritable runs folder stops the run with nothing done.
  const recorder = new Recorder(run, spec);
  const { id } = recorder;
  const progress = fleetProgress(output, id, toRun.length, spec.command);
  const stop = new AbortController();
  const unwatch = streams.signals?.watch((signal) => {
    progress.note(
      `${signal}: starting no more databases; those in flight stop at their next safe point; ${signal} again exits at once`,
    );
    stop.abort(signal);
  });
  const done: TargetResult[] = [];
  let ran: TargetResult[];
  try {
    ran = await runFleet(
      toRun,
      (target) => spec.runOne(target, stop.signal, (message) => progress.warn(target.name, message)),
      spec.rollout,
      {
        onStart: (target) => progress.started(target),
        onDone: (result) => {
          done.push(result);
          progress.done(result);
          recorder.update(inTargetOrder(fleet.targets, done, plan), (text) => progress.note(text));
        },
        stopped: () => stop.signal.aborted,
      },
    );
  } finally {
    unwatch?.();
    progress.stop();
  }
  const results = inTargetOrder(fleet.targets, ran, plan);
  const recordPath = recorder.finish(results);
  const signal = stop.signal.aborted ? String(stop.signal.reason) : undefined;
  const skipped = whySkipped(ran, spec.rollout.canary, signal);
  printFleetSummary(output, { id, recordPath, cwd: streams.cwd, command: spec.command, skipped }, results);
  output.result({
    run: id,
    command: spec.command,
    ...(resume && { resumes: resume.id }),
    record: recordPath,
    summary: countByStatus(results),
    results,
  });
  return stop.signal.aborted ? signalExit(stop.signal.reason as StopSignal) : fleetExitCode(results);
}

/** The run record as the run goes: written at the start, after each target, and at the end. */
class Recorder {
  readonly #dir: string;
  readonly #base: Omit<RunRecord, "finishedAt" | "results">;
  readonly #output: CommandRun<object>["output"];
  #path: string;
  #warned = false;

  /** Creates the record under a new id of its own. */
  constructor(run: CommandRun<object>, spec: FleetRunSpec) {
    const { fleet, resume } = spec;
    this.#output = run.output;
    this.#dir = runsDirOf(run.streams.cwd, run.streams.env, fleet.shared.runsDir);
    const base = {
      command: spec.command,
      appVersion: fleet.shared.appVersion,
      startedAt: new Date().toISOString(),
      source: fleet.source,
      cwd: fleet.cwd,
      options: { ...spec.options, ...spec.rollout },
      ...(resume && { resumes: resume.id }),
    };
    const results = resume ? inTargetOrder(fleet.targets, [], resume.plan) : [];
    const created = createRunRecord(this.#dir, { ...base, finishedAt: null, results });
    this.#base = { id: created.record.id, ...base };
    this.#path = created.path;
  }

  /** The run's id. */
  get id(): string {
    return this.#base.id;
  }

  /** After a target: a failed write is a coded warning (the run goes on), once. */
  update(results: readonly TargetResult[], note: (text: string) => void): void {
    try {
      this.#write(results, null);
    } catch (error) {
      this.#warn(error, note);
    }
  }

  /**
   * The last write, with every target's result; returns the record's path, or null when it
   * could not be written (a warning: the targets' results stand, and the exit code is theirs).
   */
  finish(results: readonly TargetResult[]): string | null {
    try {
      return this.#write(results, new Date().toISOString());
    } catch (error) {
      this.#warn(error, (text) => this.#output.note(text));
      return null;
    }
  }

  #warn(error: unknown, note: (text: string) => void): void {
    if (this.#warned) return;
    this.#warned = true;
    const code = isLockstepError(error) ? error.code : "E_RUN_RECORD";
    const message = isLockstepError(error) ? summaryOf(error) : String((error as Error).message);
    this.#output.event({ event: "warning", code, message });
    note(
      `${this.#output.c.yellow(`warning ${code}:`)} ${message}; the run goes on, its record is out of date (\`lockstep upgrade --resume\` needs it: set runsDir or LOCKSTEP_RUNS_DIR to a writable folder)`,
    );
  }

  #write(results: readonly TargetResult[], finishedAt: string | null): string {
    this.#path = writeRunRecord(this.#dir, { ...this.#base, finishedAt, results });
    return this.#path;
  }
}
