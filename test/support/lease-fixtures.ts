/** The lease request and history entry the SQL adapter suites write with. */
import type { HistoryEntry, LeaseRequest } from "../../src/core/adapter.js";

/** A lease request by `owner` from a host that is not this one. */
export const request = (owner: string, ttlMs = 60_000): LeaseRequest => ({
  owner,
  host: "test-host",
  pid: 4242,
  user: "ops",
  ttlMs,
});

/** A lease request by `owner` on `host` (pid 4242, a minute's lease): a holder elsewhere. */
export const leaseRequestFrom = (host: string, owner: string): LeaseRequest => ({ ...request(owner), host });

/** One history entry: a stamp of 1.0.0. */
export const entry: HistoryEntry = {
  at: new Date().toISOString(),
  action: "stamp",
  version: "1.0.0",
  step: null,
  outcome: "ok",
  durationMs: null,
  host: "test-host",
  user: "ops",
  pid: 4242,
  appVersion: "1.0.0",
  lockstepVersion: "0.0.0",
  details: null,
};
