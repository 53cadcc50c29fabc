/**
 * One isolated test database (a MySQL database, a PostgreSQL schema) and the adapters an
 * adapter suite opened on it, all closed and dropped at the end of the test.
 */
import assert from "node:assert/strict";
import type { Adapter } from "../../src/core/adapter.js";
import type { AdapterFixture, TestDatabase } from "./fixtures.js";

/** A fresh database from a fixture, named by `name` (the database or schema in its URL). */
export class Place {
  readonly #adapters: Adapter<any>[] = [];

  constructor(
    readonly db: TestDatabase,
    readonly name: string,
  ) {}

  /** A fresh database of `fixture`; `namePattern`'s first group takes its name from the URL. */
  static async create<P extends Place>(
    this: new (
      db: TestDatabase,
      name: string,
    ) => P,
    fixture: AdapterFixture,
    namePattern: RegExp,
  ): Promise<P> {
    const db = await fixture.create();
    const name = namePattern.exec(db.url)?.[1];
    if (name === undefined) await db.cleanup();
    assert.ok(name, `no name in ${db.url}`);
    return new this(db, name);
  }

  /** Opens `adapter`, to be closed at the end of the test. */
  async open<A extends Adapter<any>>(adapter: A): Promise<A> {
    await adapter.open({ create: true });
    this.#adapters.push(adapter);
    return adapter;
  }

  async dispose(): Promise<void> {
    for (const adapter of this.#adapters) await adapter.close().catch(() => undefined);
    await this.db.cleanup();
  }
}
