/**
 * The checks of `ctx.batchRanges`' statement, made before anything is written: its form for the
 * database's query language, and on SQL its two placeholders (the range's first and last key)
 * in the driver's style, counted outside string literals, quoted names and comments. Every
 * failure is `E_INVALID_BATCH`, naming what to write instead.
 */
import type { AdapterCapabilities, RangeStatement } from "./adapter.js";
import { StepDefinitionError } from "./errors.js";

type ParameterStyle = NonNullable<AdapterCapabilities["rangeParameters"]>;

/** Each parameter style (see `AdapterCapabilities.rangeParameters`) in words, with an example. */
const PLACEHOLDERS: Readonly<Record<ParameterStyle, { readonly words: string; readonly example: string }>> = {
  $n: { words: "$1 and $2", example: "update items set … where id between $1 and $2" },
  "?n": { words: "?1 and ?2", example: "update items set … where id between ?1 and ?2" },
  "?": { words: "two ? (first key, then last key)", example: "update items set … where id between ? and ?" },
};

function invalid(message: string, hint: string): StepDefinitionError {
  return new StepDefinitionError("E_INVALID_BATCH", message, { hint });
}

/** The SQL text of a range statement, refusing anything that is not a string or `{ sql }`. */
function sqlText(statement: RangeStatement, database: string, style: ParameterStyle): string {
  const text = typeof statement === "string" ? statement : (statement as { sql?: unknown } | null)?.sql;
  if (typeof text !== "string" || text.trim() === "") {
    throw invalid(
      `ctx.batchRanges on ${database} takes an SQL statement (a string or { sql }), got ${describe(statement)}`,
      `pass e.g. "${PLACEHOLDERS[style].example}"`,
    );
  }
  return text;
}

/** String literals and quoted names, and the comments and quotes of each style's database. */
const SKIPPED: Readonly<Record<ParameterStyle, RegExp>> = {
  // PostgreSQL: dollar-quoted strings; `#` is an operator there (`#>`), not a comment.
  $n: /'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|\/\*[\s\S]*?\*\/|\$([A-Za-z_]\w*)?\$[\s\S]*?\$\1\$/g,
  "?n": /'(?:[^']|'')*'|"(?:[^"]|"")*"|`(?:[^`]|``)*`|\[[^\]]*\]|--[^\n]*|\/\*[\s\S]*?\*\//g,
  // MySQL: backslash escapes in strings, backquoted names, `#` comments.
  "?": /'(?:[^'\\]|''|\\.)*'|"(?:[^"\\]|""|\\.)*"|`(?:[^`]|``)*`|--\s[^\n]*|#[^\n]*|\/\*[\s\S]*?\*\//g,
};

/** The statement with what `style`'s database does not read as code (literals, names, comments) blanked out. */
export function codeOnly(sql: string, style: ParameterStyle): string {
  return sql.replace(SKIPPED[style], " ");
}

/** The placeholders of `code` (already {@link codeOnly}) in `style`, or a reason they are wrong. */
function placeholderProblem(code: string, style: ParameterStyle): string | null {
  if (style === "$n") {
    const numbers = new Set([...code.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
    const extra = [...numbers].filter((n) => n !== 1 && n !== 2);
    if (extra.length > 0) return `it uses $${extra[0]}, but only $1 and $2 (first and last key) are bound`;
    if (!numbers.has(1) || !numbers.has(2)) return "it does not use both $1 and $2";
    return null;
  }
  if (style === "?n") {
    const marks = [...code.matchAll(/\?(\d*)/g)].map((m) => m[1] ?? "");
    if (marks.includes("")) return "it uses a bare ?, numbered after the others";
    const extra = marks.filter((n) => n !== "1" && n !== "2");
    if (extra.length > 0) return `it uses ?${extra[0]}, but only ?1 and ?2 (first and last key) are bound`;
    if (/(^|[^\w:])[:@$][A-Za-z_]/.test(code)) return "it uses a named parameter, which nothing binds";
    if (!marks.includes("1") || !marks.includes("2")) return "it does not use both ?1 and ?2";
    return null;
  }
  const count = (code.match(/\?/g) ?? []).length;
  return count === 2 ? null : `it has ${count} ? placeholder(s), not two`;
}

/** A MongoDB range statement's form: `{ update }` or `{ pipeline }` ending in `$merge`. */
function checkMongoStatement(statement: RangeStatement): void {
  const hint =
    'pass { update: { $set: { … } } } (an update document, or an update pipeline on MongoDB 4.2+), or { pipeline: [ …, { $merge: { into: "items", on: "_id", whenNotMatched: "discard" } } ] }';
  if (statement === null || typeof statement !== "object" || Array.isArray(statement)) {
    throw invalid(
      `ctx.batchRanges on MongoDB takes { update } or { pipeline }, got ${describe(statement)}`,
      hint,
    );
  }
  const fields = Object.keys(statement);
  if (fields.length !== 1 || (fields[0] !== "update" && fields[0] !== "pipeline")) {
    throw invalid(
      `ctx.batchRanges on MongoDB takes { update } or { pipeline }, got { ${fields.join(", ")} }`,
      hint,
    );
  }
  if ("update" in statement) {
    const update = statement.update;
    const ok = Array.isArray(update)
      ? update.length > 0 && update.every(isDocument)
      : isDocument(update) &&
        Object.keys(update).length > 0 &&
        Object.keys(update).every((k) => k.startsWith("$"));
    if (!ok)
      throw invalid(
        "the range statement's update is neither an update document ({ $set: … }) nor a pipeline",
        hint,
      );
    return;
  }
  const pipeline = (statement as { pipeline: unknown }).pipeline;
  const last = Array.isArray(pipeline) ? pipeline[pipeline.length - 1] : undefined;
  if (!Array.isArray(pipeline) || !pipeline.every(isDocument) || !isDocument(last) || !("$merge" in last)) {
    throw invalid(
      "the range statement's pipeline does not end in a $merge stage: it would write nothing",
      hint,
    );
  }
}

function isDocument(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? `{ ${Object.keys(value as object).join(", ")} }` : typeof value;
}

/**
 * Refuses a statement `database` (its display name) could not run once per range with the
 * range's two keys, judged by its capabilities. Returns what the adapter runs: the SQL text, or
 * the MongoDB statement.
 */
export function validateRangeStatement(
  statement: RangeStatement,
  capabilities: AdapterCapabilities,
  database: string,
): RangeStatement {
  const style = capabilities.rangeParameters;
  if (capabilities.queryLanguage === "mongodb" || style === null) {
    checkMongoStatement(statement);
    return statement;
  }
  const sql = sqlText(statement, database, style);
  const problem = placeholderProblem(codeOnly(sql, style), style);
  if (problem) {
    const { words, example } = PLACEHOLDERS[style];
    throw invalid(
      `the range statement cannot take the range's keys on ${database}: ${problem}`,
      `bind the range's first and last key as ${words}, e.g. "${example}"`,
    );
  }
  return sql;
}
