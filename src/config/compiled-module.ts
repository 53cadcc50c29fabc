/**
 * A TypeScript config or step file compiled once with esbuild and kept, by content hash, in
 * `node_modules/.cache/lockstep/` (the nearest `node_modules` above the file): a later run
 * imports the kept JavaScript with no compiler at all. Registering tsx instead costs a loader
 * thread and an esbuild process on every run, most of `lockstep status`'s start-up.
 *
 * Each file is compiled on its own, as tsx compiles it (same whitespace and names, so a step's
 * checksum, taken from its functions' text, is the same), every import left an import: a
 * package's as written (the copy lies in the source's nearest node_modules, so Node resolves it
 * alike, at run time), a relative import of a TypeScript file's at that file's own kept copy (so
 * the copies of two files importing one module share it; under tsx each file loaded gets its own).
 * Bundling local files in would rename clashing names (a step applied through tsx would then read
 * as edited). An inline source map makes a stack frame name the .ts line. A kept copy is used
 * only while the file, every local file below it and its tsconfig.json are unchanged; copies are
 * written 0600 in a 0700 folder (a config may hold a URL with a password) and never removed by
 * lockstep (another file's copy may import one; delete the folder any time).
 *
 * Left to tsx: CommonJS (a .cts, or a .ts in a package without `"type": "module"`), a file
 * that reads its own location (`import.meta`, `__dirname`, `__filename`, a computed `import()`
 * or a `require()`, resolved from where it runs), one with a namespace import (`import * as`:
 * bundle mode renames names that match its properties), one whose tsconfig.json has options the
 * two compilers may read apart (`extends`, decorators, class fields, JSX, `paths`, `baseUrl`…),
 * one that imports a local JavaScript file, a tsconfig `paths` entry naming TypeScript sources, a
 * package's `#imports`, a file left to tsx or its own importer (a cycle), and one that does not
 * compile (tsx then reports the error as before).
 */
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { LOCKSTEP_VERSION } from "../version.js";

/** The cache folder below the nearest `node_modules`. */
export const CACHE_SUBDIR = join(".cache", "lockstep");
const TYPESCRIPT = /\.[cm]?tsx?$/;
/**
 * Code whose meaning depends on the file's own location: a copy elsewhere would change it. An
 * `import("./x.ts")` of a string is followed like a static import; a computed one is not.
 */
const OWN_LOCATION = /\bimport\.meta\b|\b__dirname\b|\b__filename\b|\bimport\s*\(\s*(?!["'])|\brequire\s*\(/;

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
  return (await keptOrCompiled(path, new Set()))?.out;
}

/** A kept copy, and what it was built from: its own source and every local file it imports, transitively. */
interface Copy {
  readonly out: string;
  readonly inputs: Readonly<Record<string, string>>;
}

/** Why a file goes to tsx: it, or a local file it imports, cannot be kept (see above). */
const LEFT_TO_TSX = "left to tsx";

async function keptOrCompiled(path: string, compiling: Set<string>): Promise<Copy | undefined> {
  const cacheDir = cacheDirFor(path);
  if (cacheDir === undefined || !isModuleFormat(path)) return undefined;
  const source = readFileSync(path);
  const prefix = `${basename(path).replace(/\.[^.]+$/, "")}-${hash(LOCKSTEP_VERSION, Buffer.from(path)).slice(0, 12)}-`;
  const out = join(cacheDir, `${prefix}${hash("", source).slice(0, 20)}.mjs`);
  const kept = keptFor(`${out}.inputs.json`);
  if (kept !== undefined) return kept.tsx ? undefined : { out, inputs: kept.inputs };
  compiling.add(path);
  const outcome = !compilesAsTsx(path, source.toString("utf8"))
    ? LEFT_TO_TSX
    : await compile(path, out, compiling).catch((error: Error) =>
        error.message.includes(LEFT_TO_TSX) ? LEFT_TO_TSX : null,
      );
  compiling.delete(path);
  // It does not compile: tsx reports the error as it always did (nothing kept).
  if (outcome === null) return undefined;
  const tsx = outcome === LEFT_TO_TSX;
  const inputs = tsx ? { [path]: hash("", source) } : outcome.inputs;
  try {
    mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
    chmodSync(cacheDir, 0o700);
    if (!tsx) writeAtomically(out, outcome.code);
    writeAtomically(`${out}.inputs.json`, JSON.stringify({ inputs, ...(tsx && { tsx }) } satisfies Kept));
  } catch {
    return undefined;
  }
  return tsx ? undefined : { out, inputs };
}

/**
 * Would esbuild's output for this file equal tsx's, and run the same from the cache? Not when it
 * depends on its own location (OWN_LOCATION); not with a namespace import (bundle mode renames
 * the file's names that match the namespace's properties, and a step's checksum with them); not
 * when its tsconfig.json has options esbuild and tsx may read differently (an `extends` chain,
 * decorators, class fields, JSX, `paths`/`baseUrl`).
 */
function compilesAsTsx(path: string, text: string): boolean {
  if (OWN_LOCATION.test(text) || NAMESPACE_IMPORT.test(text)) return false;
  const tsconfig = nearestFile(dirname(path), "tsconfig.json");
  return tsconfig === undefined || !TSCONFIG_READ_APART.test(readFileSync(tsconfig, "utf8"));
}
const NAMESPACE_IMPORT = /\bimport\s*\*\s*as\b/;
const TSCONFIG_READ_APART =
  /"(extends|experimentalDecorators|emitDecoratorMetadata|useDefineForClassFields|jsx\w*|paths|baseUrl|verbatimModuleSyntax|preserveValueImports|importsNotUsedAsValues)"/;

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

/**
 * Compiles one file as tsx would, every import left an import: a package's of the file it
 * resolves to, a local TypeScript file's of that file's own kept copy (compiled first). Rejects
 * with LEFT_TO_TSX when a local import cannot be kept (a cycle, a JavaScript file, one left to tsx).
 */
async function compile(
  path: string,
  out: string,
  compiling: Set<string>,
): Promise<{ code: string; inputs: Record<string, string> }> {
  const { build } = await import("esbuild");
  const inputs: Record<string, string> = {};
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
    plugins: [importsResolved(inputs, compiling)],
  });
  const read = Object.keys(result.metafile?.inputs ?? {}).map((input) => resolve(input));
  // Every import stays an import: a bundle of two files could rename names (and checksums).
  if (read.length !== 1) throw new Error(LEFT_TO_TSX);
  const tsconfig = nearestFile(dirname(path), "tsconfig.json");
  for (const file of [path, ...(tsconfig ? [tsconfig] : [])]) {
    inputs[file] = hash("", readFileSync(file));
  }
  return { code: result.outputFiles?.[0]?.text ?? "", inputs };
}

/** The nearest `name` at or above `dir`. */
function nearestFile(dir: string, name: string): string | undefined {
  for (let at = dir; ; at = dirname(at)) {
    if (statSync(join(at, name), { throwIfNoEntry: false })?.isFile()) return join(at, name);
    if (dirname(at) === at) return undefined;
  }
}

/**
 * A package import (`pg`, `lockstep`, `semver/functions/parse.js`) stays external, as the file
 * it resolves to from the source's folder; `packages` collects those files. A relative import
 * of a TypeScript file is kept first and imported from its copy; its inputs join `inputs`, so an edit anywhere below rebuilds this file too.
 */
function importsResolved(inputs: Record<string, string>, compiling: Set<string>) {
  return {
    name: "lockstep-imports-resolved",
    setup(build: import("esbuild").PluginBuild) {
      build.onResolve({ filter: /.*/ }, async (args) => {
        if (args.kind === "entry-point" || args.pluginData === RESOLVING || args.path.startsWith("node:")) {
          return undefined;
        }
        const found = await build.resolve(args.path, {
          kind: args.kind,
          resolveDir: args.resolveDir,
          importer: args.importer,
          pluginData: RESOLVING,
        });
        const local = /^[./]/.test(args.path);
        if (found.errors.length > 0 && local) return { errors: found.errors };
        // A builtin (`fs`), or a package esbuild cannot find: left as written, for Node to judge.
        if (found.errors.length > 0 || found.external || !isAbsolute(found.path)) {
          return { path: args.path, external: true };
        }
        if (local) return localImport(found.path, inputs, compiling);
        // A tsconfig `paths` entry naming TypeScript sources (a package's own, often), or a
        // package's own `#imports` (read from the nearest package.json, which the copy has not).
        if (TYPESCRIPT.test(found.path) || args.path.startsWith("#")) throw new Error(LEFT_TO_TSX);
        // As written: Node resolves it from the copy as from the source (the copy lies in the
        // source's nearest node_modules), at run time, with its --conditions and links as they are then.
        return { path: args.path, external: true };
      });
    },
  };
}

/** A local file imported: its kept copy's URL; LEFT_TO_TSX unless it is TypeScript that can be kept. */
async function localImport(file: string, inputs: Record<string, string>, compiling: Set<string>) {
  if (!TYPESCRIPT.test(file) || compiling.has(file)) throw new Error(LEFT_TO_TSX);
  const copy = await keptOrCompiled(file, compiling);
  if (copy === undefined) throw new Error(LEFT_TO_TSX);
  Object.assign(inputs, copy.inputs);
  return { path: pathToFileURL(copy.out).href, external: true };
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
    writeFileSync(tmp, text, { mode: 0o600 });
    renameSync(tmp, file);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}
