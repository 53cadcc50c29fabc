/**
 * The bench's four methods on one database, each on fresh data and each checked against the
 * example's model before its rate counts: (a) naive, (b) lockstep's batch helper and (d) its
 * set-based page mode, both through a real `lockstep upgrade` child, (c) one set-based statement.
 */
import type { ItemV1 } from "../examples/datalab/model.js";
import { expectedChecksum } from "./checksum.js";
import { runLockstep, stepFigures } from "./lockstep-run.js";
import type { BenchTarget } from "./target.js";

export const MB = 1024 * 1024;

/** One method's figures; `rate` is null when it could not run, with the reason. */
export interface MethodResult {
  readonly docs: number;
  readonly ms: number;
  readonly rate: number | null;
  readonly checksum: string;
  /** The data matched the model afterwards. */
  readonly ok: boolean;
  readonly note: string;
}

export interface LockstepResult extends MethodResult {
  readonly wallMs: number;
  readonly peakRssBytes: number;
}

export type Expected = ReturnType<typeof expectedChecksum>;

/** What the methods share: where progress goes and the bench's options for the lockstep child. */
export interface MethodOptions {
  readonly log: (line: string) => void;
  readonly pageSize?: number | undefined;
  readonly cpuProfDir?: string | undefined;
}

export function rate(docs: number, ms: number): number {
  return ms > 0 ? docs / (ms / 1000) : 0;
}

/** What a method that was not run reports. */
export function notRun(note: string): LockstepResult {
  return { docs: 0, ms: 0, rate: null, checksum: "", ok: true, note, wallMs: 0, peakRssBytes: 0 };
}

async function verify(
  target: BenchTarget,
  method: string,
  expected: string,
  log: (line: string) => void,
  limit?: number,
): Promise<{ checksum: string; ok: boolean }> {
  const checksum = await target.checksum(limit);
  const ok = checksum === expected;
  log(
    `  ${method}: checksum ${checksum} ${ok ? "matches the model" : `DIFFERS from the model's ${expected}`}`,
  );
  return { checksum, ok };
}

export async function runNaive(
  target: BenchTarget,
  items: readonly ItemV1[],
  limit: number,
  { log }: MethodOptions,
): Promise<MethodResult> {
  log(`${target.name}: (a) naive on the first ${limit} items`);
  const t = performance.now();
  await target.reset();
  log(`  fresh data in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const naive = await target.naive(limit);
  const check = await verify(target, "naive", expectedChecksum(items, limit).checksum, log, limit);
  return {
    ...naive,
    rate: check.ok ? rate(naive.docs, naive.ms) : null,
    checksum: check.checksum,
    ok: check.ok,
    note: naive.docs < items.length ? `first ${naive.docs} items only` : "",
  };
}

/** Fresh data, stamped 0.1.0 where the seed does not stamp it. */
export async function freshStamped(target: BenchTarget): Promise<void> {
  await target.reset();
  if (!target.needsInit) return;
  const init = await runLockstep(["init", "--version", "0.1.0", "--json"], { url: target.lockstepUrl });
  if (init.status !== 0) throw new Error(`lockstep init exited ${init.status}: ${init.stderr}${init.stdout}`);
}

/** (b) with step "js", (d) with step "set": `lockstep upgrade --target-version 0.2.0` in a child. */
export async function runLockstepUpgrade(
  target: BenchTarget,
  expected: Expected,
  step: "js" | "set",
  options: MethodOptions,
): Promise<LockstepResult> {
  const { log } = options;
  const method = step === "js" ? "lockstep" : "lockstep_set";
  log(`${target.name}: (${step === "js" ? "b" : "d"}) ${method}: lockstep upgrade --target-version 0.2.0`);
  await freshStamped(target);
  const run = await runLockstep(["upgrade", "--yes", "--target-version", "0.2.0", "--json"], {
    url: target.lockstepUrl,
    step,
    ...(options.pageSize !== undefined && { pageSize: options.pageSize }),
    ...(options.cpuProfDir !== undefined && {
      nodeFlags: ["--cpu-prof", `--cpu-prof-dir=${options.cpuProfDir}`],
    }),
  });
  if (run.status !== 0) throw new Error(`lockstep upgrade exited ${run.status}: ${run.stderr}${run.stdout}`);
  const figures = stepFigures(run, "0.2.0");
  log(
    `  step ${(figures.durationMs / 1000).toFixed(1)} s, process ${(run.wallMs / 1000).toFixed(1)} s, peak RSS ${(run.maxRssBytes / MB).toFixed(0)} MB, counts ${JSON.stringify(figures.counts)}`,
  );
  const check = await verify(target, method, expected.checksum, log);
  let ok = check.ok;
  // The set-based statement counts rows, not links: only the JS transform reports dangling ones.
  if (step === "js" && figures.counts.dangling !== expected.dangling) {
    log(`  lockstep counted ${figures.counts.dangling} dangling, the model ${expected.dangling}`);
    ok = false;
  }
  const docs = figures.counts.items ?? 0;
  return {
    docs,
    ms: figures.durationMs,
    rate: ok ? rate(docs, figures.durationMs) : null,
    checksum: check.checksum,
    ok,
    note: `whole process incl. start-up: ${rate(docs, run.wallMs).toFixed(0)} docs/s`,
    wallMs: run.wallMs,
    peakRssBytes: run.maxRssBytes,
  };
}

export async function runSingle(
  target: BenchTarget,
  expected: Expected,
  { log }: MethodOptions,
): Promise<MethodResult> {
  log(`${target.name}: (c) one set-based statement`);
  await target.reset();
  const single = await target.single();
  if (typeof single === "string") {
    log(`  not run: ${single}`);
    return notRun(single);
  }
  const check = await verify(target, "single", expected.checksum, log);
  return {
    ...single,
    rate: check.ok ? rate(single.docs, single.ms) : null,
    checksum: check.checksum,
    ok: check.ok,
    note: "",
  };
}
