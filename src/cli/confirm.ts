import { createInterface } from "node:readline/promises";
import { LockstepError } from "../core/errors.js";
import type { Output, Streams } from "./output.js";

/**
 * Asks `question` on the terminal before an upgrade writes; E_CONFIRMATION_REQUIRED without
 * one (or with --json), E_ABORTED unless the answer is yes.
 */
export async function confirm(streams: Streams, output: Output, question: string): Promise<void> {
  if (streams.stdin.isTTY !== true || output.json) {
    throw new LockstepError("E_CONFIRMATION_REQUIRED", "no terminal to confirm the upgrade on", {
      hint: "rerun with --yes once you have read the plan (and taken a backup)",
    });
  }
  output.line(
    output.c.yellow(
      "This modifies the database in place. Take a backup first, and stop servers running older code.",
    ),
  );
  const rl = createInterface({ input: streams.stdin, output: streams.stdout });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    if (!/^y(es)?$/i.test(answer.trim())) {
      throw new LockstepError("E_ABORTED", "upgrade cancelled; nothing was written");
    }
  } finally {
    rl.close();
  }
}
