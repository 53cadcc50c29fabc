/**
 * The read-only pass `status --targets` and `plan --targets` share: each target opened,
 * read and closed (`--concurrency` at once), and a target that could not be read kept with
 * its error and the exit code the one-database command gives for it.
 */
import type { Upgrader } from "../../core/upgrader.js";
import { pool } from "../../fleet/pool.js";
import { statusOfError } from "../../fleet/target-result.js";
import type { Target } from "../../fleet/targets.js";
import { EXIT } from "../output.js";
import { type Fleet, withTarget } from "./fleet-context.js";

/** One target read: what `read` returned, or why it could not (exit 1 an error, 3 refused or unreachable). */
export type TargetRead<T> =
  | { readonly ok: true; readonly target: Target; readonly value: T }
  | { readonly ok: false; readonly target: Target; readonly error: unknown; readonly code: number };

/** Reads every target of `fleet`, `concurrency` at once; the results in the targets' order. */
export async function readTargets<T>(
  fleet: Fleet,
  concurrency: number,
  read: (upgrader: Upgrader<any>) => Promise<T>,
): Promise<TargetRead<T>[]> {
  const reads: TargetRead<T>[] = [];
  await pool(fleet.targets, concurrency, async (target, i) => {
    try {
      reads[i] = { ok: true, target, value: await withTarget(fleet, target, () => undefined, read) };
    } catch (error) {
      reads[i] = {
        ok: false,
        target,
        error,
        code: statusOfError(error) === "failed" ? EXIT.error : EXIT.refused,
      };
    }
  });
  return reads;
}
