/**
 * A small round-robin HTTP proxy, standing in for a load balancer in the zero-downtime test.
 * It retries nothing: a backend that fails a request fails the client's request. `remove`
 * drains like a load balancer does before a replica is stopped: no new request goes to it,
 * and it resolves once the requests it is serving are answered.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

interface Backend {
  readonly port: number;
  inFlight: number;
  drained?: () => void;
}

export class RoundRobinProxy {
  readonly #server: http.Server;
  readonly #agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  #backends: Backend[] = [];
  #next = 0;
  /** Requests answered 502/503 by the proxy itself (no backend, or the backend failed). */
  proxyErrors = 0;

  private constructor() {
    this.#server = http.createServer((req, res) => this.#forward(req, res));
  }

  /** A proxy listening on a free port of 127.0.0.1. */
  static async start(): Promise<RoundRobinProxy> {
    const proxy = new RoundRobinProxy();
    await new Promise<void>((resolve) => proxy.#server.listen(0, "127.0.0.1", resolve));
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** The ports in rotation. */
  get ports(): number[] {
    return this.#backends.map((b) => b.port);
  }

  add(port: number): void {
    this.#backends.push({ port, inFlight: 0 });
  }

  /** Takes `port` out of rotation and resolves once its requests in flight are answered. */
  async remove(port: number): Promise<void> {
    const backend = this.#backends.find((b) => b.port === port);
    if (!backend) return;
    this.#backends = this.#backends.filter((b) => b !== backend);
    if (backend.inFlight > 0) await new Promise<void>((resolve) => (backend.drained = resolve));
  }

  #forward(req: http.IncomingMessage, res: http.ServerResponse): void {
    const backend = this.#backends[this.#next++ % Math.max(this.#backends.length, 1)];
    if (!backend) {
      this.proxyErrors++;
      res.writeHead(503, { "content-type": "application/json" }).end('{"error":"no backend"}');
      return;
    }
    backend.inFlight++;
    let finished = false;
    const done = () => {
      if (finished) return;
      finished = true;
      backend.inFlight--;
      if (backend.inFlight === 0) backend.drained?.();
    };
    const upstream = http.request(
      {
        host: "127.0.0.1",
        port: backend.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent: this.#agent,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        answer.on("end", done);
        answer.on("error", done);
      },
    );
    upstream.on("error", (error) => {
      this.proxyErrors++;
      if (!res.headersSent) res.writeHead(502, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: `backend ${backend.port}: ${error.message}` }));
      done();
    });
    req.pipe(upstream);
  }

  async close(): Promise<void> {
    this.#agent.destroy();
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}
