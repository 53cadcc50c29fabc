import type { Adapter, DatabaseState, HistoryEntry } from "./adapter.js";
import { RefusedError } from "./errors.js";
import { stepId } from "./registry.js";
import type { Step } from "./step.js";
import { compareVersions } from "./versions.js";

/**
 * Is lockstep's own store damaged? The rule (README, "When lockstep's store is damaged"):
 * 1. some of lockstep's tables/collections exist and others do not — except the seed's
 *    layout, the stamp's table alone — (e.g. markers dropped while a step is INTERRUPTED);
 * 2. a step at or below the stamp (a contract step excepted: deferred) is missing from the ledger while history records it
 *    as run, baselined or resolved applied (a ledger row deleted by hand).
 * Either way nothing may run: a re-run could repeat a step that is not idempotent.
 * Returns the sentence saying what is damaged, or null.
 */
export async function findStoreDamage(
  adapter: Adapter<unknown>,
  state: DatabaseState,
  steps: readonly Step<unknown>[],
): Promise<string | null> {
  const missing = state.missingStore ?? [];
  const seedLayout = missing.length === 4 && !missing.includes("state");
  if (missing.length > 0 && missing.length < 5 && !seedLayout) {
    return `lockstep's ${missing.join(", ")} table(s) are missing while its others exist`;
  }
  if (state.stamp === null || !state.hasLedger) return null;
  const ledger = new Set(state.ledger.map((entry) => stepId(entry.version, entry.name)));
  // A contract step below the stamp missing from the ledger is deferred (waiting for older
  // code to leave), not lost: it never costs a history read.
  const below = steps.filter(
    (s) => s.phase !== "contract" && compareVersions(s.version, state.stamp!) <= 0 && !ledger.has(s.id),
  );
  if (below.length === 0) return null;
  const recorded = recordedSteps(await adapter.readHistory());
  const lost = below.filter((s) => recorded.has(s.id)).map((s) => s.id);
  return lost.length > 0
    ? `history records ${lost.join(", ")} as done but the ledger has no row for ${lost.length === 1 ? "it" : "them"}`
    : null;
}

/** Steps history records as applied: succeeded, baselined, or resolved as applied. */
function recordedSteps(history: readonly HistoryEntry[]): Set<string> {
  const out = new Set<string>();
  for (const e of history) {
    if (e.action === "step_succeeded" && e.version && e.step) out.add(stepId(e.version, e.step));
    if (e.action === "resolve" && e.details?.outcome === "applied" && e.version && e.step)
      out.add(stepId(e.version, e.step));
    if (e.action === "baseline" && Array.isArray(e.details?.steps))
      for (const id of e.details.steps) out.add(String(id));
  }
  return out;
}

/** The next command for a damaged store: never a re-run. */
export function storeDamageHint(stamp: string | null): string {
  return `nothing was run; \`lockstep history\` shows what ran. Once the listed steps' work is confirmed in the database, \`lockstep init --version ${stamp ?? "<version>"} --force\` recreates lockstep's missing tables and records every step up to it as baselined (an interrupted step: \`lockstep resolve\` after that)`;
}

/** The refusal `plan` and `upgrade` throw on a damaged store. */
export function storeDamagedError(damage: string, stamp: string | null): RefusedError {
  return new RefusedError("E_STORE_DAMAGED", `lockstep's store is damaged: ${damage}`, {
    hint: storeDamageHint(stamp),
  });
}
