/**
 * Runs a batched upgrade child (test/support/batch-sql-child.ts) and SIGKILLs it once it has
 * reported `killAfterPages` committed pages (`PAGES <n>` lines): a crash mid-step for the
 * resume tests of test/batch-sql.test.ts and test/batch-ranges-sql.test.ts.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { REPO } from "./cli.js";

const CHILD = "test/support/batch-sql-child.ts";

/** How the killed child ended: the pages it reported, its signal, and all it printed. */
export interface KilledChild {
  readonly pagesSeen: number;
  readonly signal: NodeJS.Signals | null;
  readonly output: string;
}

/** Runs the child with `args` (`<url> <pagesPerSecond> [ranges-kind]`) and kills it after `killAfterPages` pages. */
export function killHalfWay(args: readonly string[], killAfterPages: number): Promise<KilledChild> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", CHILD, ...args], {
      cwd: REPO,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    let pagesSeen = 0;
    child.stderr.on("data", (d) => {
      output += d;
    });
    createInterface({ input: child.stdout }).on("line", (line) => {
      output += `${line}\n`;
      const pages = /^PAGES (\d+)$/.exec(line);
      if (pages && pagesSeen < killAfterPages) {
        pagesSeen = Number(pages[1]);
        if (pagesSeen >= killAfterPages) child.kill("SIGKILL");
      }
    });
    child.on("error", reject);
    child.on("close", (_code, signal) => resolve({ pagesSeen, signal, output }));
  });
}
