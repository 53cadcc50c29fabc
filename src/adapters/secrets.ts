/** Removes every secret (passwords from the URL) from a text before it is printed. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret !== "") out = out.replaceAll(secret, "***");
  return out;
}

/** `error` with any secret removed from its message, so a printed cause leaks nothing. */
export function scrubError(error: unknown, secrets: readonly string[]): unknown {
  if (error instanceof Error) error.message = scrub(error.message, secrets);
  return error;
}
