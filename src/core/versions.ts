// The two functions, not the package index: its ~50 modules cost the CLI ~30 ms at start-up.
import compare from "semver/functions/compare.js";
import parse from "semver/functions/parse.js";
import { InvalidVersionError } from "./errors.js";

/**
 * A parsed version. lockstep's own type, so the public API does not expose `semver`'s
 * `SemVer` class (whose types are not a dependency of lockstep's users).
 */
export interface ParsedVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  readonly prerelease: readonly (string | number)[];
  readonly build: readonly string[];
  /** `major.minor.patch` with the prerelease, without build metadata. */
  readonly version: string;
}

/** The "start of history" version an unstamped database is compared from. */
export const BASELINE_VERSION = "0.0.0";

/**
 * Parses a semver string, accepting a leading `v` ("v1.2.0"). A malformed string is an
 * {@link InvalidVersionError} naming the string and where it came from (`source`).
 */
export function parseVersion(value: unknown, source: string): ParsedVersion {
  if (typeof value !== "string") throw new InvalidVersionError(String(value), source);
  const parsed = parse(value.trim().replace(/^v(?=\d)/, ""));
  if (parsed === null) throw new InvalidVersionError(value, source);
  const { major, minor, patch, prerelease, build, version } = parsed;
  return { major, minor, patch, prerelease: [...prerelease], build: [...build], version };
}

/** The canonical string of a version: no `v`, build metadata kept. */
export function formatVersion(version: ParsedVersion): string {
  return version.build.length > 0 ? `${version.version}+${version.build.join(".")}` : version.version;
}

/** Normalises a version string ("v1.2" is not accepted; "v1.2.0" becomes "1.2.0"). */
export function normaliseVersion(value: unknown, source: string): string {
  return formatVersion(parseVersion(value, source));
}

/**
 * A development or local build: a `dev` prerelease (`1.2.0-dev.3`, `1.2.0-dev`) or any
 * build metadata (`1.2.0+g019fc04`, what setuptools-scm and `git describe` produce).
 * As in the seed, such code is `DEV`: the start-up check never writes for it.
 */
export function isDevVersion(version: ParsedVersion): boolean {
  return (
    version.build.length > 0 ||
    version.prerelease.some((part) => typeof part === "string" && /^dev/i.test(part))
  );
}

/**
 * The release whose steps a code version needs.
 *
 * Release-candidate policy: a prerelease (`1.0.0-rc.1`, `1.0.0-beta.2`) runs on the data
 * of the release it leads to, so it needs every step up to and including `1.0.0`. Plain
 * semver would put `1.0.0-rc.1` below `1.0.0` and let the RC run on data that 1.0.0's steps
 * never upgraded; lockstep applies those steps instead. The stamp recorded is still the
 * prerelease itself, and the ledger keeps the final release from applying them twice.
 */
export function stepTarget(version: ParsedVersion): ParsedVersion {
  if (version.prerelease.length === 0) return version;
  const release = `${version.major}.${version.minor}.${version.patch}`;
  return { ...version, prerelease: [], build: [], version: release };
}

/** Semver comparison of two canonical version strings. */
export function compareVersions(a: string, b: string): number {
  return compare(a, b);
}
