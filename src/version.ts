import { readFileSync } from "node:fs";

/** lockstep's own version, recorded in every history entry. */
export const LOCKSTEP_VERSION: string = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
).version;
