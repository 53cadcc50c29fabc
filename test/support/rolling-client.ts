/**
 * The zero-downtime test's client: workers that create a user (POST /users) and read it back
 * (GET /users/:id) through the proxy, without pause and without retries, checking that the
 * name read is the name written. Every request counts; any answer other than the expected
 * one (a 5xx, a network error, a wrong name) is a failure, recorded with the rollout phase
 * it happened in.
 */

/** One failed request. */
export interface Failure {
  readonly phase: string;
  readonly request: string;
  readonly detail: string;
}

/** What the client saw. */
export interface ClientReport {
  readonly requests: number;
  readonly failures: readonly Failure[];
  /** Requests per rollout phase, in the order the phases began. */
  readonly perPhase: Readonly<Record<string, number>>;
}

/** A running client loop. */
export class ClientLoop {
  #requests = 0;
  readonly #failures: Failure[] = [];
  readonly #perPhase: Record<string, number> = {};
  #phase = "start";
  #stopping = false;
  readonly #workers: Promise<void>[];

  constructor(
    readonly baseUrl: string,
    workers = 4,
  ) {
    this.#workers = Array.from({ length: workers }, (_, w) => this.#work(w));
  }

  /** Labels the requests from now on (e.g. "1.2.0 replica added"). */
  set phase(phase: string) {
    this.#phase = phase;
  }

  get requests(): number {
    return this.#requests;
  }

  /** Keeps going until at least `minRequests` were made, then stops and reports. */
  async stop(minRequests: number): Promise<ClientReport> {
    while (this.#requests < minRequests) await new Promise((resolve) => setTimeout(resolve, 50));
    this.#stopping = true;
    await Promise.all(this.#workers);
    return { requests: this.#requests, failures: this.#failures, perPhase: this.#perPhase };
  }

  async #work(worker: number): Promise<void> {
    for (let i = 0; !this.#stopping; i++) {
      const name = `user ${worker}-${i} ✓`;
      const created = await this.#call("POST /users", "/users", name, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name }),
      });
      if (created === undefined || this.#stopping) continue;
      await this.#call(`GET /users/${created.id}`, `/users/${created.id}`, name);
    }
  }

  /** One request; the user it returned, or undefined when it failed (recorded). */
  async #call(
    request: string,
    path: string,
    name: string,
    init: RequestInit = {},
  ): Promise<{ id: number; name: string } | undefined> {
    const phase = this.#phase;
    this.#requests++;
    this.#perPhase[phase] = (this.#perPhase[phase] ?? 0) + 1;
    const fail = (detail: string) => {
      this.#failures.push({ phase, request, detail });
      return undefined;
    };
    try {
      const response = await fetch(`${this.baseUrl}${path}`, {
        ...init,
        signal: AbortSignal.timeout(10_000),
      });
      const body = (await response.json()) as { id: number; name: string; error?: string };
      const expected = init.method === "POST" ? 201 : 200;
      if (response.status !== expected) return fail(`${response.status} ${body.error ?? ""}`);
      if (body.name !== name) return fail(`read ${JSON.stringify(body.name)}, wrote ${JSON.stringify(name)}`);
      return body;
    } catch (error) {
      return fail(String(error));
    }
  }
}

/** "12 failed of 2400: 1.2.0 upgraded the database: 500 column \"name\" does not exist; …". */
export function describeFailures(report: ClientReport): string {
  const byKind = new Map<string, number>();
  for (const f of report.failures) {
    const key = `${f.phase}: ${f.request.split(" ")[0]} ${f.detail.slice(0, 120)}`;
    byKind.set(key, (byKind.get(key) ?? 0) + 1);
  }
  const kinds = [...byKind].map(([k, n]) => `  ${n} × ${k}`).join("\n");
  return `${report.failures.length} failed of ${report.requests} (per phase: ${JSON.stringify(report.perPhase)})\n${kinds}`;
}
