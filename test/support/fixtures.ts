/**
 * One entry per database the contract suite runs against. Each fixture makes a fresh,
 * isolated database per test (its own file, schema or database name) so tests cannot
 * interfere, and knows how to leave an observable mark in user data from inside a step.
 */
import { readdirSync } from "node:fs";
import type { Adapter } from "../../src/core/adapter.js";

/**
 * The run every test process belongs to: the test runner's pid, shared with the processes a
 * test spawns through the environment. Node's runner starts one process per test file, so
 * every file of one `node --test` run sees the same runner pid.
 */
process.env.LOCKSTEP_TEST_RUN ??= String(process.ppid);
const RUN = process.env.LOCKSTEP_TEST_RUN;

/**
 * How every database, schema and SQLite folder a test creates is named: `lockstep_t_<run>_…`,
 * so test/zz-leftovers.test.ts can list what this run left behind on the shared servers.
 */
export const TEST_RUN_PREFIX = `lockstep_t_${RUN}_`;

/** A fresh database for one test. */
export interface TestDatabase {
  /** The URL a CLI or child process can use (`sqlite:/tmp/…/db.sqlite`, `postgres://…/db?schema=…`). */
  readonly url: string;
  /** A new adapter on this database (not opened). */
  adapter(): Promise<Adapter<any>>;
  /** Inserts a row/document named `mark` into the user table/collection `marks` (inside the step's transaction when given the step's db handle). */
  mark(db: unknown, mark: string): Promise<void>;
  /** Every mark in `marks`, in insertion order (read through a separate connection). */
  marks(): Promise<string[]>;
  /** Drops everything. */
  cleanup(): Promise<void>;
}

/** One database kind. */
export interface AdapterFixture {
  readonly name: string;
  /** Null when the server is reachable; otherwise why the suite is skipped. */
  unavailable(): Promise<string | null>;
  create(): Promise<TestDatabase>;
  /** What {@link TestDatabase.mark} does, needing only the step's db handle (no test database). */
  mark(db: unknown, mark: string): Promise<void>;
  /** The databases, schemas or folders named with {@link TEST_RUN_PREFIX} that still exist. */
  leftovers(): Promise<string[]>;
  /** Steps are atomic here (nothing of a killed step persists) rather than INTERRUPTED. */
  readonly atomicSteps: boolean;
}

/** Each `*-fixture.ts` file beside this one, by the fixture name it holds (`mysql-fixture.ts` → `mysql`). */
function fixtureFiles(): Map<string, string> {
  const files = readdirSync(new URL(".", import.meta.url)).filter((f) => f.endsWith("-fixture.ts"));
  return new Map(files.sort().map((f) => [f.slice(0, -"-fixture.ts".length), f]));
}

/**
 * Why the suites of `name` do not run, or null when they do: LOCKSTEP_TEST_DATABASES lists
 * the databases to test (`sqlite,postgres`; all when unset). A name no fixture has is an error.
 */
export function notSelected(name: string): string | null {
  const list = process.env.LOCKSTEP_TEST_DATABASES?.trim();
  if (!list) return null;
  const selected = list.split(",").map((n) => n.trim().toLowerCase());
  const known = [...fixtureFiles().keys()];
  const unknown = selected.filter((n) => n !== "" && !known.includes(n));
  if (unknown.length > 0)
    throw new Error(
      `LOCKSTEP_TEST_DATABASES names ${unknown.join(", ")}; the databases are ${known.join(", ")}`,
    );
  return selected.includes(name) ? null : `not in LOCKSTEP_TEST_DATABASES=${list}`;
}

/**
 * Every fixture: each `*-fixture.ts` file beside this one default-exports one. Suites declare
 * each with `describeFixture`, which skips the ones LOCKSTEP_TEST_DATABASES leaves out.
 */
export async function loadFixtures(): Promise<AdapterFixture[]> {
  notSelected(""); // refuses a misspelt LOCKSTEP_TEST_DATABASES before any suite is declared
  const out: AdapterFixture[] = [];
  for (const file of fixtureFiles().values()) {
    const module = (await import(new URL(file, import.meta.url).href)) as { default: AdapterFixture };
    out.push(module.default);
  }
  // SQLite first: it needs no server.
  return out.sort((a, b) =>
    a.name === "sqlite" ? -1 : b.name === "sqlite" ? 1 : a.name.localeCompare(b.name),
  );
}

/** The fixture called `name`. */
export async function fixtureNamed(name: string): Promise<AdapterFixture> {
  const found = (await loadFixtures()).find((f) => f.name === name);
  if (!found) throw new Error(`no test fixture named ${name}`);
  return found;
}
