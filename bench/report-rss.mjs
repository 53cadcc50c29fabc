// Preloaded into the lockstep child (`node --import ./bench/report-rss.mjs dist/cli/main.js …`):
// on exit, writes the process's own peak RSS in bytes and its CPU time (user + system, in ms)
// to $BENCH_RSS_FILE as `rss cpu`. The child measures itself, so the figures are lockstep's,
// not the bench's or a wrapper's.
import { writeFileSync } from "node:fs";

const file = process.env.BENCH_RSS_FILE;
if (file) {
  process.on("exit", () => {
    // resourceUsage().maxRSS is in kilobytes, userCPUTime and systemCPUTime in microseconds.
    const usage = process.resourceUsage();
    const cpuMs = (usage.userCPUTime + usage.systemCPUTime) / 1000;
    writeFileSync(file, `${usage.maxRSS * 1024} ${cpuMs.toFixed(0)}`);
  });
}
