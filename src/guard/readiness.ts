/**
 * `lockstepReadiness(guard)`: a plain Node `(req, res)` handler for a READINESS probe (never
 * liveness: a liveness probe failing while the database is upgraded would restart the app,
 * and the upgrader with it). 200 once the guard is done and the database is current or
 * compatible with this code, else 503; the JSON body says why. The database read behind it
 * (status and live instances) is cached for a few seconds, so probes do not load the database.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { isLockstepError } from "../core/errors.js";
import { liveInstances, type ReleaseGroup, summariseInstances } from "../core/instances.js";
import type { StatusReport } from "../core/planner.js";
import { type DatabaseGuard, isDatabaseGuard, startDatabaseGuard } from "./background-guard.js";
import { type GuardResult, guardContext } from "./check-database.js";
import type { CheckDatabaseOptions } from "./guard-options.js";

/** The readiness answer's body. */
export interface ReadinessBody {
  readonly ready: boolean;
  /** The guard's state: starting, ready or failed. */
  readonly guard: "starting" | "ready" | "failed";
  /** The database's status (STARTING while the guard runs, the error code once it failed). */
  readonly status: string;
  readonly message: string;
  readonly codeVersion: string | null;
  readonly stamp: string | null;
  readonly floor: string | null;
  readonly pending: readonly string[];
  readonly deferred: readonly string[];
  /** Live instances grouped by release, newest first. */
  readonly releases: readonly ReleaseGroup[];
  readonly bypassed: boolean;
}

/** The handler, usable as is in `http.createServer`, Express, Connect, Koa's `ctx.req/res`. */
export interface ReadinessHandler {
  (req: IncomingMessage, res: ServerResponse): void;
  /** The guard behind it. */
  readonly guard: DatabaseGuard;
  /** The answer without HTTP: `{ statusCode, body }`. */
  check(): Promise<{ statusCode: 200 | 503; body: ReadinessBody }>;
  /** Fastify: `app.get("/ready", readiness.fastify)` (hijacks the reply and answers on `reply.raw`). */
  fastify(request: { raw: IncomingMessage }, reply: { raw: ServerResponse; hijack(): void }): void;
}

/** Options of {@link lockstepReadiness}. */
export interface ReadinessOptions {
  /** How long one database read answers probes (ms). Default 5000. */
  readonly cacheMs?: number;
}

/** Statuses this code may serve on. */
const SERVING = new Set<StatusReport["status"]>(["CURRENT", "DEV", "AUTO_STAMPED", "AHEAD_COMPATIBLE"]);

/** Is a report one this code may serve on? (UPGRADING counts when the upgrade keeps it compatible.) */
export function servable(report: StatusReport): boolean {
  return SERVING.has(report.status) || (report.status === "UPGRADING" && report.compatible);
}

/**
 * The readiness handler for `guard` (a {@link startDatabaseGuard} or the options to start
 * one with). Answers 200 or 503 with a {@link ReadinessBody}.
 */
export function lockstepReadiness<TDb>(
  guardOrOptions: DatabaseGuard | CheckDatabaseOptions<TDb>,
  options: ReadinessOptions = {},
): ReadinessHandler {
  const guard = isDatabaseGuard(guardOrOptions) ? guardOrOptions : startDatabaseGuard(guardOrOptions);
  const cacheMs = options.cacheMs ?? 5_000;
  let cached: { at: number; answer: Promise<ReadinessBody> } | undefined;
  const check = async () => {
    const state = guard.state();
    let body: ReadinessBody;
    if (state !== "ready" || guard.result === undefined) body = notReady(guard);
    else {
      if (cached === undefined || Date.now() - cached.at >= cacheMs) {
        cached = { at: Date.now(), answer: readBody(guard.result) };
      }
      body = await cached.answer;
    }
    return { statusCode: body.ready ? (200 as const) : (503 as const), body };
  };
  const handler = ((_req: IncomingMessage, res: ServerResponse) => {
    check().then(
      ({ statusCode, body }) => answer(res, statusCode, body),
      (error: Error) => answer(res, 503, { ...notReady(guard), status: "ERROR", message: error.message }),
    );
  }) as ReadinessHandler;
  return Object.assign(handler, {
    guard,
    check,
    fastify(request: { raw: IncomingMessage }, reply: { raw: ServerResponse; hijack(): void }) {
      reply.hijack();
      handler(request.raw, reply.raw);
    },
  });
}

function answer(res: ServerResponse, statusCode: number, body: ReadinessBody): void {
  res.statusCode = statusCode;
  res.setHeader("content-type", "application/json; charset=utf-8");
  res.setHeader("cache-control", "no-store");
  res.end(JSON.stringify(body));
}

function notReady(guard: DatabaseGuard): ReadinessBody {
  const failed = guard.state() === "failed";
  const error = guard.error;
  return {
    ready: false,
    guard: failed ? "failed" : "starting",
    status: failed ? (isLockstepError(error) ? error.code : "FAILED") : "STARTING",
    message: failed
      ? `the start-up guard failed: ${(error as Error)?.message ?? String(error)}`
      : "the start-up guard is still checking (or upgrading) the database",
    codeVersion: null,
    stamp: null,
    floor: null,
    pending: [],
    deferred: [],
    releases: [],
    bypassed: false,
  };
}

/** One read of the status and the live instances, on the guard's connection queue. */
async function readBody(result: GuardResult): Promise<ReadinessBody> {
  const context = guardContext(result);
  if (context === undefined) return bodyOf(result.report, [], result.bypassed);
  const { upgrader, queue, actor } = context;
  try {
    return await queue.use(async (adapter) => {
      try {
        const report = await upgrader.status();
        const live = await liveInstances(adapter, actor);
        return bodyOf(report, summariseInstances(live), result.bypassed);
      } finally {
        await upgrader.close();
      }
    });
  } catch (error) {
    return {
      ...bodyOf(result.report, [], result.bypassed),
      ready: result.bypassed,
      status: isLockstepError(error) ? error.code : "ERROR",
      message: `could not read the database: ${(error as Error).message}`,
    };
  }
}

function bodyOf(report: StatusReport, releases: ReleaseGroup[], bypassed: boolean): ReadinessBody {
  return {
    ready: bypassed || servable(report),
    guard: "ready",
    status: report.status,
    message: report.message,
    codeVersion: report.codeVersion,
    stamp: report.stamp,
    floor: report.floor,
    pending: report.pending,
    deferred: report.deferred,
    releases,
    bypassed,
  };
}
