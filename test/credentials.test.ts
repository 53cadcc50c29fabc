/**
 * No credential reaches any output: a table of hostile passwords (raw `@`, `:`, `/`, `#`, `?`,
 * `%`, spaces, non-ASCII) on every database, through the CLI's plain and JSON output and its
 * errors. Each password is fenced by two markers, so a half-printed password (the tail after a
 * raw `@`, the head before a raw `/`) is caught as surely as a whole one.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assertPasswordParses, redactUrl, secretsOf } from "../src/adapters/url.js";
import { isLockstepError } from "../src/core/errors.js";
import { makeProject } from "./support/cli.js";
import { loadFixtures } from "./support/fixtures.js";
import { describeFixture } from "./support/harness.js";

const HEAD = "Zq9";
const TAIL = "Xk7";
/** Characters a password may hold raw in a URL that users paste. */
const HOSTILE = ["@", ":", "/", "#", "?", "%", " ", "ü", "@x:y@", "%40", "&password=1"];

const passwords = HOSTILE.map((inner) => `${HEAD}${inner}${TAIL}`);

/** Every fragment of a password that would give it away. */
function leaks(text: string): string[] {
  return [HEAD, TAIL].filter((marker) => text.includes(marker));
}

describe("redactUrl and secretsOf read the userinfo up to the last @", () => {
  for (const password of passwords) {
    it(`hides ${JSON.stringify(password)}`, () => {
      for (const scheme of ["postgres", "mysql", "mongodb"]) {
        const url = `${scheme}://user:${password}@db.example:1234/app?schema=s`;
        const redacted = redactUrl(url);
        assert.deepEqual(leaks(redacted), [], redacted);
        assert.match(redacted, /^[a-z]+:\/\/user:\*\*\*@/);
        assert.ok(secretsOf(url).includes(password), `secretsOf misses ${password}`);
      }
    });
  }

  it("keeps a URL without a password as it is, and hides password-like query values", () => {
    assert.equal(redactUrl("postgres://user@host/db"), "postgres://user@host/db");
    assert.equal(
      redactUrl("postgres://host/db?sslpassword=Zq9&x=1"),
      "postgres://host/db?sslpassword=***&x=1",
    );
  });
});

describe("a password the driver cannot parse is E_DATABASE_URL, never echoed", () => {
  const cases: Array<[string, boolean]> = [
    ["postgres://u:Zq9/Xk7@h/db", false],
    ["mysql://u:Zq9#Xk7@h/db", false],
    ["postgres://u:Zq9%zzXk7@h/db", false],
    ["mongodb://u:Zq9@Xk7@h/db", true],
    ["mongodb://u:Zq9:Xk7@h/db", true],
  ];
  for (const [url, strict] of cases) {
    it(redactUrl(url), () => {
      assert.throws(
        () => assertPasswordParses(url, { strict }),
        (error: unknown) =>
          isLockstepError(error, "E_DATABASE_URL") &&
          leaks(`${error.message} ${error.hint ?? ""}`).length === 0 &&
          /percent-encode/.test(error.hint ?? ""),
      );
    });
  }
  it("accepts percent-encoded passwords and a raw @ or : where the SQL drivers parse them", () => {
    assertPasswordParses("mongodb://u:Zq9%40Xk7@h/db", { strict: true });
    assertPasswordParses("postgres://u:Zq9@x:Xk7@h/db");
    assertPasswordParses("postgres://h/db?user=a@b");
  });
});

/** `base` with `password` put into its userinfo (a user is added when it has none). */
function withPassword(base: string, password: string): string {
  const match = /^([a-z+]+:\/\/)(?:([^:@/]*)(?::[^@/]*)?@)?(.*)$/i.exec(base);
  if (!match) throw new Error(`cannot read test URL ${redactUrl(base)}`);
  return `${match[1]}${match[2] ?? "lockstep"}:${password}@${match[3]}`;
}

/** A project the CLI runs in (its own config's database is never used: `--database` wins). */
const projectFiles = {
  "package.json": JSON.stringify({ name: "creds", version: "1.0.0", type: "module" }),
  "lockstep.config.mjs": `export default { database: "sqlite:./app.db", steps: [], appVersion: "1.0.0" };\n`,
};

for (const fixture of await loadFixtures()) {
  // A SQLite URL has no userinfo to leak.
  if (fixture.name === "sqlite") continue;
  await describeFixture(fixture, describe, () => {
    it("the CLI prints no fragment of a hostile password: status --json, plan, history", {
      timeout: 180_000,
    }, async () => {
      const database = await fixture.create();
      const project = makeProject(projectFiles);
      try {
        for (const [i, password] of passwords.entries()) {
          const url = withPassword(database.url, password);
          // Every password through status; plan and history (plain output, their own errors) for a few.
          const commands = i < 3 ? [["status", "--json"], ["plan"], ["history"]] : [["status", "--json"]];
          for (const args of commands) {
            const run = await project.run(...(args as string[]), "--database", url);
            const output = `${run.stdout}\n${run.stderr}`;
            assert.deepEqual(
              leaks(output),
              [],
              `${args.join(" ")} with ${JSON.stringify(password)}:\n${output}`,
            );
            assert.doesNotMatch(output, /E_UNEXPECTED|\n\s+at /, `uncoded error:\n${output}`);
            if (args[0] !== "history") {
              // It got as far as the database: connected (a redacted target) or a coded database error.
              assert.match(
                output,
                /\*\*\*@|E_DATABASE_[A-Z]+/,
                `${args.join(" ")} never reached the database:\n${output}`,
              );
            }
          }
        }
      } finally {
        project.cleanup();
        await database.cleanup();
      }
    });
  });
}
