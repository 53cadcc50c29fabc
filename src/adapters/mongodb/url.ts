/**
 * What a MongoDB URL tells lockstep beyond what the driver reads: the database in its path,
 * and lockstep's own `app` and `stampId` query parameters, split off before the driver sees
 * the URL (it refuses options it does not know).
 */
import { DatabaseError } from "../../core/errors.js";
import { takeLockstepParams } from "../url.js";

/** lockstep's query parameters of a MongoDB URL, which the driver would refuse. */
const LOCKSTEP_URL_PARAMS = ["app", "stampId"] as const;

/** The stamp document's `_id` suffix in the seed's layout: `<app>_schema_version`. */
const STAMP_SUFFIX = "_schema_version";

/**
 * Splits lockstep's `app` and `stampId` query parameters off a MongoDB URL: the URL for
 * the driver (unchanged when it has neither) and their values.
 */
export function lockstepUrlParams(url: string): { driverUrl: string; app?: string; stampId?: string } {
  const { rest, params } = takeLockstepParams(url, LOCKSTEP_URL_PARAMS);
  if (params.size === 0) return { driverUrl: url };
  const app = params.get("app");
  const stampId = params.get("stampId");
  return { driverUrl: rest, ...(app && { app }), ...(stampId && { stampId }) };
}

/** The database named by a MongoDB URL's path, or null. */
export function databaseFromUrl(url: string): string | null {
  const match = /^mongodb(?:\+srv)?:\/\/[^/?]*\/([^?]*)/i.exec(url);
  const name = match?.[1] ? decodeURIComponent(match[1]) : "";
  return name === "" ? null : name;
}

/** The app a seed-shaped stamp `_id` names (`datalab_schema_version` names `datalab`), if any. */
export function appFromStampId(stampId: string | undefined): string | undefined {
  return stampId?.endsWith(STAMP_SUFFIX) ? stampId.slice(0, -STAMP_SUFFIX.length) : undefined;
}

/** A stamp option given both in the URL and in the options must agree: which one is meant is unclear. */
export function agreeWithUrl(
  name: string,
  option: string | undefined,
  fromUrl: string | undefined,
  url: string,
): void {
  if (option === undefined || fromUrl === undefined || option === fromUrl) return;
  throw new DatabaseError(
    "E_DATABASE_URL",
    `the MongoDB URL ${JSON.stringify(url)} says ${name}=${fromUrl}, the config (or options) say ${name}: "${option}"`,
    { hint: `name the stamp once: drop ?${name}= from the URL or \`${name}\` from the config's mongodb` },
  );
}
