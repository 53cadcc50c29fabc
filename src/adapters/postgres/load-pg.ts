import type pg from "pg";
import { loadDriver } from "../load-driver.js";

/** The pg module. */
export type Pg = typeof pg;

/**
 * Loads the pg driver (`E_DRIVER_MISSING` when it is not installed). As it loads, pg asks
 * whether it runs on Cloudflare: with no `navigator` (Node 20) it builds a `Response`, which
 * loads Node's whole fetch implementation, a tenth of `lockstep status`'s start-up. A
 * `navigator` naming Node, as Node 21 and later define it, stands in while pg loads, and is
 * removed after.
 */
export async function loadPg(): Promise<Pg> {
  if ("navigator" in globalThis) return loadDriver<Pg>("pg", "PostgreSQL");
  Object.defineProperty(globalThis, "navigator", {
    value: { userAgent: `Node.js/${process.versions.node.split(".")[0]}` },
    configurable: true,
    writable: true,
  });
  try {
    return await loadDriver<Pg>("pg", "PostgreSQL");
  } finally {
    delete (globalThis as { navigator?: unknown }).navigator;
  }
}
