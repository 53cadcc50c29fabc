/**
 * Rolling deploys, as pure functions: the compatibility floor (which releases can run on the
 * data), the contract steps waiting for older code to leave, and what an upgrade may do with
 * each step while older releases are live (apply, defer, or refuse).
 */
import type { DatabaseState, InstanceInfo, LedgerEntry } from "./adapter.js";
import { RefusedError } from "./errors.js";
import { olderThan, type ReleaseGroup, summariseInstances } from "./instances.js";
import { stepId } from "./registry.js";
import type { Step } from "./step.js";
import { compareVersions } from "./versions.js";

/** The floor of `state`: the stored one, else the stamp standing in for it (never guess). */
export function floorOf(state: DatabaseState): string | null {
  return state.floor ?? state.stamp;
}

/** F <= C <= S: this code can serve on this data without writing anything. */
export function isCompatible(state: DatabaseState, codeVersion: string): boolean {
  const floor = floorOf(state);
  if (state.stamp === null || floor === null) return false;
  return compareVersions(floor, codeVersion) <= 0 && compareVersions(codeVersion, state.stamp) <= 0;
}

/** What raised the floor for the stamp before floors existed, or by init / --from-version. */
export const FLOOR_BEFORE_FLOORS = "the stamp before floors were recorded";
export const FLOOR_RAISING = "an upgrade about to apply a step at that version";
export const FLOOR_BY_INIT = "init --version, --from-version or an earlier stamp";

/**
 * What set the floor: the ledger's steps at the floor's version (those this code knows as
 * expand left out, unless only they are there: adding `phase: "expand"` to a released step
 * does not rewrite why the floor is where it is), else the stamp standing in for a floor never
 * recorded, else init / --from-version (or the stamp a pre-floor database had when it first
 * moved), or an upgrade in progress (a floor above the stamp). Derived from what is stored;
 * empty when there is no floor.
 */
export function floorSetBy(state: DatabaseState, steps: readonly Step[] = []): string[] {
  const floor = floorOf(state);
  if (floor === null) return [];
  const at = state.ledger
    .filter((e: LedgerEntry) => compareVersions(e.version, floor) === 0 && e.kind !== "baselined")
    .map((e) => stepId(e.version, e.name));
  // Those this code knows as expand never raise it: named only when nothing else is there
  // (a step that had no phase when it ran and is marked expand now).
  const expand = new Set(steps.filter((s) => s.phase === "expand").map((s) => s.id));
  const raising = at.filter((id) => !expand.has(id));
  if (raising.length > 0) return raising;
  if (at.length > 0) return at;
  if (state.floorRecorded === false) return [FLOOR_BEFORE_FLOORS];
  // Raised by an upgrader for its next step, which has not committed yet.
  if (state.stamp !== null && compareVersions(floor, state.stamp) > 0) return [FLOOR_RAISING];
  return [FLOOR_BY_INIT];
}

/** Contract steps at or below the stamp that the ledger does not hold: waiting for older code to leave. */
export function deferredSteps<TDb>(state: DatabaseState, steps: readonly Step<TDb>[]): Step<TDb>[] {
  if (state.stamp === null || !state.hasLedger) return [];
  const ledger = new Set(state.ledger.map((e) => stepId(e.version, e.name)));
  return steps.filter(
    (s) => s.phase === "contract" && compareVersions(s.version, state.stamp!) <= 0 && !ledger.has(s.id),
  );
}

/**
 * How an upgrade treats older code: the flags of `upgrade --contract`, `--ignore-live`,
 * `--force`, `--allow-downtime`.
 */
export interface RollingMode {
  /** `upgrade --contract`: contract steps must apply now; older code live refuses. */
  readonly contract: boolean;
  /** With `contract`: apply contract steps even while older code is live (it also skips skippable preconditions). */
  readonly force: boolean;
  /** `--ignore-live`: apply contract steps even while older code is live; nothing else is overridden. */
  readonly ignoreLive?: boolean;
  /** Apply every step (no phase, contract) even while older code is live: it may break. */
  readonly allowDowntime: boolean;
}

/** The flag that let a step apply while older code is live (recorded in history). */
export type Override = "--ignore-live" | "--force" | "--allow-downtime";

/** What an upgrade does with one step, given the live instances. */
export interface StepDecision {
  readonly step: string;
  readonly version: string;
  readonly phase: Step["phase"] | null;
  /** apply: runs now; defer: a contract step left for later; refuse: the upgrade may not run. */
  readonly kind: "apply" | "defer" | "refuse";
  /** Live releases older than the step, grouped (what holds it back, or what was overridden). */
  readonly heldBy: readonly ReleaseGroup[];
  /** The deferred step this one waits behind, when it does. */
  readonly behind: string | null;
  /** The flag that let it apply while older code is live. */
  readonly override: Override | null;
}

/**
 * Decides each step in order. Expand steps always apply. A contract step with older code
 * live is deferred (with `contract`: refused unless `force`); a step without a phase is
 * refused. A non-expand step behind a deferred one (or `deferredBefore`) waits too. Older
 * means older than the step's version capped at `target` (see {@link floorFor}).
 * `allowDowntime` applies all.
 */
export function decideSteps(
  steps: readonly Step<unknown>[],
  live: readonly InstanceInfo[],
  mode: RollingMode,
  context: { target?: string; deferredBefore?: string | null } = {},
): StepDecision[] {
  let behind: string | null = context.deferredBefore ?? null;
  return steps.map((step) => {
    const heldBy = summariseInstances(olderThan(live, floorFor(step.version, context.target)));
    const base = { step: step.id, version: step.version, phase: step.phase ?? null, heldBy, behind: null };
    const decision = decideOne(step, heldBy.length > 0, behind, mode);
    if (decision.kind === "defer") behind ??= step.id;
    return { ...base, ...decision };
  });
}

function decideOne(
  step: Step<unknown>,
  held: boolean,
  behind: string | null,
  mode: RollingMode,
): Pick<StepDecision, "kind" | "behind" | "override"> {
  const apply = (override: StepDecision["override"] = null) => ({
    kind: "apply" as const,
    behind: null,
    override,
  });
  if (step.phase === "expand") return apply();
  if (mode.allowDowntime) return apply(held ? "--allow-downtime" : null);
  if (step.phase === "contract") {
    if (mode.ignoreLive === true) return apply(held ? "--ignore-live" : null);
    if (mode.contract && mode.force) return apply(held ? "--force" : null);
    if (mode.contract && held) return { kind: "refuse", behind: null, override: null };
    if (held || behind !== null) return { kind: "defer", behind, override: null };
    return apply();
  }
  if (held || behind !== null) return { kind: "refuse", behind, override: null };
  return apply();
}

/**
 * The floor a non-expand step at `version` needs: its version, capped at the upgrade's target
 * (a release candidate applies its release's steps, see versions.ts, and must still run).
 */
export function floorFor(version: string, target: string | undefined): string {
  return target !== undefined && compareVersions(version, target) > 0 ? target : version;
}

/** "1.0.0 ×3 on web-1, web-2; 1.1.0 ×1 on web-3". */
export function describeHolders(groups: readonly ReleaseGroup[]): string {
  return groups.map((g) => `${g.release} ×${g.count} on ${g.hosts.join(", ")}`).join("; ");
}

/** The refusal for the first refused decision, or null when every step may apply or wait. */
export function olderCodeRefusal(decisions: readonly StepDecision[]): RefusedError | null {
  const refused = decisions.find((d) => d.kind === "refuse");
  if (refused === undefined) return null;
  return olderCodeError(refused, "nothing was written");
}

/** What to do about a contract step older code holds; the CLI's flags and the library's options both. */
export const CONTRACT_HINT =
  "stop the older releases (a crashed one: `lockstep instances`, then `--forget <id>`, or wait until it expires), then `lockstep upgrade --contract` (CLI) / `upgrade({ contract: true })`; `--ignore-live` (CLI) / `ignoreLiveInstances: true` applies it anyway and is recorded in history";
const NO_PHASE_HINT =
  'roll out in two releases (mark additive steps `phase: "expand"` and cleanups `phase: "contract"`), or stop the older releases first; `--allow-downtime` (CLI) / `allowDowntime: true` applies it anyway (older code may fail) and is recorded in history';

/** E_OLDER_CODE_RUNNING for one step, naming the releases and hosts that hold it. */
export function olderCodeError(decision: StepDecision, written: string): RefusedError {
  const { step, heldBy, behind } = decision;
  const what =
    decision.phase === "contract"
      ? `contract step ${step} breaks older code, and older code is running: ${describeHolders(heldBy)}`
      : heldBy.length > 0
        ? `step ${step} has no phase (needed now and breaking), and older code is running: ${describeHolders(heldBy)}`
        : `step ${step} has no phase and waits behind the deferred contract step ${behind}`;
  const hint = decision.phase === "contract" ? CONTRACT_HINT : NO_PHASE_HINT;
  return new RefusedError("E_OLDER_CODE_RUNNING", `${what}; ${written}`, { hint });
}

/** The status of code below the floor: refused, naming the floor and what set it. */
export function aheadVerdict(
  state: DatabaseState,
  steps: readonly Step[],
  floor: string,
  codeVersion: string,
): { readonly status: "AHEAD"; readonly message: string; readonly next: string } {
  const setBy = floorSetBy(state, steps);
  const described = [FLOOR_BY_INIT, FLOOR_BEFORE_FLOORS, FLOOR_RAISING];
  const by =
    described.includes(setBy[0] ?? "") || setBy.length === 0 ? setBy.join(", ") : `step ${setBy.join(", ")}`;
  const stamp = state.stamp === floor ? "" : ` (stamp ${state.stamp})`;
  return {
    status: "AHEAD",
    message: `the database's compatibility floor is ${floor}${stamp}, set by ${by}: this code (${codeVersion}) is older and cannot run on it`,
    next: `run release ${floor} or newer`,
  };
}
