/**
 * A TypeScript config or step file compiled once with esbuild and kept, by content hash, in
 * `node_modules/.cache/lockstep/` (the nearest `node_modules` above the file): a later run
 * imports the kept JavaScript with no compiler at all. Registering tsx instead costs a loader
 * thread and an esbuild process on every run, most of `lockstep status`'s start-up.
 *
 * The file is bundled with the local files it imports, compiled as tsx compiles them (same
 * whitespace and names, so a step's checksum, taken from its functions' text, is the same);
 * a package one of them imports stays an import, of the file it resolves to from that
 * importer (the kept copy imports what the source would, wherever the copy lies). An inline
 * source map makes a stack frame name the .ts line. A kept copy is used only while every file
 * in it, and every package file it imports, is unchanged.
 *
 * Left to tsx: CommonJS (a .cts, or a .ts in a package without `"type": "module"`), and any
 * file whose bundle reads its own location (`import.meta`, `__dirname`, `__filename`), which
 * a copy elsewhere would change.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { LOCKSTEP_VERSION } from "../version.js";

/** The cache folder below the nearest `node_modules`. */
export const CACHE_SUBDIR = join(".cache", "lockstep");
const TYPESCRIPT = /\.[cm]?tsx?$/;
const OWN_LOCATION = /\bimport\.meta\b|\b__dirname\b|\b__filename\b/;

/** What a kept copy was built from (each file and its content's hash); `tsx`: left to tsx. */
interface Kept {
  readonly inputs: Readonly<Record<string, string>>;
  readonly tsx?: true;
}

/**
 * The path of `path` compiled to JavaScript (built now, or kept from an earlier run), or
 * undefined when it is left to tsx (see above), there is no `node_modules` above it, or the
 * cache cannot be written.
 */
export async function compiledModule(path: string): Promise<string | undefined> {
  const cacheDir = cacheDirFor(path);
  if (cacheDir === undefined || !isModuleFormat(path)) return undefined;
  const key = hash(`${LOCKSTEP_VERSION}\0${path}\0`, readFileSync(path));
  const out = join(cacheDir, `${basename(path).replace(/\.[^.]+$/, "")}-${key.slice(0, 20)}.mjs`);
  const kept = keptFor(`${out}.inputs.json`);
  if (kept !== undefined) return kept.tsx ? undefined : out;
  const { code, inputs, bundled } = await compile(path, out);
  const tsx = bundled.some((file) => OWN_LOCATION.test(readFileSync(file, "utf8")));
  try {
    mkdirSync(cacheDir, { recursive: true });
    if (!tsx) writeAtomically(out, code);
    writeAtomically(`${out}.inputs.json`, JSON.stringify({ inputs, ...(tsx && { tsx }) } satisfies Kept));
  } catch {
    return undefined;
  }
  return tsx ? undefined : out;
}

/** `<nearest node_modules>/.cache/lockstep`, or undefined when there is none. */
function cacheDirFor(path: string): string | undefined {
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    const modules = join(dir, "node_modules");
    if (statSync(modules, { throwIfNoEntry: false })?.isDirectory()) return join(modules, CACHE_SUBDIR);
    if (dirname(dir) === dir) return undefined;
  }
}

/** Is `path` an ES module: a .mts, or a .ts in a `"type": "module"` package (as Node and tsx read it)? */
function isModuleFormat(path: string): boolean {
  if (path.endsWith(".mts")) return true;
  if (path.endsWith(".cts")) return false;
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    const text = readIfExists(join(dir, "package.json"));
    if (text !== undefined) {
      try {
        return (JSON.parse(text) as { type?: unknown }).type === "module";
      } catch {
        return false;
      }
    }
    if (dirname(dir) === dir) return false;
  }
}

/** The kept entry when every file it was built from is unchanged. */
function keptFor(keptFile: string): Kept | undefined {
  const text = readIfExists(keptFile);
  if (text === undefined) return undefined;
  try {
    const kept = JSON.parse(text) as Kept;
    const same = Object.entries(kept.inputs).every(([file, digest]) => {
      const content = readIfExists(file, null);
      return content !== undefined && hash("", content) === digest;
    });
    return same ? kept : undefined;
  } catch {
    return undefined;
  }
}

async function compile(
  path: string,
  out: string,
): Promise<{ code: string; inputs: Record<string, string>; bundled: string[] }> {
  const { build } = await import("esbuild");
  const packages = new Set<string>();
  const result = await build({
    entryPoints: [path],
    outfile: out,
    bundle: true,
    platform: "node",
    format: "esm",
    // Node's own conditions: no "module" (esbuild's default), which may pick another file.
    conditions: [],
    target: `node${process.versions.node}`,
    // As tsx compiles: a function's text (a step's checksum) comes out the same.
    minifyWhitespace: true,
    keepNames: true,
    sourcemap: "inline",
    sourcesContent: false,
    write: false,
    metafile: true,
    logLevel: "silent",
    plugins: [packagesResolved(packages)],
  });
  const code = result.outputFiles?.[0]?.text ?? "";
  const inputs: Record<string, string> = {};
  const bundled = Object.keys(result.metafile?.inputs ?? {}).map((input) => resolve(input));
  for (const file of [...bundled, ...packages]) inputs[file] = hash("", readFileSync(file));
  return { code, inputs, bundled };
}

/**
 * A package import (`pg`, `lockstep`, `semver/functions/parse.js`) stays external, as the file
 * it resolves to from its importer; `packages` collects those files.
 */
function packagesResolved(packages: Set<string>) {
  return {
    name: "lockstep-packages-resolved",
    setup(build: import("esbuild").PluginBuild) {
      build.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.pluginData === RESOLVING || args.path.startsWith("node:")) return undefined;
        const found = await build.resolve(args.path, {
          kind: args.kind,
          resolveDir: args.resolveDir,
          importer: args.importer,
          pluginData: RESOLVING,
        });
        // A builtin (`fs`), or what esbuild cannot find: left as written, for Node to judge.
        if (found.errors.length > 0 || found.external || !isAbsolute(found.path)) {
          return { path: args.path, external: true };
        }
        // TypeScript (a tsconfig `paths` entry naming sources): bundled, as tsx compiles it.
        if (TYPESCRIPT.test(found.path)) return undefined;
        packages.add(found.path);
        return { path: pathToFileURL(found.path).href, external: true };
      });
    },
  };
}
const RESOLVING = Symbol("resolving");

function hash(salt: string, content: Buffer): string {
  return createHash("sha256").update(salt).update(content).digest("hex");
}

function readIfExists(file: string): string | undefined;
function readIfExists(file: string, encoding: null): Buffer | undefined;
function readIfExists(file: string, encoding: "utf8" | null = "utf8"): string | Buffer | undefined {
  try {
    return readFileSync(file, encoding);
  } catch {
    return undefined;
  }
}

/** Written beside, then renamed: a run racing this one reads the old file or the new, never half. */
function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, file);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}
