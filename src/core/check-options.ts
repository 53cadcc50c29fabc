/**
 * The one check of a public constructor's or function's option bag (STYLE.md rule 14): an
 * object, every required option present with the right type, no option lockstep does not
 * know. A wrong name is a coded E_INVALID_OPTION naming the expected one
 * (`new PostgresAdapter({ url })`: did you mean `connectionString`?), never a `TypeError`
 * three frames later.
 */
import { closestName, unknownKeys } from "./did-you-mean.js";
import { UsageError } from "./errors.js";

/** The JavaScript type an option must have (`typeof`, with "array" for arrays). */
export type OptionType = "string" | "number" | "boolean" | "object" | "array" | "function";

/** The options a call accepts: name → type; a `?` after the name marks it optional. */
export type OptionsSpec = Readonly<Record<string, OptionType>>;

/**
 * Checks `options`, given to `where` (e.g. "new PostgresAdapter(options)"), against `spec`.
 * Throws E_INVALID_OPTION naming the option and what was expected.
 */
export function checkOptions(options: unknown, where: string, spec: OptionsSpec): void {
  const names = Object.keys(spec).map((key) => key.replace(/\?$/, ""));
  const required = Object.keys(spec).filter((key) => !key.endsWith("?"));
  const shape = `{ ${names.join(", ")} }`;
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw invalid(`${where} takes an options object, got ${describe(options)}`, shape);
  }
  const missing = required.filter((key) => (options as Record<string, unknown>)[key] === undefined);
  for (const key of unknownKeys(options, names)) {
    // A lone wrong name where a required option is missing is most likely that option.
    const guess = closestName(key, names) ?? (missing.length === 1 ? missing[0] : undefined);
    throw invalid(
      `${where}: unknown option \`${key}\`${guess === undefined ? "" : ` (did you mean \`${guess}\`?)`}`,
      shape,
    );
  }
  for (const [key, type] of Object.entries(spec)) {
    const name = key.replace(/\?$/, "");
    const value = (options as Record<string, unknown>)[name];
    if (value === undefined && key.endsWith("?")) continue;
    if (typeOf(value) !== type) {
      throw invalid(`${where}: option \`${name}\` must be ${article(type)}, got ${describe(value)}`, shape);
    }
  }
}

function invalid(message: string, shape: string): UsageError {
  return new UsageError("E_INVALID_OPTION", message, { hint: `the options are ${shape}` });
}

function typeOf(value: unknown): string {
  if (Array.isArray(value)) return "array";
  return value === null ? "null" : typeof value;
}

function article(type: OptionType): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  return typeof value === "string" ? "a string" : typeOf(value) === "object" ? "an object" : String(value);
}
