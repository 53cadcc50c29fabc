import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { adapterFromUrl } from "../../src/adapters/from-url.js";
import { type AdapterFixture, TEST_RUN_PREFIX } from "./fixtures.js";

const DIR_PREFIX = `${TEST_RUN_PREFIX}sqlite-`;

/** SQLite: a temp folder `lockstep_t_<run>_sqlite-<random>` per database. */
const sqliteFixture: AdapterFixture = {
  name: "sqlite",
  atomicSteps: true,
  async unavailable() {
    return null;
  },
  async mark(db, mark) {
    const conn = db as import("better-sqlite3").Database;
    conn.exec("create table if not exists marks (id integer primary key autoincrement, mark text not null)");
    conn.prepare("insert into marks (mark) values (?)").run(mark);
  },
  async leftovers() {
    return readdirSync(tmpdir()).filter((name) => name.startsWith(DIR_PREFIX));
  },
  async create() {
    const dir = mkdtempSync(join(tmpdir(), DIR_PREFIX));
    const file = join(dir, "app.db");
    const url = `sqlite:${file}`;
    const { default: Database } = await import("better-sqlite3");
    return {
      url,
      adapter: () => adapterFromUrl(url),
      mark: (db, mark) => sqliteFixture.mark(db, mark),
      async marks() {
        const conn = new Database(file, { fileMustExist: true });
        try {
          const exists = conn.prepare("select 1 from sqlite_master where name = 'marks'").get();
          if (!exists) return [];
          return (conn.prepare("select mark from marks order by id").all() as { mark: string }[]).map(
            (r) => r.mark,
          );
        } finally {
          conn.close();
        }
      },
      async cleanup() {
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

export default sqliteFixture;
