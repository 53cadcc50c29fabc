import { UsageError } from "./errors.js";

/**
 * Checks `history({ limit })`: a positive integer, or none for every entry. Adapters read
 * 0, negative and fractional limits four different ways, so they never see one.
 */
export function checkHistoryLimit(limit: number | undefined): number | undefined {
  if (limit === undefined || (Number.isSafeInteger(limit) && limit > 0)) return limit;
  throw new UsageError("E_INVALID_OPTION", `history limit ${String(limit)} is not a positive integer`, {
    hint: "give --limit a whole number of entries, 1 or more (omit it for the whole history)",
  });
}
