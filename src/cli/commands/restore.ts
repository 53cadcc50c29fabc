import { resolve } from "node:path";
import { createInterface } from "node:readline/promises";
import { type Command, Option } from "commander";
import { restoreBackup } from "../../backup/restore-backup.js";
import { loadConfig } from "../../config/load-config.js";
import { LockstepError, UsageError } from "../../core/errors.js";
import { defineCommand, type ExitHolder } from "../command.js";
import { EXIT, formatDuration, type Output, type Streams } from "../output.js";

interface RestoreCliOptions {
  readonly force?: boolean;
  readonly yes?: boolean;
}

/** `lockstep restore <manifest>`: a backup into an empty database, checked table by table. */
export function restoreCommand(streams: Streams, exit: ExitHolder): Command {
  return defineCommand<RestoreCliOptions>(
    "restore",
    "restore a backup (its manifest) into an empty database, verified by the manifest's checksums",
    streams,
    exit,
    async (run, manifestPath) => {
      const { options, output } = run;
      const { url, baseDir } = await target(run.streams, options);
      const outcome = await restoreBackup({
        manifestPath: resolve(run.streams.cwd, manifestPath ?? ""),
        url,
        baseDir,
        force: options.force === true,
        confirm: (database) =>
          options.yes === true ? Promise.resolve() : confirmWipe(run.streams, output, database),
      });
      const { manifest } = outcome;
      output.line(
        output.c.green(
          `Restored backup ${manifest.id} into ${outcome.database} in ${formatDuration(outcome.durationMs)}: ${outcome.tables} ${manifest.kind === "mongodb" ? "collection(s)" : "table(s)"}, ${outcome.rows} ${manifest.kind === "mongodb" ? "document(s)" : "row(s)"}, every checksum matches; stamp ${manifest.stampBefore ?? "(unstamped)"}.`,
        ),
      );
      output.result({
        ...outcome,
        manifest: { id: manifest.id, file: manifest.file, stamp: manifest.stampBefore },
      });
      return EXIT.ok;
    },
  )
    .argument("<manifest>", "the *.manifest.json beside the backup")
    .addOption(
      new Option("--force", "restore into a database that holds data: it is wiped first (asks unless --yes)"),
    )
    .addOption(new Option("-y, --yes", "do not ask before a forced restore wipes the database"));
}

/** The database restored into: --database, else the config's. */
async function target(
  streams: Streams,
  options: { database?: string; config?: string },
): Promise<{ url: string; baseDir: string }> {
  if (options.database !== undefined) return { url: options.database, baseDir: streams.cwd };
  const config = await loadConfig({
    cwd: streams.cwd,
    ...(options.config !== undefined && { configPath: options.config }),
  });
  if (config.databaseUrl === null) {
    throw new UsageError("E_BACKUP_NEEDS_URL", "the config gives an adapter, not a URL, to restore into", {
      hint: "pass --database URL",
    });
  }
  return { url: config.databaseUrl, baseDir: config.databaseBaseDir };
}

async function confirmWipe(streams: Streams, output: Output, database: string): Promise<void> {
  if (streams.stdin.isTTY !== true || output.json) {
    throw new LockstepError("E_CONFIRMATION_REQUIRED", `no terminal to confirm wiping ${database}`, {
      hint: "rerun with --force --yes once you are sure the database may be replaced",
    });
  }
  const rl = createInterface({ input: streams.stdin, output: streams.stdout });
  try {
    const answer = await rl.question(`Wipe ${database} and restore the backup into it? [y/N] `);
    if (!/^y(es)?$/i.test(answer.trim()))
      throw new LockstepError("E_ABORTED", "restore cancelled; nothing was changed");
  } finally {
    rl.close();
  }
}
