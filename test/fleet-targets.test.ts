/** Fleet targets: the --targets file and glob, the config's databases, names and their errors. */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { isLockstepError } from "../src/core/errors.js";
import { nameOf, parseTargetsFile, targetsFromArgument, targetsFromConfig } from "../src/fleet/targets.js";
import { makeProject } from "./support/cli.js";

const dir = mkdtempSync(join(tmpdir(), "lockstep-fleet-targets-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function fails(fn: () => unknown, code: string, message?: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(isLockstepError(error), String(error));
    assert.equal(error.code, code);
    if (message) assert.match(error.message, message);
    return true;
  });
}

async function rejects(promise: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isLockstepError(error), String(error));
    assert.equal(error.code, code);
    if (message) assert.match(error.message, message);
    return true;
  });
}

describe("a targets file", () => {
  test("one URL or name=URL a line; blank lines, whole-line and trailing # comments ignored", () => {
    const text = [
      "# tenants of the lab",
      "",
      "sqlite:./tenants/alpha.db",
      "beta=postgres://app:pw@db.example:5432/beta_db   # the big one",
      "   mongodb://127.0.0.1:27017/gamma?app=datalab",
      "delta = mysql://root@127.0.0.1:3306/d#x",
      "tenants/epsilon.sqlite3",
    ].join("\n");
    const targets = parseTargetsFile(text, "targets.txt", "/base");
    assert.deepEqual(
      targets.map((t) => [t.name, t.url, t.origin]),
      [
        ["alpha", "sqlite:./tenants/alpha.db", "targets.txt:3"],
        ["beta", "postgres://app:pw@db.example:5432/beta_db", "targets.txt:4"],
        ["gamma", "mongodb://127.0.0.1:27017/gamma?app=datalab", "targets.txt:5"],
        ["delta", "mysql://root@127.0.0.1:3306/d#x", "targets.txt:6"],
        // A bare SQLite path stands for (and is shown as) its sqlite: URL.
        ["epsilon", "sqlite:tenants/epsilon.sqlite3", "targets.txt:7"],
      ],
    );
    assert.equal(targets[0]?.baseDir, "/base");
  });

  test("a duplicate name names both lines", () => {
    fails(
      () => parseTargetsFile("sqlite:a/t.db\n\nsqlite:b/t.db\n", "list.txt", "/"),
      "E_TARGETS_INVALID",
      /"t".*list\.txt:1 and list\.txt:3/,
    );
  });

  test("a line that is not a database URL names its line, its password redacted", () => {
    fails(
      () => parseTargetsFile("sqlite:a.db\nx=ftp://u:hunter2@h/db\n", "list.txt", "/"),
      "E_TARGETS_INVALID",
      /list\.txt:2/,
    );
    try {
      parseTargetsFile("x=ftp://u:hunter2@h/db\n", "list.txt", "/");
    } catch (error) {
      assert.doesNotMatch((error as Error).message, /hunter2/);
    }
  });

  test("a bad line that still holds a password never shows it: the line named, the userinfo masked", () => {
    const lines = {
      "tenant a=postgres://app:s3cretA@host/db": /^list\.txt:2: "tenant a=postgres:\/\/\*\*\*@host\/db"/,
      '"postgres://app:s3cretB@host/db"': /^list\.txt:2: "\\"postgres:\/\/\*\*\*@host\/db\\""/,
      "postgres//app:s3cretC@host/db": /^list\.txt:2: "postgres\/\/\*\*\*@host\/db"/,
      "postgres:app:s3cretD@host/db": /^list\.txt:2: "\*\*\*@host\/db"/,
      "x=app:s3c@retE@host/db?password=s3cretF": /^list\.txt:2: "\*\*\*@host\/db\?password=\*\*\*"/,
      "x=ftp://u:s3cretG@h/db": /^list\.txt:2: "ftp:\/\/\*\*\*@h\/db"/,
    };
    for (const [line, shown] of Object.entries(lines)) {
      assert.throws(
        () => parseTargetsFile(`sqlite:a.db\n${line}\n`, "list.txt", "/"),
        (error: unknown) => {
          assert.ok(isLockstepError(error), String(error));
          assert.equal(error.code, "E_TARGETS_INVALID");
          assert.match(error.message, shown);
          assert.doesNotMatch(`${error.message} ${error.hint}`, /s3c/, line);
          return true;
        },
      );
    }
  });

  test("through the CLI, with and without --json, a bad line's password is printed nowhere", async () => {
    const project = makeProject({
      "package.json": JSON.stringify({ name: "app", version: "1.0.0", type: "module" }),
      "lockstep.config.mjs": 'export default { steps: "./upgrades" };\n',
      "upgrades/1.0.0-a.sql": "create table a (id integer);\n",
    });
    try {
      const bad = [
        "tenant a=postgres://app:s3cretA@host/db",
        '"postgres://app:s3cretB@host/db"',
        "postgres//app:s3cretC@host/db",
      ];
      for (const [i, line] of bad.entries()) {
        project.write(`list${i}.txt`, `sqlite:ok.db\n${line}\n`);
        for (const args of [
          ["status", "--targets", `list${i}.txt`],
          ["status", "--targets", `list${i}.txt`, "--json"],
          ["upgrade", "--targets", `list${i}.txt`, "--yes", "--json"],
        ]) {
          const run = await project.run(...args);
          assert.equal(run.code, 1, `${args.join(" ")}: ${run.stdout}${run.stderr}`);
          assert.match(run.stdout + run.stderr, /E_TARGETS_INVALID/);
          assert.match(run.stdout + run.stderr, new RegExp(`list${i}\\.txt:2`));
          assert.doesNotMatch(run.stdout + run.stderr, /s3cret/, `${args.join(" ")} printed the password`);
        }
      }
    } finally {
      project.cleanup();
    }
  });

  test("a file with only comments is E_TARGETS_EMPTY; a missing one E_TARGETS_INVALID", () => {
    const file = join(dir, "empty.txt");
    writeFileSync(file, "# nothing yet\n\n");
    fails(() => targetsFromArgument(file, dir), "E_TARGETS_EMPTY");
    fails(() => targetsFromArgument("no-such-file.txt", dir), "E_TARGETS_INVALID", /no such file/);
    fails(() => targetsFromArgument(".", dir), "E_TARGETS_INVALID", /folder/);
  });

  test("a URL given to --targets by mistake is never echoed with its password, and --database is named", () => {
    for (const [argument, code] of [
      ["postgres://u:S3CRETarg@127.0.0.1:5432/t1_pga", "E_TARGETS_INVALID"],
      ["postgres://u:S3CRETarg@127.0.0.1:5432/t1_pg[ab]", "E_TARGETS_EMPTY"],
    ] as const) {
      assert.throws(
        () => targetsFromArgument(argument, dir),
        (error: unknown) => {
          assert.ok(isLockstepError(error), String(error));
          assert.equal(error.code, code);
          const shown = `${error.message} ${error.hint ?? ""}`;
          assert.doesNotMatch(shown, /S3CRET/);
          assert.match(shown, /--database URL/);
          return true;
        },
      );
    }
  });
});

describe("a glob of SQLite files", () => {
  test("matches files relative to the cwd, sorted, named by file name", () => {
    const root = join(dir, "glob");
    mkdirSync(join(root, "tenants", "old"), { recursive: true });
    for (const f of ["b.db", "a.db", "c.sqlite", "notes.txt"]) writeFileSync(join(root, "tenants", f), "");
    writeFileSync(join(root, "tenants", "old", "z.db"), "");
    const targets = targetsFromArgument("tenants/*.db", root);
    assert.deepEqual(
      targets.map((t) => [t.name, t.url, t.baseDir]),
      [
        ["a", "sqlite:tenants/a.db", root],
        ["b", "sqlite:tenants/b.db", root],
      ],
    );
    assert.deepEqual(
      targetsFromArgument("tenants/**/[a-z].db", root).map((t) => t.name),
      ["a", "b", "z"],
    );
    assert.deepEqual(
      targetsFromArgument("tenants/?.sqlite", root).map((t) => t.url),
      ["sqlite:tenants/c.sqlite"],
    );
  });

  test("a glob matching nothing is E_TARGETS_EMPTY; two files of one name E_TARGETS_INVALID", () => {
    fails(() => targetsFromArgument("nowhere/*.db", dir), "E_TARGETS_EMPTY");
    const root = join(dir, "dupes");
    for (const sub of ["x", "y"]) {
      mkdirSync(join(root, sub), { recursive: true });
      writeFileSync(join(root, sub, "t.db"), "");
    }
    fails(() => targetsFromArgument("*/t.db", root), "E_TARGETS_INVALID", /x\/t\.db and y\/t\.db/);
  });
});

describe("the config's databases", () => {
  test("an array of URLs and { name, url }, relative to the config's folder", async () => {
    const targets = await targetsFromConfig(
      ["sqlite:./one.db", { name: "two", url: "postgres://app@h/second" }],
      "/app/lockstep.config.ts",
      "/app",
    );
    assert.deepEqual(
      targets.map((t) => [t.name, t.origin, t.baseDir]),
      [
        ["one", "databases[0]", "/app"],
        ["two", "databases[1]", "/app"],
      ],
    );
  });

  test("an async function (a catalog query) is awaited", async () => {
    const targets = await targetsFromConfig(
      async () => [1, 2, 3].map((n) => `postgres://app@h/tenant_${n}`),
      "c.ts",
      "/",
    );
    assert.deepEqual(
      targets.map((t) => t.name),
      ["tenant_1", "tenant_2", "tenant_3"],
    );
  });

  test("a throwing function, a bad entry, a non-array: E_TARGETS_INVALID; an empty list: E_TARGETS_EMPTY", async () => {
    await rejects(
      targetsFromConfig(
        async () => {
          throw new Error("catalog down at postgres://cat:topsecret@h/catalog");
        },
        "c.ts",
        "/",
      ),
      "E_TARGETS_INVALID",
      /databases\(\) threw: catalog down at postgres:\/\/cat:\*\*\*@h\/catalog/,
    );
    await rejects(
      targetsFromConfig([{ url: 42 }] as never, "c.ts", "/"),
      "E_TARGETS_INVALID",
      /databases\[0\]/,
    );
    await rejects(targetsFromConfig("sqlite:x.db" as never, "c.ts", "/"), "E_TARGETS_INVALID", /array/);
    await rejects(targetsFromConfig([], "c.ts", "/"), "E_TARGETS_EMPTY");
    await rejects(
      targetsFromConfig(["postgres://h/a", { name: "a", url: "sqlite:b.db" }], "c.ts", "/"),
      "E_TARGETS_INVALID",
      /databases\[0\] and databases\[1\]/,
    );
  });
});

test("names: SQLite file name, else the database in the URL's path, else host:port", () => {
  assert.equal(nameOf("sqlite:/var/lib/lab/group-7.sqlite3"), "group-7");
  assert.equal(nameOf("postgres://u:p@ss@host:5432/tenant_a?sslmode=require"), "tenant_a");
  assert.equal(nameOf("mongodb+srv://u:p@cluster0.example.net/lab_b?retryWrites=true"), "lab_b");
  assert.equal(nameOf("mysql://root@127.0.0.1:3306"), "127.0.0.1:3306");
});
