// Preloaded into the lockstep child (`node --import ./bench/report-rss.mjs dist/cli/main.js …`):
// on exit, writes the process's own peak RSS in bytes to $BENCH_RSS_FILE. The child measures
// itself, so the figure is lockstep's, not the bench's or a wrapper's.
import { writeFileSync } from "node:fs";

const file = process.env.BENCH_RSS_FILE;
if (file) {
  process.on("exit", () => {
    // resourceUsage().maxRSS is in kilobytes.
    writeFileSync(file, String(process.resourceUsage().maxRSS * 1024));
  });
}
