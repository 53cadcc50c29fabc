/**
 * A TypeScript config or step file compiled once with esbuild and kept, by content hash, in
 * `node_modules/.cache/lockstep/` (the nearest `node_modules` above the file): a later run
 * imports the kept JavaScript with no compiler at all. Registering tsx instead costs a loader
 * thread and an esbuild process on every run, most of `lockstep status`'s start-up.
 *
 * The file is bundled with the local files it imports; a package one of them imports stays an
 * import, of the file it resolves to from that importer (so the kept copy imports what the
 * source would, wherever the copy lies). An inline source map makes a stack frame name the .ts
 * line; each bundled file keeps its own `import.meta.url`, `__dirname` and `__filename`. A kept
 * copy is used only while every file in it, and every package file it imports, is unchanged.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { LOCKSTEP_VERSION } from "../version.js";

/** The cache folder below the nearest `node_modules`. */
export const CACHE_SUBDIR = join(".cache", "lockstep");
const TYPESCRIPT = /\.[cm]?tsx?$/;

/** What a kept copy was built from: each input file and its content's hash. */
interface Inputs {
  readonly [path: string]: string;
}

/**
 * The path of `path` compiled to JavaScript (built now, or kept from an earlier run), or
 * undefined when there is no `node_modules` above it, the cache cannot be written, or the
 * file is CommonJS on a Node that cannot `require` an ES module (the caller then compiles it
 * in memory through tsx).
 */
export async function compiledModule(path: string): Promise<string | undefined> {
  const cacheDir = cacheDirFor(path);
  if (cacheDir === undefined) return undefined;
  const format = formatOf(path);
  // CommonJS output `require`s the packages it imports; before Node 20.19 an ES module
  // cannot be required (lockstep is one), which tsx's loader allows: it keeps those.
  if (format === "cjs" && process.features.require_module !== true) return undefined;
  const source = readFileSync(path);
  const key = hash(`${LOCKSTEP_VERSION}\0${format}\0${path}\0`, source);
  const out = join(
    cacheDir,
    `${basename(path).replace(/\.[^.]+$/, "")}-${key.slice(0, 20)}.${format === "esm" ? "mjs" : "cjs"}`,
  );
  if (unchanged(`${out}.inputs.json`)) return out;
  const { code, inputs } = await compile(path, out, format);
  try {
    mkdirSync(cacheDir, { recursive: true });
    writeAtomically(out, code);
    writeAtomically(`${out}.inputs.json`, JSON.stringify(inputs));
  } catch {
    return undefined;
  }
  return out;
}

/** `<nearest node_modules>/.cache/lockstep`, or undefined when there is none. */
function cacheDirFor(path: string): string | undefined {
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    const modules = join(dir, "node_modules");
    if (statSync(modules, { throwIfNoEntry: false })?.isDirectory()) return join(modules, CACHE_SUBDIR);
    if (dirname(dir) === dir) return undefined;
  }
}

/** ESM for .mts and a .ts in a `"type": "module"` package; CommonJS otherwise (as Node and tsx read them). */
function formatOf(path: string): "esm" | "cjs" {
  if (path.endsWith(".mts")) return "esm";
  if (path.endsWith(".cts")) return "cjs";
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    const text = readIfExists(join(dir, "package.json"));
    if (text !== undefined) {
      try {
        return (JSON.parse(text) as { type?: unknown }).type === "module" ? "esm" : "cjs";
      } catch {
        return "cjs";
      }
    }
    if (dirname(dir) === dir) return "cjs";
  }
}

function unchanged(inputsFile: string): boolean {
  const text = readIfExists(inputsFile);
  if (text === undefined) return false;
  try {
    const inputs = JSON.parse(text) as Inputs;
    return Object.entries(inputs).every(([file, digest]) => {
      const content = readIfExists(file, null);
      return content !== undefined && hash("", content) === digest;
    });
  } catch {
    return false;
  }
}

async function compile(
  path: string,
  out: string,
  format: "esm" | "cjs",
): Promise<{ code: string; inputs: Inputs }> {
  const { build } = await import("esbuild");
  const packages = new Set<string>();
  const result = await build({
    entryPoints: [path],
    outfile: out,
    bundle: true,
    platform: "node",
    // Node's own conditions: no "module" (esbuild's default), which may pick another file.
    conditions: [],
    format,
    target: `node${process.versions.node}`,
    sourcemap: "inline",
    sourcesContent: false,
    write: false,
    metafile: true,
    logLevel: "silent",
    define: {
      "import.meta.url": "__lockstep_import_meta_url",
      "import.meta.filename": "__lockstep_filename",
      "import.meta.dirname": "__lockstep_dirname",
      __filename: "__lockstep_filename",
      __dirname: "__lockstep_dirname",
    },
    plugins: [ownLocation, packagesResolved(format, packages)],
  });
  const code = result.outputFiles?.[0]?.text ?? "";
  const inputs: Record<string, string> = {};
  for (const file of [
    ...Object.keys(result.metafile?.inputs ?? {}).map((input) => resolve(input)),
    ...packages,
  ]) {
    inputs[file] = hash("", readFileSync(file));
  }
  return { code, inputs };
}

/** Gives every bundled file its own location, where esbuild's `define` points the names above. */
const ownLocation = {
  name: "lockstep-own-location",
  setup(build: import("esbuild").PluginBuild) {
    build.onLoad({ filter: /\.[cm]?[jt]sx?$/ }, (args) => {
      const contents = readFileSync(args.path, "utf8");
      const where = `const __lockstep_import_meta_url = ${JSON.stringify(pathToFileURL(args.path).href)}, __lockstep_filename = ${JSON.stringify(args.path)}, __lockstep_dirname = ${JSON.stringify(dirname(args.path))};`;
      const loader = TYPESCRIPT.test(args.path) ? (args.path.endsWith("x") ? "tsx" : "ts") : "js";
      // On the first line, so the source map's lines stay the file's own.
      return { contents: `${where}${contents}`, loader };
    });
  },
};

/**
 * A package import (`pg`, `lockstep`, `semver/functions/parse.js`) stays external, as the file
 * it resolves to from its importer; `packages` collects those files.
 */
function packagesResolved(format: "esm" | "cjs", packages: Set<string>) {
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
        return { path: format === "esm" ? pathToFileURL(found.path).href : found.path, external: true };
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
