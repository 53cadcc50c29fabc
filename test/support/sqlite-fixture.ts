import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { adapterFromUrl } from "../../src/adapters/from-url.js";
import type { AdapterFixture } from "./fixtures.js";

/** SQLite: a temp folder per database. */
const sqliteFixture: AdapterFixture = {
  name: "sqlite",
  atomicSteps: true,
  async unavailable() {
    return null;
  },
  async create() {
    const dir = mkdtempSync(join(tmpdir(), "lockstep-sqlite-"));
    const file = join(dir, "app.db");
    const url = `sqlite:${file}`;
    const { default: Database } = await import("better-sqlite3");
    return {
      url,
      adapter: () => adapterFromUrl(url),
      async mark(db, mark) {
        const conn = db as import("better-sqlite3").Database;
        conn.exec(
          "create table if not exists marks (id integer primary key autoincrement, mark text not null)",
        );
        conn.prepare("insert into marks (mark) values (?)").run(mark);
      },
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
