import { extname } from "node:path";
import { pathToFileURL } from "node:url";
import { ConfigError } from "../core/errors.js";
import { compiledModule } from "./compiled-module.js";

// Modules being imported now, innermost last: when one's top-level await never settles,
// Node drains its event loop and exits 0 mid-import, so the CLI asks which one it was.
const loading: string[] = [];

/**
 * Imports a module, TypeScript included, without a build step: compiled once and kept
 * (compiled-module.ts), else through tsx.
 */
export async function importModule(path: string): Promise<Record<string, unknown>> {
  const ext = extname(path);
  loading.push(path);
  let module: Record<string, unknown>;
  try {
    module = (
      ext === ".ts" || ext === ".mts" || ext === ".cts" || ext === ".tsx"
        ? await importTypeScript(path)
        : await import(pathToFileURL(path).href)
    ) as Record<string, unknown>;
  } finally {
    loading.splice(loading.lastIndexOf(path), 1);
  }
  // A TypeScript file in a CommonJS package compiles to `exports.default = …`, which an
  // ESM import sees as `default.default`.
  const inner = module.default as Record<string, unknown> | undefined;
  if (inner && typeof inner === "object" && inner.__esModule === true && "default" in inner) return inner;
  return module;
}

async function importTypeScript(path: string): Promise<unknown> {
  const compiled = await compiledModule(path);
  if (compiled !== undefined) return import(pathToFileURL(compiled).href);
  const { tsImport } = await import("tsx/esm/api");
  return tsImport(pathToFileURL(path).href, import.meta.url);
}

/**
 * The error for a module whose import never settled (a top-level await waiting for
 * something that can never happen), or undefined when no import is under way.
 */
export function unsettledImportError(): ConfigError | undefined {
  const path = loading.at(-1);
  if (path === undefined) return undefined;
  return new ConfigError(
    "E_UNSETTLED",
    `${path} never finished loading: its top-level await waits for something that can never happen`,
    { hint: "fix the top-level await in that file (or in a module it imports), then run the command again" },
  );
}
