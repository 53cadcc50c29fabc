/**
 * The fleet bench's command line: `--help` prints the usage, a bad option prints one line and
 * the usage (exit 2), never a stack trace.
 */
import { parseArgs } from "node:util";
import { DEFAULT_POSTGRES_URL } from "./args.js";

const DEFAULTS = { tenants: 50, sqlite: 200, rows: 20_000, sqliteRows: 5_000 } as const;

export const FLEET_USAGE = `usage: npm run bench:fleet -- [options]

Upgrades a fleet of tenant databases with \`lockstep upgrade --targets FILE\` twice, each time on
fresh copies of the same data: with --concurrency 4 and with --concurrency 1, and prints both
wall times and their ratio (goal: at least 2x on PostgreSQL). Three steps per tenant, one of
them a data step that updates every row; each step must be applied exactly once per tenant.

  --tenants N       PostgreSQL tenant databases (default ${DEFAULTS.tenants}; 0 skips PostgreSQL)
  --sqlite N        SQLite tenant files (default ${DEFAULTS.sqlite}; 0 skips SQLite)
  --rows N          rows per PostgreSQL tenant (default ${DEFAULTS.rows})
  --sqlite-rows N   rows per SQLite tenant (default ${DEFAULTS.sqliteRows})
  --postgres URL    PostgreSQL server (default $BENCH_POSTGRES_URL or ${DEFAULT_POSTGRES_URL});
                    its tenant databases are named lockstep_benchfleet_<pid>_… and dropped
                    when it ends, after a failure or Ctrl-C too
  --json            print {postgres: {...}, sqlite: {...}} on stdout
  -h, --help        print this help
`;

/** Prints `message` and the usage on stderr and exits 2. */
export function fleetUsageError(message: string): never {
  process.stderr.write(`bench:fleet: ${message}\n\n${FLEET_USAGE}`);
  process.exit(2);
}

/** What the bench was asked to do. */
export interface FleetBenchArgs {
  readonly tenants: number;
  readonly sqlite: number;
  readonly rows: number;
  readonly sqliteRows: number;
  readonly postgres: string;
  readonly json: boolean;
}

const OPTIONS = {
  tenants: { type: "string" },
  sqlite: { type: "string" },
  rows: { type: "string" },
  "sqlite-rows": { type: "string" },
  postgres: { type: "string" },
  json: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

function parse(argv: readonly string[]) {
  return parseArgs({ args: [...argv], options: OPTIONS }).values;
}

function count(name: string, text: string | undefined, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) fleetUsageError(`--${name} needs an integer >= ${min}, got ${text}`);
  return n;
}

/** Parses the options; prints the usage and exits on `--help` or a bad option. */
export function parseFleetArgs(argv: readonly string[], env: NodeJS.ProcessEnv): FleetBenchArgs {
  let values: ReturnType<typeof parse>;
  try {
    values = parse(argv);
  } catch (error) {
    fleetUsageError((error as Error).message);
  }
  if (values.help) {
    process.stdout.write(FLEET_USAGE);
    process.exit(0);
  }
  return {
    tenants: count("tenants", values.tenants, DEFAULTS.tenants, 0),
    sqlite: count("sqlite", values.sqlite, DEFAULTS.sqlite, 0),
    rows: count("rows", values.rows, DEFAULTS.rows, 1),
    sqliteRows: count("sqlite-rows", values["sqlite-rows"], DEFAULTS.sqliteRows, 1),
    postgres: values.postgres ?? env.BENCH_POSTGRES_URL ?? DEFAULT_POSTGRES_URL,
    json: values.json,
  };
}
