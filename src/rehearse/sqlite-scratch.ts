/**
 * SQLite: the scratch is a file, filled by SQLite's online backup API (better-sqlite3
 * `.backup()`) from a read-only connection to the source, so the source is never written.
 */
import { existsSync, mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import type BetterSqlite3 from "better-sqlite3";
import { loadDriver } from "../adapters/load-driver.js";
import { DatabaseError } from "../core/errors.js";
import { type ScratchTarget, scratchExists, targetError, throwIfCopyStopped } from "./scratch.js";

type Driver = typeof BetterSqlite3;

/** Pages copied between two progress calls (better-sqlite3's own default). */
const PAGES_PER_CYCLE = 100;

/** The files SQLite keeps beside a database. */
const SIDE_FILES = ["", "-wal", "-shm", "-journal"];

/** Refuses a scratch file that is the source, exists, or has no folder; returns it. */
function checkScratchFile(file: string, source: string): string {
  if (existsSync(file) && realpathSync(file) === realpathSync(source)) {
    throw targetError(`${file} is the source database`, "name another file with --scratch, or leave it out");
  }
  if (existsSync(file)) throw scratchExists(file, "a file is there");
  if (!existsSync(dirname(file))) {
    throw targetError(`the folder of ${file} does not exist`, "create it, or leave --scratch out");
  }
  return file;
}

/**
 * The scratch for the SQLite file `source` (already resolved): `scratch` (a path, resolved
 * against `cwd`) or a file in a new temp folder. Refuses the source itself and any file that exists.
 */
export function sqliteScratch(source: string, cwd: string, scratch?: string, tmpDir?: string): ScratchTarget {
  if (!existsSync(source)) {
    throw new DatabaseError("E_DATABASE_NOT_FOUND", `database file not found: ${source}`, {
      hint: "check the config's database (or --database): rehearse copies an existing database",
    });
  }
  let folder: string | null = null;
  let file = scratch === undefined ? "" : checkScratchFile(resolve(cwd, scratch), source);
  let created = false;
  return {
    kind: "sqlite",
    get url() {
      return `sqlite:${file}`;
    },
    get name() {
      return file === "" ? `a temp copy of ${basename(source)}` : file;
    },
    async copy(signal, progress) {
      const Database = await loadDriver<Driver>("better-sqlite3", "SQLite");
      if (file === "") {
        folder = mkdtempSync(join(tmpDir ?? tmpdir(), "lockstep-rehearse-"));
        file = join(folder, basename(source));
      }
      const db = new Database(source, { readonly: true, fileMustExist: true });
      try {
        created = true;
        let total = 0;
        await db.backup(file, {
          progress({ totalPages, remainingPages }) {
            throwIfCopyStopped(signal);
            total = totalPages;
            progress({ phase: "copy", done: totalPages - remainingPages, total: totalPages, unit: "pages" });
            return PAGES_PER_CYCLE;
          },
        });
        throwIfCopyStopped(signal);
        progress({ phase: "copy", done: total, total, unit: "pages" });
      } finally {
        db.close();
      }
      return "SQLite backup API";
    },
    async drop() {
      if (!created) return;
      if (folder !== null) rmSync(folder, { recursive: true, force: true });
      else for (const side of SIDE_FILES) rmSync(`${file}${side}`, { force: true });
    },
  };
}
