/** PostgreSQL's undefined_table: a statement named a table (or a schema's table) that does not exist. */
export function isUndefinedTable(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === "42P01";
}
