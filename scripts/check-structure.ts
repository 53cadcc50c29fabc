/**
 * `npm run check:structure`: fails when src/ breaks the shape STYLE.md asks for. Prints one
 * line per offender as `file:line: what`, and exits 1 when there is any:
 *
 * - a file over 450 lines;
 * - a function, method, accessor, constructor or arrow function over 60 lines;
 * - an import cycle (runtime imports only: `import type` and `export type` are erased by
 *   `verbatimModuleSyntax`, and a dynamic `import()` is how a cycle is broken on purpose).
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

/** The most lines a file under src/ may have. */
export const MAX_FILE_LINES = 450;
/** The most lines one function may span, from its first line to its closing brace. */
export const MAX_FUNCTION_LINES = 60;

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** One thing that breaks a rule, at `file:line`. */
interface Offence {
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

/** Every `.ts` file under `dir` (declaration files excluded), sorted. */
function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) out.push(path);
  }
  return out.sort();
}

const lineOf = (source: ts.SourceFile, pos: number) => source.getLineAndCharacterOfPosition(pos).line + 1;

/** What a reader calls a function node: `Class.method`, `name`, or `(arrow)`. */
function functionName(node: ts.FunctionLikeDeclaration): string {
  const own = node.name && ts.isIdentifier(node.name) ? node.name.text : node.name?.getText();
  const parent = node.parent;
  const holder = ts.isClassLike(parent) && parent.name ? `${parent.name.text}.` : "";
  if (ts.isConstructorDeclaration(node)) return `${holder}constructor`;
  if (own) return `${holder}${own}`;
  if (ts.isVariableDeclaration(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  if (ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) return parent.name.getText();
  return ts.isArrowFunction(node) ? "(arrow function)" : "(function)";
}

/** Functions longer than {@link MAX_FUNCTION_LINES} in one file. */
function longFunctions(source: ts.SourceFile, file: string): Offence[] {
  const out: Offence[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && "body" in node && node.body) {
      const fn = node as ts.FunctionLikeDeclaration;
      const first = lineOf(source, fn.getStart(source));
      const lines = lineOf(source, fn.getEnd()) - first + 1;
      if (lines > MAX_FUNCTION_LINES)
        out.push({
          file,
          line: first,
          message: `${functionName(fn)} is ${lines} lines (max ${MAX_FUNCTION_LINES})`,
        });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

/** The src/ file a relative specifier names (`./x.js` → x.ts, `./dir` → dir/index.ts), if any. */
function resolveImport(from: string, specifier: string, known: ReadonlySet<string>): string | undefined {
  if (!specifier.startsWith(".")) return undefined;
  const base = resolve(dirname(from), specifier);
  const candidates = [base.replace(/\.(m|c)?js$/, ".$1ts"), `${base}.ts`, join(base, "index.ts")];
  return candidates.find((c) => known.has(c));
}

/** Each file's runtime imports of other src/ files, with the line of the statement. */
function importGraph(sources: ReadonlyMap<string, ts.SourceFile>): Map<string, Map<string, number>> {
  const known = new Set(sources.keys());
  const graph = new Map<string, Map<string, number>>();
  for (const [file, source] of sources) {
    const edges = new Map<string, number>();
    for (const statement of source.statements) {
      const typeOnly =
        (ts.isImportDeclaration(statement) && statement.importClause?.isTypeOnly === true) ||
        (ts.isExportDeclaration(statement) && statement.isTypeOnly);
      const specifier =
        ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)
          ? statement.moduleSpecifier
          : undefined;
      if (typeOnly || !specifier || !ts.isStringLiteral(specifier)) continue;
      const target = resolveImport(file, specifier.text, known);
      if (target && !edges.has(target)) edges.set(target, lineOf(source, statement.getStart(source)));
    }
    graph.set(file, edges);
  }
  return graph;
}

/** One cycle through each strongly connected group of files (Tarjan), as the files in order. */
function cycles(graph: ReadonlyMap<string, ReadonlyMap<string, number>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  const connect = (file: string): void => {
    index.set(file, index.size);
    low.set(file, index.get(file)!);
    stack.push(file);
    onStack.add(file);
    for (const next of graph.get(file)?.keys() ?? []) {
      if (!index.has(next)) {
        connect(next);
        low.set(file, Math.min(low.get(file)!, low.get(next)!));
      } else if (onStack.has(next)) low.set(file, Math.min(low.get(file)!, index.get(next)!));
    }
    if (low.get(file) !== index.get(file)) return;
    const group: string[] = [];
    let member: string | undefined;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      group.push(member);
    } while (member !== file);
    if (group.length > 1 || graph.get(file)?.has(file)) groups.push(group);
  };
  for (const file of graph.keys()) if (!index.has(file)) connect(file);
  return groups.map((group) => cycleWithin(graph, new Set(group)));
}

/** A shortest path from the group's first file (sorted) back to itself, staying inside the group. */
function cycleWithin(graph: ReadonlyMap<string, ReadonlyMap<string, number>>, group: Set<string>): string[] {
  const start = [...group].sort()[0]!;
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const file = queue.shift()!;
    for (const next of graph.get(file)?.keys() ?? []) {
      if (!group.has(next)) continue;
      if (next === start) {
        const path = [file];
        while (path[0] !== start) path.unshift(previous.get(path[0]!)!);
        return [...path, start];
      }
      if (!previous.has(next)) {
        previous.set(next, file);
        queue.push(next);
      }
    }
  }
  return [start, start];
}

/** Every offence under `srcDir`, files first, then functions, then cycles. */
export function checkStructure(srcDir: string): Offence[] {
  const show = (file: string) => relative(ROOT, file);
  const sources = new Map<string, ts.SourceFile>();
  const out: Offence[] = [];
  for (const file of sourceFiles(srcDir)) {
    const text = readFileSync(file, "utf8");
    sources.set(file, ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true));
    const lines = text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
    if (lines > MAX_FILE_LINES)
      out.push({ file: show(file), line: 1, message: `${lines} lines (max ${MAX_FILE_LINES})` });
  }
  for (const [file, source] of sources) out.push(...longFunctions(source, show(file)));
  const graph = importGraph(sources);
  for (const cycle of cycles(graph)) {
    const [first, second] = cycle;
    out.push({
      file: show(first!),
      line: graph.get(first!)?.get(second!) ?? 1,
      message: `import cycle: ${cycle.map(show).join(" -> ")}`,
    });
  }
  return out;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const offences = checkStructure(join(ROOT, "src"));
  for (const o of offences) console.log(`${o.file}:${o.line}: ${o.message}`);
  if (offences.length > 0) {
    console.log(`check:structure: ${offences.length} offence(s) in src/`);
    process.exitCode = 1;
  } else console.log("check:structure: src/ has no file, function or import cycle over the limits");
}
