/**
 * The recipe app's data layer (examples/rolling/app/users.mjs) behind plain node:http, with
 * no start-up guard: what test/rolling-proxy.test.ts rolls out to check the measuring
 * instrument (proxy, client loop) and the example's expand/contract SQL on their own.
 * Environment: APP_VERSION, DATABASE_URL, PORT, HOST, as the recipe servers.
 */
import http from "node:http";
import { databaseUrl, openDatabase } from "../../examples/rolling/app/database.mjs";
import { usersOf } from "../../examples/rolling/app/users.mjs";

const users = usersOf(process.env.APP_VERSION ?? "1.2.0", await openDatabase(databaseUrl()));

function send(res, status, body) {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

const server = http.createServer(async (req, res) => {
  try {
    if (req.method === "GET" && req.url === "/readyz") return send(res, 200, { ready: true });
    if (req.method === "POST" && req.url === "/users") {
      let text = "";
      for await (const chunk of req) text += chunk;
      return send(res, 201, await users.create(String(JSON.parse(text).name)));
    }
    const match = /^\/users\/(\d+)$/.exec(req.url ?? "");
    if (req.method === "GET" && match) {
      const user = await users.find(Number(match[1]));
      return user ? send(res, 200, user) : send(res, 404, { error: "no such user" });
    }
    send(res, 404, { error: "not found" });
  } catch (error) {
    send(res, 500, { error: String(error.message ?? error) });
  }
});
server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? "127.0.0.1", () => {
  process.stdout.write(`listening on http://127.0.0.1:${server.address().port}\n`);
});
