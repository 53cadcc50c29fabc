/**
 * The stamp as an adapter reads it back: parsed on the way in (STYLE.md rule 14), so a
 * stamp that is not a version is a coded error where it is read, never a `TypeError`
 * three frames later.
 */
import { StampInvalidError } from "./errors.js";
import { pep440ToSemver } from "./pep440.js";
import { normaliseVersion } from "./versions.js";

/** How an adapter treats a stamp that is not a version. */
export interface ReadStateOptions {
  /**
   * Read such a stamp as unstamped (null) instead of throwing E_STAMP_INVALID. Only
   * `init --force`, which overwrites the stamp, asks for this.
   */
  readonly ignoreInvalidStamp?: boolean;
}

/**
 * The stored stamp `raw`, read from `location` (e.g. `lockstep_state.version`), as canonical
 * semver; null when unstamped (missing, null or empty). A semver string is kept as it is; a
 * PEP 440 string (the seed writes `str(packaging.Version)`) is mapped by
 * {@link pep440ToSemver}. Anything else is an E_STAMP_INVALID naming the raw value, unless
 * `options.ignoreInvalidStamp`.
 */
export function parseStamp(raw: unknown, location: string, options: ReadStateOptions = {}): string | null {
  if (raw === undefined || raw === null || raw === "") return null;
  const converted = typeof raw === "string" ? toSemver(raw) : null;
  if (converted !== null) return normaliseVersion(converted, location);
  if (options.ignoreInvalidStamp) return null;
  throw new StampInvalidError(raw, location);
}

function toSemver(raw: string): string | null {
  try {
    return normaliseVersion(raw, "the stamp");
  } catch {
    return pep440ToSemver(raw);
  }
}
