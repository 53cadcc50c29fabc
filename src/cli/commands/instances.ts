import { createInterface } from "node:readline/promises";
import { type Command, Option } from "commander";
import type { Adapter, InstanceInfo } from "../../core/adapter.js";
import { LockstepError, UsageError } from "../../core/errors.js";
import { historyEntry } from "../../core/records.js";
import { type Actor, defaultActor } from "../../runtime/actor.js";
import { defineCommand, type ExitHolder } from "../command.js";
import { EXIT, type Output, type Streams } from "../output.js";

interface InstancesOptions {
  forget?: string[];
  forgetHost?: string[];
  yes?: boolean;
}

/** Whether a recorded instance still counts: live, expired (TTL ran out), or gone (its process on this machine ended). */
export type InstanceState = "live" | "expired" | "gone";

/** One row of `lockstep instances`. */
export interface InstanceRow {
  readonly id: string;
  readonly release: string;
  readonly host: string;
  readonly pid: number;
  readonly startedAt: string;
  readonly lastSeen: string;
  readonly lastSeenMsAgo: number;
  readonly state: InstanceState;
}

function rowOf(instance: InstanceInfo, actor: Actor): InstanceRow {
  const gone = actor.isLocalProcessAlive(instance.owner, instance.pid) === false;
  return {
    id: instance.id,
    release: instance.appVersion,
    host: instance.host,
    pid: instance.pid,
    startedAt: instance.startedAt,
    lastSeen: instance.lastSeen,
    lastSeenMsAgo: instance.ageMs,
    state: instance.expired ? "expired" : gone ? "gone" : "live",
  };
}

/** `lockstep instances`: the app's copies in the registry; `--forget` removes crashed ones. */
export function instancesCommand(streams: Streams, exit: ExitHolder): Command {
  return defineCommand<InstancesOptions>(
    "instances",
    "list the app instances the start-up guards registered (live and expired); --forget removes crashed ones",
    streams,
    exit,
    async ({ options, output, open }) => {
      const upgrader = await open();
      await upgrader.open();
      const actor = defaultActor();
      const rows = (await upgrader.adapter.listInstances()).map((i) => rowOf(i, actor));
      const ids = options.forget ?? [];
      const hosts = options.forgetHost ?? [];
      if (ids.length === 0 && hosts.length === 0) {
        output.result({ instances: rows });
        printRows(output, rows);
        return EXIT.ok;
      }
      const chosen = choose(rows, ids, hosts);
      printRows(output, chosen);
      if (options.yes !== true) await confirm(streams, output, chosen);
      const origin = { actor, codeVersion: upgrader.codeVersion };
      const forgotten = await forget(upgrader.adapter, origin, chosen, output);
      output.result({ forgotten });
      output.line(`Forgot ${forgotten.length} instance(s); recorded in history (forget_instance).`);
      return EXIT.ok;
    },
  )
    .addOption(
      new Option("--forget <id>", "remove this instance from the registry (repeatable)").argParser(collect),
    )
    .addOption(
      new Option(
        "--forget-host <host>",
        "remove every instance recorded on this host (repeatable)",
      ).argParser(collect),
    )
    .addOption(new Option("-y, --yes", "do not ask for confirmation (required without a TTY)"))
    .addHelpText(
      "after",
      "\nEach start-up guard records its instance (id, release, host, pid, last seen); an instance counts as live until\nits TTL runs out (instanceTtlMs, default 2 min, at most 1 h) or, on this machine, its process ends. Live older\nreleases hold contract steps back. An instance that crashed on another host blocks them until its TTL: once you\nknow it is gone, `lockstep instances --forget <id>` (or --forget-host <host>) removes it, recorded in history.\nA process still running registers again at its next keep-alive.",
    );
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** The rows `--forget`/`--forget-host` name; an id or host that matches nothing is an error. */
function choose(
  rows: readonly InstanceRow[],
  ids: readonly string[],
  hosts: readonly string[],
): InstanceRow[] {
  for (const [list, field, flag] of [
    [ids, "id", "--forget"],
    [hosts, "host", "--forget-host"],
  ] as const) {
    const missing = list.find((value) => !rows.some((r) => r[field] === value));
    if (missing !== undefined) {
      throw new UsageError("E_USAGE", `${flag} ${missing}: no recorded instance has this ${field}`, {
        hint: "`lockstep instances` lists the recorded instances with their ids and hosts",
      });
    }
  }
  return rows.filter((r) => ids.includes(r.id) || hosts.includes(r.host));
}

async function forget(
  adapter: Adapter<any>,
  origin: { actor: Actor; codeVersion: string },
  rows: readonly InstanceRow[],
  output: Output,
): Promise<InstanceRow[]> {
  const done: InstanceRow[] = [];
  for (const row of rows) {
    await adapter.removeInstance(row.id);
    done.push(row);
    try {
      await adapter.write(null, (writer) =>
        writer.appendHistory(
          historyEntry(origin, "forget_instance", {
            version: row.release,
            details: { id: row.id, host: row.host, pid: row.pid, lastSeen: row.lastSeen, state: row.state },
          }),
        ),
      );
    } catch (error) {
      output.warn(`forgot ${row.id} but could not record it in history: ${(error as Error).message}`);
    }
  }
  return done;
}

function printRows(output: Output, rows: readonly InstanceRow[]): void {
  if (rows.length === 0) {
    output.line("No instance is recorded.");
    return;
  }
  const { c } = output;
  output.line(c.bold("id                release      host                 pid      last seen    state"));
  for (const r of rows) {
    const state = r.state === "live" ? c.green(r.state) : c.yellow(r.state);
    output.line(
      `${r.id.padEnd(17)} ${r.release.padEnd(12)} ${r.host.padEnd(20)} ${String(r.pid).padEnd(8)} ${`${Math.round(r.lastSeenMsAgo / 1000)} s ago`.padEnd(12)} ${state}`,
    );
  }
}

async function confirm(streams: Streams, output: Output, rows: readonly InstanceRow[]): Promise<void> {
  if (streams.stdin.isTTY !== true || output.json) {
    throw new LockstepError("E_CONFIRMATION_REQUIRED", "no terminal to confirm forgetting instances on", {
      hint: "rerun with --yes once you know these processes are gone",
    });
  }
  const live = rows.filter((r) => r.state === "live").length;
  if (live > 0) {
    output.line(
      output.c.yellow(
        `${live} of them still count as live: forget only processes you know are gone (a running one registers again at its next keep-alive).`,
      ),
    );
  }
  const rl = createInterface({ input: streams.stdin, output: streams.stdout });
  try {
    const answer = await rl.question(`Forget ${rows.length} instance(s)? [y/N] `);
    if (!/^y(es)?$/i.test(answer.trim())) {
      throw new LockstepError("E_ABORTED", "nothing forgotten");
    }
  } finally {
    rl.close();
  }
}
