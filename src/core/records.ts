import { LOCKSTEP_VERSION } from "../version.js";
import type { HistoryAction, HistoryEntry, LedgerEntry } from "./adapter.js";
import type { EngineContext } from "./engine-context.js";
import type { Step, StepCounts } from "./step.js";

/** Who writes a record: the acting process and the code version it runs. */
export type RecordOrigin = Pick<EngineContext, "actor" | "codeVersion">;

/** A history entry for `action`, signed with who acted and which versions ran. */
export function historyEntry(
  origin: RecordOrigin,
  action: HistoryAction,
  fields: Partial<Pick<HistoryEntry, "version" | "step" | "outcome" | "durationMs" | "details">>,
): HistoryEntry {
  return {
    at: new Date().toISOString(),
    action,
    version: fields.version ?? null,
    step: fields.step ?? null,
    outcome: fields.outcome ?? "ok",
    durationMs: fields.durationMs ?? null,
    host: origin.actor.host,
    user: origin.actor.user,
    pid: origin.actor.pid,
    appVersion: origin.codeVersion,
    lockstepVersion: LOCKSTEP_VERSION,
    details: fields.details ?? null,
  };
}

/** The ledger entry recording `step` as applied or baselined (a baseline has no checksum). */
export function ledgerEntry(
  origin: RecordOrigin,
  step: Step<unknown>,
  kind: "applied" | "baselined",
  at: string,
  durationMs: number | null,
  counts: StepCounts | null,
): LedgerEntry {
  return {
    version: step.version,
    name: step.name,
    checksum: kind === "baselined" ? null : step.checksum,
    kind,
    appliedAt: at,
    durationMs,
    appVersion: origin.codeVersion,
    counts,
  };
}
