/**
 * What the guard says while it works: to the app's logger (console, pino…), to its listeners,
 * or both. Waiting replicas say for whom they wait; the one that upgrades says each step.
 */
import type { GuardBehaviour, GuardListeners } from "../core/guard-behaviour.js";
import type { CheckResult } from "../core/reports.js";
import type { Upgrader } from "../core/upgrader.js";

/** How often a waiting replica repeats that it waits. */
const WAITING_EVERY_MS = 5_000;

/** Sends the guard's events to the logger and listeners; a throwing listener is ignored. */
export class GuardReporter {
  readonly #behaviour: GuardBehaviour;
  #lastWaiting = Number.NEGATIVE_INFINITY;
  #upgrading = false;

  constructor(behaviour: GuardBehaviour) {
    this.#behaviour = behaviour;
  }

  /** Subscribes to the upgrader's events for the length of the check. */
  attach(upgrader: Upgrader<any>): void {
    upgrader.on("warning", ({ message }) => this.warning(message));
    upgrader.on("lease:waiting", ({ holder, waitedMs }) => {
      const now = Date.now();
      if (now - this.#lastWaiting < WAITING_EVERY_MS) return;
      this.#lastWaiting = now;
      const whom = holder ? `${holder.owner} (pid ${holder.pid} on ${holder.host})` : "another upgrader";
      const message = `lockstep: waiting for ${whom} to finish upgrading the database (${Math.round(waitedMs / 1000)} s so far)`;
      this.#log("info", message);
      this.#call("waiting", {
        holder: holder ? { owner: holder.owner, host: holder.host, pid: holder.pid } : null,
        waitedMs,
        message,
      });
    });
    upgrader.on("step:started", ({ step, index, total, dryRun }) => {
      if (dryRun) return;
      if (!this.#upgrading) {
        this.#upgrading = true;
        const message = `lockstep: upgrading the database to ${upgrader.codeVersion} (${total} step(s))`;
        this.#log("info", message);
        this.#call("upgrading", { steps: total, message });
      }
      this.#log("info", `lockstep: step ${index + 1}/${total} ${step} started`);
    });
    upgrader.on("step:finished", (result) => {
      if (result.status !== "applied") return;
      const message = `lockstep: applied ${result.step}${result.durationMs === null ? "" : ` in ${result.durationMs} ms`}`;
      this.#log("info", message);
      this.#call("stepApplied", { ...result, message });
    });
  }

  /** A warning: logger.warn, `on.warning`, `onWarning`. */
  warning(message: string, log = true): void {
    if (log) this.#log("warn", `lockstep: ${message}`);
    this.#call("warning", { message });
    try {
      this.#behaviour.onWarning?.(message);
    } catch {
      // A listener's failure never stops the guard.
    }
  }

  /** A loud line (the bypass, a failed guard): logger.error, or stderr without a logger. */
  error(message: string): void {
    this.#log("error", message);
  }

  /** The guard finished. */
  done(result: CheckResult): void {
    const message = `lockstep: database ${result.status}; ${describeAction(result)}`;
    this.#log("info", message);
    this.#call("done", { ...result, message });
  }

  #log(level: "info" | "warn" | "error", message: string): void {
    try {
      // With no logger, an error line (the bypass, a guard that failed for good) goes to stderr:
      // it must not vanish.
      if (this.#behaviour.logger === undefined && level === "error") console.error(message);
      else this.#behaviour.logger?.[level](message);
    } catch {
      // A logger's failure never stops the guard.
    }
  }

  #call<K extends keyof GuardListeners>(name: K, event: Parameters<NonNullable<GuardListeners[K]>>[0]): void {
    try {
      (this.#behaviour.on?.[name] as ((e: typeof event) => void) | undefined)?.(event);
    } catch {
      // A listener's failure never stops the guard.
    }
  }
}

/** What this caller did, in words. */
export function describeAction(result: CheckResult): string {
  switch (result.action) {
    case "upgraded":
      return `this process applied ${result.steps.join(", ")}`;
    case "waited":
      return "another process did the work; this one waited";
    case "stamped":
      return "no step to apply: this process moved the stamp";
    default:
      return "nothing to do";
  }
}
