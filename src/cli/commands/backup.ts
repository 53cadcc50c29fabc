import { type Command, Option } from "commander";
import { runBackup } from "../backup-run.js";
import { defineCommand, type ExitHolder } from "../command.js";
import { type FleetCliOptions, refuseTargets, withTargetsNotYet } from "../fleet/fleet-options.js";
import { EXIT, type Streams } from "../output.js";

interface BackupCliOptions extends FleetCliOptions {
  readonly to?: string;
  readonly verify?: boolean;
}

/** `lockstep backup`: a native backup of the database, with a manifest beside it. */
export function backupCommand(streams: Streams, exit: ExitHolder): Command {
  const command = defineCommand<BackupCliOptions>(
    "backup",
    "back up the database the native way, with a manifest (sha256, stamp, checksums, restore command)",
    streams,
    exit,
    async (run) => {
      const { options, output } = run;
      refuseTargets(options, "backup");
      const upgrader = await run.open();
      const status = await upgrader.status();
      const outcome = await runBackup(output, upgrader, run.config(), {
        dir: options.to,
        verify: options.verify === true,
        stamp: status.stamp,
        target: null,
      });
      output.result({ ...outcome.manifest, manifestPath: outcome.manifestPath, pruned: outcome.pruned });
      return EXIT.ok;
    },
  )
    .addOption(
      new Option("--to <dir>", "the backup folder (default: the config's backup.dir, else ./backups)"),
    )
    .addOption(
      new Option("--verify", "restore into a scratch database, compare every table's checksum, drop it"),
    );
  return withTargetsNotYet(command).addHelpText(
    "after",
    "\nTools: SQLite needs none; PostgreSQL pg_dump/pg_restore (postgresql-client); MySQL/MariaDB mariadb-dump or\nmysqldump and mariadb or mysql (mariadb-client); MongoDB uses mongodump when on PATH, else a dump through the driver.",
  );
}
