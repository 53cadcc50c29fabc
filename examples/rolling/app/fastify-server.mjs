/**
 * The recipe app on Fastify: `node --import tsx examples/rolling/app/fastify-server.mjs`
 * (tsx only because lockstep.config.ts and the steps are TypeScript). See boot.mjs.
 */
import Fastify from "fastify";
import { boot, onStop } from "./boot.mjs";

const app = await boot();
// Idle connections outlive a client's or proxy's (Node's default 5 s): see express-server.mjs.
const server = Fastify({ keepAliveTimeout: 65_000 });

// Liveness: the process answers. Never wire lockstep's readiness here: a liveness probe that
// fails while a long step runs restarts the very process that is upgrading.
server.get("/healthz", async () => ({ ok: true, version: app.appVersion }));
// Readiness: lockstepReadiness is a plain Node (req, res) handler; Fastify hands it the raw
// request and response once told that the reply is written outside Fastify.
server.get("/readyz", (request, reply) => {
  reply.hijack();
  app.readiness(request.raw, reply.raw);
});

server.addHook("onRequest", async (request, reply) => {
  if (request.url.startsWith("/users") && !app.serving()) {
    return reply.code(503).send({ error: "starting: the database check has not passed yet" });
  }
});
server.post("/users", async (request, reply) => {
  reply.code(201);
  return app.users.create(String(request.body?.name ?? ""));
});
server.get("/users/:id", async (request, reply) => {
  const user = await app.users.find(Number(request.params.id));
  if (!user) reply.code(404);
  return user ?? { error: "no such user" };
});

const address = await server.listen({ port: app.port, host: app.host });
app.log(`fastify listening on http://127.0.0.1:${new URL(address).port}`);
onStop(async () => {
  await server.close();
  await app.shutdown();
});
