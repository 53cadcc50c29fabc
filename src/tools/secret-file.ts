/** A 0600 file for a tool's secrets (a URL with its password), removed afterwards. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Writes `text` to a new 0600 file in a 0700 folder, runs `fn` with its path, then removes both. */
export async function withSecretFile<T>(text: string, fn: (path: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "lockstep-secret-"));
  const path = join(dir, "tool.conf");
  try {
    writeFileSync(path, text, { mode: 0o600 });
    return await fn(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
