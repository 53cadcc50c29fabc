/**
 * A small glob for `--targets 'tenants/*.db'`: `*`, `?` and `[...]` within one path segment,
 * `**` for any depth. Node 20 has no fs.glob; this walks only the folders the pattern names.
 */
import { readdirSync, statSync } from "node:fs";
import { isAbsolute, join, relative, resolve } from "node:path";

/** True when `text` holds a glob character (`*`, `?`, `[`). */
export function isGlob(text: string): boolean {
  return /[*?[]/.test(text);
}

/** The files matching `pattern` (relative to `cwd` unless absolute), as the pattern spells them, sorted. */
export function globFiles(pattern: string, cwd: string): string[] {
  const absolute = isAbsolute(pattern);
  const segments = pattern.split("/").filter((s, i) => s !== "" || i === 0);
  const start = absolute ? "/" : cwd;
  const matches = walk(start, absolute ? segments.slice(1) : segments);
  return matches
    .map((path) => (absolute ? path : relative(cwd, path)))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function walk(dir: string, segments: readonly string[]): string[] {
  const [segment, ...rest] = segments;
  if (segment === undefined) return isFile(dir) ? [dir] : [];
  if (segment === "**") {
    const here = walk(dir, rest);
    const deeper = subfolders(dir).flatMap((sub) => walk(join(dir, sub), segments));
    return [...here, ...deeper];
  }
  if (!isGlob(segment)) return walk(resolve(dir, segment), rest);
  const regex = segmentRegex(segment);
  return entries(dir)
    .filter((name) => regex.test(name) && !(name.startsWith(".") && !segment.startsWith(".")))
    .flatMap((name) => walk(join(dir, name), rest));
}

/** One path segment's pattern as an anchored regular expression. */
function segmentRegex(segment: string): RegExp {
  let out = "";
  for (let i = 0; i < segment.length; i++) {
    const ch = segment[i] as string;
    const close = ch === "[" ? segment.indexOf("]", i + 2) : -1;
    if (ch === "*") out += "[^/]*";
    else if (ch === "?") out += "[^/]";
    else if (close > 0) {
      const body = segment
        .slice(i + 1, close)
        .replace(/^!/, "^")
        .replace(/\\/g, "\\\\");
      out += `[${body}]`;
      i = close;
    } else out += ch.replace(/[.+^${}()|\\\]]/g, "\\$&");
  }
  return new RegExp(`^${out}$`);
}

function entries(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function subfolders(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && !e.name.startsWith("."))
      .map((e) => e.name);
  } catch {
    return [];
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
