/**
 * `lockstepReadiness(guard)`: a plain Node `(req, res)` handler for a READINESS probe (never
 * liveness: a liveness probe failing while the database is upgraded would restart the app,
 * and the upgrader with it). 200 once the guard is done and the database is current or
 * compatible with this code, else 503; the JSON body says why. The database read behind it
 * (status and live instances) is cached for a few seconds, so probes do not load the database.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { isLockstepError, summaryOf } from "../core/errors.js";
import { liveInstances, type ReleaseGroup, summariseInstances } from "../core/instances.js";
import type { StatusReport } from "../core/planner.js";
import {
  type DatabaseGuard,
  type DatabaseGuardOptions,
  type GuardState,
  isDatabaseGuard,
  startDatabaseGuard,
} from "./background-guard.js";
import { type GuardContext, type GuardResult, guardContext } from "./check-database.js";

/** The readiness answer's body. */
export interface ReadinessBody {
  readonly ready: boolean;
  /** The guard's state: starting, retrying, ready or failed. */
  readonly guard: GuardState;
  /**
   * The database's status (a status of the README's table); STARTING while the guard runs or
   * waits to try again, FAILED once it failed for good or when the database could not be read.
   */
  readonly status: StatusReport["status"] | "STARTING" | "FAILED";
  readonly message: string;
  /** The error behind a 503 that is not a status (a refusal being retried, a failed guard, an unreadable database). */
  readonly error: { readonly code: string; readonly message: string } | null;
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
  guardOrOptions: DatabaseGuard | DatabaseGuardOptions<TDb>,
  options: ReadinessOptions = {},
): ReadinessHandler {
  const guard = isDatabaseGuard(guardOrOptions) ? guardOrOptions : startDatabaseGuard(guardOrOptions);
  const cacheMs = options.cacheMs ?? 5_000;
  let cached: { at: number; answer: Promise<ReadinessBody> } | undefined;
  const contracted = contractionNotice();
  const check = async () => {
    const state = guard.state();
    let body: ReadinessBody;
    if (state !== "ready" || guard.result === undefined) body = notReady(guard);
    else {
      if (cached === undefined || Date.now() - cached.at >= cacheMs) {
        cached = { at: Date.now(), answer: readBody(guard.result, contracted) };
      }
      body = await cached.answer;
    }
    return { statusCode: body.ready ? (200 as const) : (503 as const), body };
  };
  const handler = ((_req: IncomingMessage, res: ServerResponse) => {
    check().then(
      ({ statusCode, body }) => answer(res, statusCode, body),
      (error: Error) =>
        answer(res, 503, {
          ...notReady(guard),
          status: "FAILED",
          message: error.message,
          error: errorOf(error),
        }),
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
  const state = guard.state();
  const retrying = guard.retrying;
  const message =
    state === "failed"
      ? `the start-up guard failed: ${errorText(guard.error)}`
      : retrying !== undefined
        ? `the start-up guard was refused (attempt ${retrying.attempt}) and tries again at ${retrying.nextAttemptAt}: ${summaryOf(retrying.error)}`
        : "the start-up guard is still checking (or upgrading) the database";
  return {
    ready: false,
    guard: state === "ready" ? "starting" : state,
    status: state === "failed" ? "FAILED" : "STARTING",
    message,
    error:
      state === "failed" ? errorOf(guard.error) : retrying !== undefined ? errorOf(retrying.error) : null,
    codeVersion: guard.codeVersion ?? null,
    stamp: null,
    floor: null,
    pending: [],
    deferred: [],
    releases: [],
    bypassed: false,
  };
}

function errorOf(error: unknown): { code: string; message: string } {
  return isLockstepError(error)
    ? { code: error.code, message: summaryOf(error) }
    : { code: "E_UNEXPECTED", message: errorText(error) };
}

function errorText(error: unknown): string {
  return (error as Error)?.message ?? String(error);
}

/**
 * Says once (logger.error, stderr without a logger) that the data was contracted below this
 * code's release: the replica turns 503 for good and should be replaced by a newer one.
 */
function contractionNotice(): (report: StatusReport, context: GuardContext) => void {
  let said = false;
  return (report, context) => {
    if (report.status !== "AHEAD") {
      said = false;
      return;
    }
    if (said) return;
    said = true;
    context.reporter.error(
      `lockstep: the database moved past this release while it ran: ${report.message}; readiness answers 503 from now on (replace this replica with a newer release)`,
    );
  };
}

/** One read of the status and the live instances, on the guard's connection queue. */
async function readBody(
  result: GuardResult,
  contracted: (report: StatusReport, context: GuardContext) => void,
): Promise<ReadinessBody> {
  const context = guardContext(result);
  if (context === undefined) return bodyOf(result.report, [], result.bypassed);
  const { upgrader, queue, actor } = context;
  try {
    return await queue.use(async (adapter) => {
      try {
        const report = await upgrader.status();
        if (result.report.status !== "AHEAD") contracted(report, context);
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
      status: "FAILED",
      message: `could not read the database: ${errorText(error)}`,
      error: errorOf(error),
    };
  }
}

function bodyOf(report: StatusReport, releases: ReleaseGroup[], bypassed: boolean): ReadinessBody {
  return {
    ready: bypassed || servable(report),
    guard: "ready",
    status: report.status,
    message: report.message,
    error: null,
    codeVersion: report.codeVersion,
    stamp: report.stamp,
    floor: report.floor,
    pending: report.pending,
    deferred: report.deferred,
    releases,
    bypassed,
  };
}
