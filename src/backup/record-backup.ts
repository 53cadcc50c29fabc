/** The history entry `backup`, carrying the manifest's id, written through the adapter. */
import type { Adapter } from "../core/adapter.js";
import { historyEntry } from "../core/records.js";
import { defaultActor } from "../runtime/actor.js";
import type { BackupManifest } from "./manifest.js";

/**
 * Appends `backup` to the database's history (creating lockstep's store when missing). Runs
 * after the backup, so the backup itself holds the history as it was before.
 */
export async function recordBackup(
  adapter: Adapter<unknown>,
  codeVersion: string,
  manifest: BackupManifest,
  reused: boolean,
): Promise<void> {
  await adapter.ensureStore();
  const entry = historyEntry({ actor: defaultActor(), codeVersion }, "backup", {
    version: manifest.stampBefore,
    durationMs: Date.parse(manifest.finishedAt) - Date.parse(manifest.startedAt),
    details: {
      id: manifest.id,
      file: manifest.file,
      bytes: manifest.bytes,
      sha256: manifest.sha256,
      target: manifest.target,
      verified: manifest.verified?.ok ?? false,
      ...(reused && { reused: true }),
    },
  });
  await adapter.write(null, (writer) => writer.appendHistory(entry));
}
