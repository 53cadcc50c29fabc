// Preloaded into the lockstep child (`node --import ./bench/fleet-usage.mjs dist/cli/main.js …`):
// on exit, writes the process's own CPU time and peak RSS to $BENCH_USAGE_FILE as JSON, so the
// fleet bench can tell a child that waits (on databases) from one that computes.
import { writeFileSync } from "node:fs";

const file = process.env.BENCH_USAGE_FILE;
if (file) {
  process.on("exit", () => {
    const usage = process.resourceUsage();
    writeFileSync(
      file,
      JSON.stringify({
        userMs: usage.userCPUTime / 1000,
        systemMs: usage.systemCPUTime / 1000,
        maxRssKb: usage.maxRSS,
      }),
    );
  });
}
