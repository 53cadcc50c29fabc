/**
 * The recipe app on Express: `node --import tsx examples/rolling/app/express-server.mjs`
 * (tsx only because lockstep.config.ts and the steps are TypeScript). See boot.mjs.
 */
import express from "express";
import { boot, onStop } from "./boot.mjs";

const app = await boot();
const server = express();
server.use(express.json());

// Liveness: the process answers. Never wire lockstep's readiness here: a liveness probe that
// fails while a long step runs restarts the very process that is upgrading.
server.get("/healthz", (_req, res) => {
  res.json({ ok: true, version: app.appVersion });
});
// Readiness: 503 + JSON until the database is current or compatible, then 200.
server.get("/readyz", (req, res) => app.readiness(req, res));

server.use("/users", (_req, res, next) => {
  if (app.serving()) next();
  else res.status(503).json({ error: "starting: the database check has not passed yet" });
});
server.post("/users", async (req, res) => {
  try {
    res.status(201).json(await app.users.create(String(req.body?.name ?? "")));
  } catch (error) {
    res.status(500).json({ error: String(error.message ?? error) });
  }
});
server.get("/users/:id", async (req, res) => {
  try {
    const user = await app.users.find(Number(req.params.id));
    if (user) res.json(user);
    else res.status(404).json({ error: "no such user" });
  } catch (error) {
    res.status(500).json({ error: String(error.message ?? error) });
  }
});

const listener = server.listen(app.port, app.host, () => {
  app.log(`express listening on http://127.0.0.1:${listener.address().port}`);
});
// Keep idle connections open longer than a client or proxy does (Node's default is 5 s): a
// server closing a reused connection just as a request arrives on it fails that request.
listener.keepAliveTimeout = 65_000;
onStop(async () => {
  await new Promise((resolve) => listener.close(resolve));
  await app.shutdown();
});
