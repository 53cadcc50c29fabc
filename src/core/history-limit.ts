import { ConfigError } from "./errors.js";

/**
 * Checks the `limit` of a history read: a positive integer (the newest `limit` entries), or
 * undefined for the whole history. Each adapter read 0 and negative limits its own way (all,
 * none, an error), so the one rule lives here, called by the CLI and by `Upgrader.history`.
 * `source` names the option in the error ("--limit", "history({ limit })").
 */
export function validateHistoryLimit(limit: unknown, source = "history({ limit })"): number | undefined {
  if (limit === undefined) return undefined;
  const n = typeof limit === "string" && limit.trim() !== "" ? Number(limit) : limit;
  if (typeof n === "number" && Number.isSafeInteger(n) && n > 0) return n;
  throw new ConfigError("E_CONFIG_INVALID", `${source} ${JSON.stringify(limit)} is not a positive integer`, {
    hint: "give the number of newest entries to show, e.g. 20; leave it out for the whole history",
  });
}
