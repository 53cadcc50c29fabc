import type { DatabaseState, LeaseHandle, LedgerEntry } from "./adapter.js";
import type { EngineContext } from "./engine-context.js";
import { RefusedError } from "./errors.js";
import { historyEntry, ledgerEntry } from "./records.js";
import { stepId } from "./registry.js";
import type { Step } from "./step.js";
import { compareVersions } from "./versions.js";

/** What `init` did. */
export interface InitResult {
  readonly version: string;
  readonly previous: string | null;
}

/**
 * `init` under the lease: stamps `version` (and makes it the compatibility floor) and records
 * every step up to it as baselined.
 * A forced init to a lower version removes the baselines above it (so `--version 0.0.0`
 * undoes a mistaken init), and refuses when a step above it actually ran. Warns when the
 * database does not look like a new deployment whose schema is made elsewhere.
 */
export async function initDatabase<TDb>(
  engine: EngineContext<TDb>,
  steps: readonly Step<TDb>[],
  lease: LeaseHandle,
  options: { version: string; force: boolean },
): Promise<InitResult> {
  const { adapter } = engine;
  const { version, force } = options;
  await adapter.ensureStore();
  // --force rewrites the stamp, so it must not need to parse the old one (E_STAMP_INVALID).
  const state = await adapter.readState({ ignoreInvalidStamp: options.force });
  if (state.stamp !== null && !force) {
    throw new RefusedError("E_ALREADY_INITIALISED", `the database is already stamped ${state.stamp}`, {
      hint: `use \`lockstep upgrade\` to move it forward; \`lockstep init --version ${version} --force\` overwrites the stamp`,
    });
  }
  const above = state.ledger.filter((entry) => compareVersions(entry.version, version) > 0);
  refuseRanAbove(above, version);
  const known = new Set(state.ledger.map((entry) => stepId(entry.version, entry.name)));
  const baseline = steps.filter((step) => compareVersions(step.version, version) <= 0 && !known.has(step.id));
  const at = new Date().toISOString();
  await adapter.write(lease, async (writer) => {
    for (const entry of above) await writer.deleteLedgerEntry(entry.version, entry.name);
    for (const step of baseline)
      await writer.putLedgerEntry(ledgerEntry(engine, step, "baselined", at, null, null));
    // The data is in `version`'s format: that release is the oldest that can run on it.
    await writer.setFloor(version);
    await writer.setStamp(version);
    await writer.appendHistory(
      historyEntry(engine, "init", {
        version,
        details: {
          previous: state.stamp,
          force,
          ...(above.length > 0 && { removedBaselines: above.map((e) => stepId(e.version, e.name)) }),
        },
      }),
    );
  });
  engine.emit("stamped", { version, action: "init" });
  for (const message of initWarnings(state, baseline, version)) engine.emit("warning", { message });
  return { version, previous: state.stamp };
}

/** Steps above the new stamp that ran here (applied, or resolved by an operator) cannot be unrecorded. */
function refuseRanAbove(above: readonly LedgerEntry[], version: string): void {
  const ran = above.filter((entry) => entry.kind !== "baselined");
  if (ran.length === 0) return;
  const highest = ran.map((e) => e.version).reduce((a, b) => (compareVersions(a, b) >= 0 ? a : b));
  throw new RefusedError(
    "E_INIT_BELOW_APPLIED",
    `cannot stamp ${version}: ${ran.length} step(s) above it ran on this database (${ran.map((e) => stepId(e.version, e.name)).join(", ")})`,
    {
      hint: `lockstep never unrecords a step that ran: stamp at or above ${highest} (\`lockstep init --version ${highest} --force\`), or restore a backup taken before those steps`,
    },
  );
}

/**
 * Why this init may be a mistake: a database holding tables lockstep did not make looks like
 * an existing deployment (`--from-version`), and an empty one with steps to baseline is
 * likely a new deployment whose steps build the schema (`stepsBuildSchema`). Only for a
 * first init, and only when steps are baselined: a forced re-stamp is an operator's repair.
 */
export function initWarnings(
  state: DatabaseState,
  baseline: readonly Step<unknown>[],
  version: string,
): string[] {
  if (state.stamp !== null || baseline.length === 0 || state.userObjects === undefined) return [];
  const steps = `${baseline.length} step(s) up to ${version} (${baseline.map((s) => s.id).join(", ")})`;
  if (state.userObjects > 0) {
    return [
      `the database holds ${state.userObjects} table(s)/collection(s) lockstep did not create: this looks like an existing deployment, and init recorded ${steps} as baselined without running them; for a database from before lockstep, undo with \`lockstep init --force --version 0.0.0\` and run \`lockstep upgrade --from-version <the release it runs>\``,
    ];
  }
  return [
    `the database is empty (no table or collection besides lockstep's), yet ${steps} were recorded as baselined and will never run here; if the steps build the schema, undo with \`lockstep init --force --version 0.0.0\` and set \`stepsBuildSchema: true\` in the config (or run \`lockstep upgrade --from-version 0.0.0\`)`,
  ];
}
