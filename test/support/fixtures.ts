/**
 * One entry per database the contract suite runs against. Each fixture makes a fresh,
 * isolated database per test (its own file, schema or database name) so tests cannot
 * interfere, and knows how to leave an observable mark in user data from inside a step.
 */
import { readdirSync } from "node:fs";
import type { Adapter } from "../../src/core/adapter.js";

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
  /** Steps are atomic here (nothing of a killed step persists) rather than INTERRUPTED. */
  readonly atomicSteps: boolean;
}

/**
 * Every fixture: each `*-fixture.ts` file beside this one default-exports one. In CI
 * (CI=true) an unavailable server fails its suite; elsewhere it is skipped with a line saying so.
 */
export async function loadFixtures(): Promise<AdapterFixture[]> {
  const files = readdirSync(new URL(".", import.meta.url))
    .filter((f) => f.endsWith("-fixture.ts"))
    .sort();
  const out: AdapterFixture[] = [];
  for (const file of files) {
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
