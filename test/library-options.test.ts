/**
 * Issue 9 item 17: every public constructor and function checks its options, and a wrong
 * name is E_INVALID_OPTION naming the expected one, never a TypeError from deep inside.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { adapterFromUrl } from "../src/adapters/from-url.js";
import { MongoAdapter } from "../src/adapters/mongodb/mongodb-adapter.js";
import { MysqlAdapter } from "../src/adapters/mysql/mysql-adapter.js";
import { PostgresAdapter } from "../src/adapters/postgres/postgres-adapter.js";
import { SqliteAdapter } from "../src/adapters/sqlite/sqlite-adapter.js";
import { isLockstepError } from "../src/core/errors.js";
import { Upgrader } from "../src/core/upgrader.js";
import { checkDatabase } from "../src/guard/index.js";
import { rejectsWith } from "./support/assertions.js";

/** Asserts `fn` throws E_INVALID_OPTION whose message matches `pattern`. */
function throwsInvalid(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(isLockstepError(error, "E_INVALID_OPTION"), `expected E_INVALID_OPTION, got ${error}`);
    assert.match(error.message, pattern);
    return true;
  });
}

const anyNew = (C: new (o: any) => unknown) => (options: unknown) => () => new C(options);

describe("library options", () => {
  it("new PostgresAdapter({ url }): did you mean `connectionString`?", () => {
    throwsInvalid(
      anyNew(PostgresAdapter)({ url: "postgres://x@h/db" }),
      /`url`.*did you mean `connectionString`/,
    );
  });
  it("new MysqlAdapter({ url }): did you mean `uri`?", () => {
    throwsInvalid(anyNew(MysqlAdapter)({ url: "mysql://x@h/db" }), /`url`.*did you mean `uri`/);
  });
  it("new SqliteAdapter({ file }): did you mean `filename`?", () => {
    throwsInvalid(anyNew(SqliteAdapter)({ file: "app.db" }), /`file`.*did you mean `filename`/);
  });
  it("new MongoAdapter({ uri }): did you mean `url`?", () => {
    throwsInvalid(anyNew(MongoAdapter)({ uri: "mongodb://h/db" }), /`uri`.*did you mean `url`/);
  });
  it("a misspelt optional option is named with the closest one", () => {
    throwsInvalid(
      anyNew(PostgresAdapter)({ connectionString: "postgres://x@h/db", schem: "s" }),
      /`schem`.*did you mean `schema`/,
    );
  });
  it("no options object, or a required option of the wrong type", () => {
    throwsInvalid(anyNew(SqliteAdapter)(undefined), /options object/);
    throwsInvalid(anyNew(SqliteAdapter)("app.db"), /options object/);
    throwsInvalid(anyNew(PostgresAdapter)({ connectionString: 5 }), /`connectionString` must be a string/);
  });
  it("new Upgrader({ adaptor }): did you mean `adapter`?", () => {
    throwsInvalid(
      () => new Upgrader({ adaptor: {}, appVersion: "1.0.0", steps: [] } as any),
      /`adaptor`.*did you mean `adapter`/,
    );
    throwsInvalid(
      () =>
        new Upgrader({ adapter: new SqliteAdapter({ filename: ":memory:" }), appVersion: "1.0.0" } as any),
      /`steps` must be an array/,
    );
  });
  it("checkDatabase({ polcy }): did you mean `policy`?", async () => {
    const adapter = new SqliteAdapter({ filename: ":memory:" });
    const error = await rejectsWith(
      checkDatabase({ adapter, appVersion: "1.0.0", steps: [], polcy: "warn" } as any),
      "E_INVALID_OPTION",
    );
    assert.match(error.message, /did you mean `policy`/);
  });
  it("adapterFromUrl({ url }) and a misspelt option", async () => {
    await rejectsWith(adapterFromUrl({ url: "sqlite:x.db" } as any), "E_INVALID_OPTION");
    const error = await rejectsWith(
      adapterFromUrl("sqlite:x.db", { basedir: "/tmp" } as any),
      "E_INVALID_OPTION",
    );
    assert.match(error.message, /did you mean `baseDir`/);
  });
});
