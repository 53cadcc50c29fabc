/** Quotes a PostgreSQL identifier. */
export function quoteIdent(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

/** A user table name, optionally schema-qualified (`app.users`); unqualified names follow search_path. */
export function tableRef(name: string): string {
  const dot = name.indexOf(".");
  return dot < 0 ? quoteIdent(name) : `${quoteIdent(name.slice(0, dot))}.${quoteIdent(name.slice(dot + 1))}`;
}
