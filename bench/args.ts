/**
 * The bench's command line: `--help` prints the usage, a bad option prints one line and the
 * usage (exit 2), never a stack trace.
 */
import { parseArgs } from "node:util";

/** Default MongoDB-protocol server: the address `scripts/ferretdb.sh start` serves. */
export const DEFAULT_MONGODB_URL = "mongodb://127.0.0.1:27017/test";
export { NAIVE_LIMIT };
export const DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/test";
export const DEFAULT_MYSQL_URL = "mysql://root@127.0.0.1:3306/test";
/** Every database the bench knows, in the order it runs them. */
export const DATABASES = ["postgres", "mysql", "sqlite", "mongodb"] as const;
/** Every method; `race` is the racing upgraders. */
export const METHODS = ["naive", "lockstep", "lockstep_set", "single", "race"] as const;
/** Upgraders started at once by the `race` method. */
const RACE_PROCESSES = 8;
/** Items per run when `--n` is not given. */
const DEFAULT_N = 200_000;
/** The naive method is timed on at most this many items (it is slow; its rate is per item). */
const NAIVE_LIMIT = 20_000;
/** FerretDB scans per lookup (see main.ts): the naive method's MongoDB figure uses fewer items. */
const DEFAULT_MONGODB_NAIVE_LIMIT = 100;
/** SQLite commits (and syncs) each naive write on its own: ~13 ms an item here. */
export const DEFAULT_SQLITE_NAIVE_LIMIT = 2000;

export const USAGE = `usage: npm run bench -- [options]

Rewrites N datalab items' relationships four ways (naive; lockstep's batch helper and its
set-based page mode, each through \`lockstep upgrade\`; one set-based statement) on PostgreSQL,
MariaDB/MySQL, SQLite and a MongoDB-protocol server, and races ${RACE_PROCESSES} upgraders against one.

  --n N                     items per run (default ${DEFAULT_N})
  --only LIST               any of ${DATABASES.join(",")} (default all)
  --json                    print {postgres: {...}, mysql: {...}, ..., racing: {...}} on stdout
  --postgres URL            PostgreSQL server (default $BENCH_POSTGRES_URL or ${DEFAULT_POSTGRES_URL})
  --mysql URL               MariaDB/MySQL server (default $BENCH_MYSQL_URL or ${DEFAULT_MYSQL_URL})
  --mongodb URL             MongoDB-protocol server (default $BENCH_MONGODB_URL or ${DEFAULT_MONGODB_URL});
                            with no server at the default address the bench starts FerretDB with
                            scripts/ferretdb.sh start (and stops it after); a database whose server
                            does not answer is skipped with a line saying how to include it
  --methods LIST            any of ${METHODS.join(",")} (default all)
  --race-processes N        upgraders racing in the race method (default ${RACE_PROCESSES})
  --naive-limit N           time the naive method on at most N items (default ${NAIVE_LIMIT};
                            SQLite ${DEFAULT_SQLITE_NAIVE_LIMIT}: each naive write is its own synced commit)
  --mongodb-n N             items on MongoDB (default min(N, 2000): FerretDB scans per lookup)
  --mongodb-naive-limit N   naive items on MongoDB (default ${DEFAULT_MONGODB_NAIVE_LIMIT})
  --page-size N             lockstep's page size (the bench's config only)
  --cpu-prof-dir DIR        write a CPU profile of the lockstep child there
  -h, --help                print this help
`;

const OPTIONS = {
  n: { type: "string", default: String(DEFAULT_N) },
  only: { type: "string" },
  json: { type: "boolean", default: false },
  "page-size": { type: "string" },
  "naive-limit": { type: "string" },
  "mongodb-n": { type: "string" },
  "mongodb-naive-limit": { type: "string", default: String(DEFAULT_MONGODB_NAIVE_LIMIT) },
  "cpu-prof-dir": { type: "string" },
  methods: { type: "string", default: METHODS.join(",") },
  "race-processes": { type: "string", default: String(RACE_PROCESSES) },
  postgres: { type: "string" },
  mysql: { type: "string" },
  mongodb: { type: "string" },
  help: { type: "boolean", short: "h", default: false },
} as const;

/** Prints `message` and the usage on stderr and exits 2 (a usage error). */
export function usageError(message: string): never {
  process.stderr.write(`bench: ${message}\n\n${USAGE}`);
  process.exit(2);
}

function parse(argv: readonly string[]) {
  return parseArgs({ args: [...argv], options: OPTIONS }).values;
}

/** Parses the bench's options; prints the usage and exits on `--help` or a bad option. */
export function parseBenchArgs(argv: readonly string[], env: NodeJS.ProcessEnv) {
  let values: ReturnType<typeof parse>;
  try {
    values = parse(argv);
  } catch (error) {
    usageError((error as Error).message);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  return {
    ...values,
    postgres: values.postgres ?? env.BENCH_POSTGRES_URL ?? DEFAULT_POSTGRES_URL,
    mysql: values.mysql ?? env.BENCH_MYSQL_URL ?? DEFAULT_MYSQL_URL,
    /** `--naive-limit` as given; undefined: each database's default. */
    naiveLimit: values["naive-limit"],
    mongodb: values.mongodb ?? env.BENCH_MONGODB_URL ?? DEFAULT_MONGODB_URL,
    /** The MongoDB URL is the default one, which scripts/ferretdb.sh may start a server for. */
    mongodbIsDefault: values.mongodb === undefined && env.BENCH_MONGODB_URL === undefined,
  };
}

/** A positive integer option, or a usage error naming it. */
export function positiveInt(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) usageError(`--${name} needs a positive integer, got ${text}`);
  return n;
}

/** A comma list of `allowed` values, or a usage error naming the option. */
export function listOf<T extends string>(name: string, text: string, allowed: readonly T[]): T[] {
  const items = text.split(",").filter((item) => item !== "");
  for (const item of items) {
    if (!allowed.includes(item as T)) usageError(`--${name} takes any of ${allowed.join(",")}, got ${item}`);
  }
  return items as T[];
}
