/**
 * What `lockstep backup` and `upgrade --backup` share: take the backup, record it, print it.
 * The backup code loads only when a backup is taken (an upgrade without --backup starts faster).
 */
import type { BackupOutcome } from "../backup/take-backup.js";
import type { ResolvedConfig } from "../config/load-config.js";
import { RefusedError, UsageError } from "../core/errors.js";
import type { Upgrader } from "../core/upgrader.js";
import { formatDuration, type Output } from "./output.js";

/** What the command asked for. */
export interface BackupRequest {
  /** `--to DIR` / `--backup=DIR`; undefined: the config's `backup.dir`, else "backups". */
  readonly dir?: string | undefined;
  readonly verify?: boolean;
  readonly stamp: string | null;
  readonly target: string | null;
}

/** Takes (or reuses) the backup, records it in history, prints one line; throws a coded error. */
export async function runBackup(
  output: Output,
  upgrader: Upgrader<any>,
  config: ResolvedConfig | undefined,
  request: BackupRequest,
): Promise<BackupOutcome> {
  if (config?.databaseUrl == null) {
    throw new UsageError(
      "E_BACKUP_NEEDS_URL",
      "backups need the database as a URL, and the config gives an adapter",
      {
        hint: "pass --database URL (sqlite:, postgres://, mysql://, mongodb://), or take the backup your own way and run without --backup",
      },
    );
  }
  await refuseWhileUpgrading(upgrader);
  const [{ DEFAULT_BACKUP_DIR, takeBackup }, { recordBackup }] = await Promise.all([
    import("../backup/take-backup.js"),
    import("../backup/record-backup.js"),
  ]);
  const dir = request.dir ?? config.backup?.dir ?? DEFAULT_BACKUP_DIR;
  let shown = -1;
  const outcome = await takeBackup({
    url: config.databaseUrl,
    baseDir: config.databaseBaseDir,
    dir,
    stamp: request.stamp,
    target: request.target,
    keep: config.backup?.keep,
    verify: request.verify,
    progress: (fraction) => {
      const pct = Math.floor(fraction * 10) * 10;
      if (pct > shown) output.note(`  backup ${pct}%`);
      shown = pct;
    },
  });
  await recordBackup(upgrader.adapter, upgrader.codeVersion, outcome.manifest, outcome.reused);
  printBackup(output, outcome);
  return outcome;
}

/**
 * A backup taken while another upgrader holds the lease could catch its half-done work and
 * record a stamp the dump does not hold: refused (an expired lease, a dead holder, is not).
 */
async function refuseWhileUpgrading(upgrader: Upgrader<any>): Promise<void> {
  const { lease } = await upgrader.adapter.readState();
  if (lease === null || lease.expired) return;
  throw new RefusedError(
    "E_LOCK_HELD",
    `another upgrader holds the lease (${lease.owner}, pid ${lease.pid} on ${lease.host}, since ${lease.acquiredAt}): a backup now could catch its half-done work`,
    {
      hint: "rerun once it finished (`lockstep status` says CURRENT or UPGRADE_PENDING); nothing was written",
    },
  );
}

function printBackup(output: Output, { manifest, manifestPath, reused, pruned }: BackupOutcome): void {
  const took = formatDuration(Date.parse(manifest.finishedAt) - Date.parse(manifest.startedAt));
  if (reused) {
    output.line(
      `Backup ${manifest.id} of stamp ${manifest.stampBefore ?? "(unstamped)"} for ${manifest.target} already exists and matches its sha256: reused, none taken.`,
    );
  } else {
    output.line(
      output.c.green(
        `Backup ${manifest.id}: ${manifest.bytes} bytes in ${took} (${manifest.tool}), ${manifest.tables.length} ${manifest.kind === "mongodb" ? "collection(s)" : "table(s)"}, sha256 ${manifest.sha256.slice(0, 12)}…${manifest.verified?.ok ? ", verified by a restore into a scratch database" : ""}`,
      ),
    );
  }
  output.line(`  file      ${manifest.file}`);
  output.line(`  manifest  ${manifestPath}`);
  output.line(`  restore   ${manifest.restore.lockstep}`);
  for (const p of pruned) output.line(`  pruned    ${p} (keep)`);
}
