/**
 * The targets of a fleet run: from `--targets FILE` (one `URL` or `name=URL` a line), from
 * `--targets 'GLOB'` (SQLite files), or from the config's `databases` (an array, or a function
 * returning one). Each target has a unique name; its URL is only ever shown redacted.
 */
import { readFileSync, statSync } from "node:fs";
import { basename, extname, resolve } from "node:path";
import { redactUrl, redactUrlsIn } from "../adapters/url.js";
import type { DatabasesSpec } from "../config/define-config.js";
import { LockstepError } from "../core/errors.js";
import { globFiles, isGlob } from "./glob.js";

/** One database of a fleet. */
export interface Target {
  readonly name: string;
  readonly url: string;
  /** The folder a relative SQLite path resolves against (the cwd, or the config's folder). */
  readonly baseDir: string;
  /** Where it was declared, for errors: `targets.txt:3`, `databases[2]`, a glob's match. */
  readonly origin: string;
}

/** Where a run's targets came from, as a run record keeps it. */
export type TargetSource = { readonly targets: string } | { readonly config: true };

const SCHEMES = /^(sqlite|postgres|postgresql|mysql|mariadb|mongodb|mongodb\+srv):/i;
/** A URL lockstep can open: `sqlite:PATH`, or a server scheme followed by `//`. */
const DATABASE_URL = /^(sqlite:|(postgres|postgresql|mysql|mariadb|mongodb|mongodb\+srv):\/\/)/i;
const NAME = /^[A-Za-z0-9][\w.-]*$/;

/** `--targets FILE|GLOB`: an existing file is read; otherwise a pattern with `*`, `?` or `[` is a glob of SQLite files. */
export function targetsFromArgument(argument: string, cwd: string): Target[] {
  const path = resolve(cwd, argument);
  const kind = fileKind(path);
  if (kind === "file") return parseTargetsFile(readTargetsFile(path, argument), argument, cwd);
  if (kind === "folder") {
    throw invalid(
      `--targets ${argument} is a folder`,
      "give a file of URLs, or a glob such as 'tenants/*.db'",
    );
  }
  // The argument may be a URL given by mistake, password and all: never printed as it is.
  const shown = maskedLine(argument);
  const urlHint = SCHEMES.test(argument) ? "; for one database use --database URL" : "";
  if (!isGlob(argument)) {
    throw invalid(
      `--targets ${shown}: no such file`,
      `give a file with one database URL (or name=URL) a line, or a glob of SQLite files in quotes: --targets 'tenants/*.db'${urlHint}`,
    );
  }
  const files = globFiles(argument, cwd);
  if (files.length === 0) {
    throw new LockstepError("E_TARGETS_EMPTY", `--targets '${shown}' matches no file (in ${cwd})${urlHint}`, {
      hint: "check the pattern and the working directory; quote it so the shell does not expand it",
    });
  }
  return unique(
    files.map((file) => target(`sqlite:${file}`, undefined, cwd, file)),
    argument,
  );
}

/** A targets file's text: blank lines and `#` comments ignored, each line `URL` or `name=URL`. */
export function parseTargetsFile(text: string, file: string, baseDir: string): Target[] {
  const out: Target[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.replace(/(^|\s)#.*$/, "").trim();
    if (line === "") return;
    const origin = `${file}:${index + 1}`;
    const named = /^([^=:/\s]+)\s*=\s*(\S.*)$/.exec(line);
    out.push(target(named ? (named[2] as string) : line, named?.[1], baseDir, origin));
  });
  if (out.length === 0) {
    throw new LockstepError("E_TARGETS_EMPTY", `${file} lists no database`, {
      hint: "write one database URL (or name=URL) a line; lines starting with # are comments",
    });
  }
  return unique(out, file);
}

/** The config's `databases`: the list, or what its function returns (a throw is E_TARGETS_INVALID). */
export async function targetsFromConfig(
  databases: DatabasesSpec,
  configPath: string,
  configDir: string,
): Promise<Target[]> {
  let list: unknown = databases;
  if (typeof databases === "function") {
    try {
      list = await databases();
    } catch (error) {
      throw invalid(
        `${configPath}: databases() threw: ${redactUrlsIn((error as Error)?.message ?? String(error))}`,
        "fix the catalog query in the config's `databases` function",
        error,
      );
    }
  }
  if (!Array.isArray(list)) {
    throw invalid(
      `${configPath}: "databases" must be an array (or a function returning one), got ${typeof list}`,
      'databases: ["sqlite:./tenants/a.db", { name: "b", url: "postgres://…/b" }]',
    );
  }
  const targets = list.map((entry, i) => configEntry(entry, `databases[${i}]`, configDir));
  if (targets.length === 0) {
    throw new LockstepError("E_TARGETS_EMPTY", `${configPath}: "databases" lists no database`, {
      hint: "add the databases (or make the function return them), or pass --database URL for one",
    });
  }
  return unique(targets, configPath);
}

function configEntry(entry: unknown, origin: string, baseDir: string): Target {
  if (typeof entry === "string") return target(entry, undefined, baseDir, origin);
  const item = entry as { name?: unknown; url?: unknown } | null;
  if (
    item === null ||
    typeof item !== "object" ||
    typeof item.url !== "string" ||
    (item.name !== undefined && typeof item.name !== "string")
  ) {
    throw invalid(
      `${origin} is neither a URL nor { name, url }`,
      'each entry is "postgres://…/db" or { name: "tenant-a", url: "…" }',
    );
  }
  return target(item.url, item.name, baseDir, origin);
}

function target(written: string, name: string | undefined, baseDir: string, origin: string): Target {
  // A bare SQLite path is kept (and shown) as the sqlite: URL it stands for.
  const bare = !SCHEMES.test(written) && /\.(db|sqlite3?)$/i.test(written);
  const url = bare ? `sqlite:${written}` : written;
  if (!DATABASE_URL.test(url)) {
    throw invalid(
      `${origin}: ${JSON.stringify(maskedLine(url))} is not a database URL`,
      "use sqlite:PATH, postgres://…, mysql://…, mariadb://… or mongodb://…, optionally as name=URL (a name of letters, digits, '.', '_' or '-', unquoted)",
    );
  }
  const own = name ?? nameOf(url);
  if (!NAME.test(own)) {
    throw invalid(
      `${origin}: ${JSON.stringify(own)} is not a usable target name`,
      "name it with letters, digits, '.', '_' or '-': name=URL",
    );
  }
  return { name: own, url, baseDir, origin };
}

/**
 * A line that is no database URL, safe to print: it may still hold a password (`tenant a=postgres://u:pw@h/db`,
 * a quoted URL, `postgres//u:pw@h/db`), so everything between the first `//` (else the line's
 * start) and the last `@` is masked, and password-like query values are redacted.
 */
function maskedLine(line: string): string {
  const at = line.lastIndexOf("@");
  if (at < 0) return redactUrl(line);
  const slashes = line.indexOf("//");
  const start = slashes >= 0 && slashes < at ? slashes + 2 : 0;
  return redactUrl(`${line.slice(0, start)}***${line.slice(at)}`);
}

/**
 * A target's name when none is given: an SQLite file's name without its extension; otherwise
 * the database named in the URL's path, else host:port.
 */
export function nameOf(url: string): string {
  if (/^sqlite:/i.test(url) || !SCHEMES.test(url)) {
    const path = url.replace(/^sqlite:/i, "").replace(/[?#].*$/, "");
    return basename(path, extname(path));
  }
  const afterScheme = url.slice(url.indexOf("://") + 3);
  const at = afterScheme.lastIndexOf("@");
  const rest = afterScheme.slice(at + 1);
  const slash = rest.indexOf("/");
  const host = (slash < 0 ? rest : rest.slice(0, slash)).replace(/[?#].*$/, "");
  const db = slash < 0 ? "" : (rest.slice(slash + 1).split(/[/?#]/)[0] ?? "");
  try {
    return decodeURIComponent(db) || host;
  } catch {
    return db || host;
  }
}

/** Refuses two targets of one name, naming where each was declared. */
function unique(targets: Target[], where: string): Target[] {
  const seen = new Map<string, Target>();
  for (const t of targets) {
    const first = seen.get(t.name);
    if (first) {
      throw invalid(
        `two targets are named "${t.name}" in ${where}: ${first.origin} and ${t.origin}`,
        "give one of them its own name: name=URL (or { name, url } in the config)",
      );
    }
    seen.set(t.name, t);
  }
  return targets;
}

function fileKind(path: string): "file" | "folder" | null {
  try {
    return statSync(path).isDirectory() ? "folder" : "file";
  } catch {
    return null;
  }
}

function readTargetsFile(path: string, shown: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw invalid(
      `cannot read --targets ${shown}: ${(error as Error).message}`,
      "check the file's permissions",
      error,
    );
  }
}

function invalid(message: string, hint: string, cause?: unknown): LockstepError {
  return new LockstepError("E_TARGETS_INVALID", message, { hint, ...(cause !== undefined && { cause }) });
}
