/**
 * Helpers the contract and process suites share: a fresh database per test with every
 * adapter and upgrader it opened closed at the end, and steps that leave a mark.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { it } from "node:test";
import type { Adapter, DatabaseState, HistoryEntry } from "../../src/core/adapter.js";
import { upgrade } from "../../src/core/registry.js";
import type { StepDefinition } from "../../src/core/step.js";
import { type LeaseOptions, Upgrader, type UpgraderOptions } from "../../src/core/upgrader.js";
import { type AdapterFixture, notSelected, type TestDatabase } from "./fixtures.js";

/** Short lease timings so waits in tests stay short. */
export const TEST_LEASE: LeaseOptions = { ttlMs: 3_000, pollMs: 20, waitMs: 30_000 };

/** One test's database and everything opened on it. */
export class Harness {
  readonly #closers: (() => Promise<void>)[] = [];

  private constructor(readonly db: TestDatabase) {}

  /** A fresh database, created (an empty SQLite file exists, as an app would have made it). */
  static async create(fixture: AdapterFixture): Promise<Harness> {
    const harness = new Harness(await fixture.create());
    try {
      const adapter = await harness.adapter();
      await adapter.close();
    } catch (error) {
      await harness.dispose();
      throw error;
    }
    return harness;
  }

  /** A new, opened adapter on this database, closed at the end of the test. */
  async adapter(): Promise<Adapter<any>> {
    const adapter = await this.db.adapter();
    await adapter.open({ create: true });
    this.#closers.push(() => adapter.close());
    return adapter;
  }

  /** An upgrader on its own connection, closed at the end of the test. */
  async upgrader(
    appVersion: string,
    steps: UpgraderOptions["steps"],
    options: Partial<Omit<UpgraderOptions, "adapter" | "appVersion" | "steps">> = {},
  ): Promise<Upgrader<any>> {
    const upgrader = new Upgrader({
      adapter: await this.adapter(),
      appVersion,
      steps,
      lease: TEST_LEASE,
      ...options,
    });
    this.#closers.push(() => upgrader.close());
    return upgrader;
  }

  /** The database's state, read through a separate connection. */
  async state(): Promise<DatabaseState> {
    const adapter = await this.db.adapter();
    await adapter.open({ create: false });
    try {
      return await adapter.readState();
    } finally {
      await adapter.close();
    }
  }

  /** The history, read through a separate connection. */
  async history(): Promise<HistoryEntry[]> {
    const adapter = await this.db.adapter();
    await adapter.open({ create: false });
    try {
      return await adapter.readHistory();
    } finally {
      await adapter.close();
    }
  }

  marks(): Promise<string[]> {
    return this.db.marks();
  }

  /** sha256 of the SQLite file, or null for server databases. */
  fileChecksum(): string | null {
    if (!this.db.url.startsWith("sqlite:")) return null;
    const file = this.db.url.slice("sqlite:".length);
    if (!existsSync(file)) return "missing";
    return createHash("sha256").update(readFileSync(file)).digest("hex");
  }

  async dispose(): Promise<void> {
    for (const close of this.#closers.reverse()) await close().catch(() => undefined);
    await this.db.cleanup();
  }
}

/** A step that marks `version/name` through the fixture (and nothing in a dry run). */
export function markStep(
  db: TestDatabase,
  version: string,
  name: string,
  extra: Partial<StepDefinition> = {},
): StepDefinition {
  return upgrade({
    version,
    name,
    run: async (ctx) => {
      if (ctx.dryRun) return { wouldMark: 1 };
      await db.mark(ctx.db, `${version}/${name}`);
      return { marked: 1 };
    },
    ...extra,
  });
}

/**
 * `test(name, fn)` for tests that each need a fresh `T`: made before `fn`, disposed after it
 * in every case, so a failing test leaves nothing behind on the server.
 */
export function testWith<T extends { dispose(): Promise<void> }>(
  create: () => Promise<T>,
): (name: string, fn: (subject: T) => Promise<void>) => void {
  return (name, fn) => {
    it(name, async () => {
      const subject = await create();
      try {
        await fn(subject);
      } finally {
        await subject.dispose();
      }
    });
  };
}

/** `test(name, fn)` giving each test a fresh {@link Harness} on `fixture`, disposed after it. */
export function harnessTest(
  fixture: AdapterFixture,
): (name: string, fn: (h: Harness) => Promise<void>) => void {
  return testWith(() => Harness.create(fixture));
}

/**
 * Declares the suite of one fixture: skipped with one line when LOCKSTEP_TEST_DATABASES
 * leaves it out (in CI too) or when its server is missing; a missing server fails in CI
 * (CI=true) instead.
 */
export async function describeFixture(
  fixture: AdapterFixture,
  describe: (name: string, options: { skip?: string | boolean }, fn: () => void) => unknown,
  body: () => void,
): Promise<void> {
  const unselected = notSelected(fixture.name);
  if (unselected !== null) {
    console.log(`# skipping ${fixture.name}: ${unselected}`);
    describe(fixture.name, { skip: unselected }, body);
    return;
  }
  const reason = await fixture.unavailable();
  if (reason === null) {
    describe(fixture.name, {}, body);
  } else if (process.env.CI === "true") {
    describe(fixture.name, {}, () => {
      it("has its database server available (required in CI)", () => {
        throw new Error(`${fixture.name} is unavailable in CI: ${reason}`);
      });
    });
  } else {
    console.log(`# skipping ${fixture.name}: ${reason} (in CI this fails)`);
    describe(fixture.name, { skip: reason }, body);
  }
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
