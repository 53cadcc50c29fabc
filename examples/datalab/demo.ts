/**
 * `npm run demo [-- --database URL] [-- --items N]`: builds a database as the datalab
 * example's release 0.1.0 stored it, then runs lockstep's CLI on it exactly as an operator
 * would: status, plan, upgrade, status.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { generateItems } from "./model.js";
import { kindOfUrl, storeFor } from "./stores/store.js";

const { values } = parseArgs({
  options: {
    database: { type: "string", default: "sqlite:./demo.db" },
    items: { type: "string", default: "3000" },
  },
});
const url = values.database;
const count = Number.parseInt(values.items, 10);
const cli = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));
const config = fileURLToPath(new URL("./lockstep.config.ts", import.meta.url));

const store = await storeFor(kindOfUrl(url));
// On MongoDB lockstep reads datalab's own stamp document (`?app=datalab`).
const target = store.lockstepUrl?.(url) ?? url;

const shownTarget = target.replace(/\/\/([^:/@]*):[^@/]*@/, "//$1:***@");

function lockstep(args: string[], expected: number[]): void {
  const shown = ["lockstep", ...args, "--database", shownTarget].join(" ");
  process.stdout.write(`\n$ ${shown}\n`);
  const result = spawnSync(process.execPath, [cli, ...args, "--config", config, "--database", target], {
    stdio: "inherit",
  });
  if (result.status === null || !expected.includes(result.status)) {
    process.stderr.write(
      `demo: \`${shown}\` exited ${result.status ?? result.signal}, expected ${expected.join(" or ")}\n`,
    );
    process.exit(1);
  }
}

process.stdout.write(
  `Building ${url} as datalab 0.1.0 stored it: ${count} items, about 1 % of them deleted so links to them dangle.\n`,
);
await store.reset(url);
await store.seed(url, generateItems(count));

if (store.seedStamp === undefined) {
  // Release 0.1.0 stamped its new deployment with `lockstep init`.
  lockstep(["init", "--version", "0.1.0"], [0]);
} else {
  process.stdout.write(
    `The seed stamped the database ${store.seedStamp} itself, as datalab's own code does: no \`lockstep init\`.\n`,
  );
}
// The code is now 0.3.0: status reports pending work (exit 2), plan shows it, upgrade applies it.
lockstep(["status"], [2]);
lockstep(["plan"], [2]);
lockstep(["upgrade", "--yes"], [0]);
lockstep(["status"], [0]);
process.stdout.write(
  `\nDemo done. Try \`npx lockstep history --config examples/datalab/lockstep.config.ts --database ${shownTarget}\`.\n`,
);
