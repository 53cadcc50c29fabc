/**
 * Database URLs, once for every adapter: redaction before anything is printed, the secrets a
 * URL holds (scrubbed from driver messages), lockstep's own query parameters split off before
 * a driver sees the URL, and the E_DATABASE_URL error. Imports no adapter, so every adapter
 * and `from-url.ts` can import it.
 */
import { DatabaseError } from "../core/errors.js";

const SECRET_PARAMS = /([?&](?:password|pass|pwd|token|secret|sslpassword|sslkey)=)([^&#]*)/gi;

/**
 * Where a URL's userinfo lies: between `scheme://` and the **last** `@`, as the drivers'
 * parsers read it, so a password holding a raw `@` or `:` is still found whole. Over-reaching
 * (an `@` in the query) only hides more.
 */
function userinfoSpan(url: string): { start: number; end: number } | null {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url);
  if (!scheme) return null;
  const end = url.lastIndexOf("@");
  if (end < scheme[0].length) return null;
  return { start: scheme[0].length, end };
}

/** The raw password of a URL's userinfo, or null. */
function rawPassword(url: string): string | null {
  const span = userinfoSpan(url);
  if (!span) return null;
  const userinfo = url.slice(span.start, span.end);
  const colon = userinfo.indexOf(":");
  return colon < 0 ? null : userinfo.slice(colon + 1);
}

/** A URL with its password (and any password- or token-like query value) replaced by `***`. */
export function redactUrl(url: string): string {
  let out = url;
  const span = userinfoSpan(url);
  if (span) {
    const userinfo = url.slice(span.start, span.end);
    const colon = userinfo.indexOf(":");
    if (colon >= 0) out = `${url.slice(0, span.start)}${userinfo.slice(0, colon)}:***${url.slice(span.end)}`;
  }
  return out.replace(SECRET_PARAMS, "$1***");
}

/** Every URL in `text` with its credentials redacted: an uncoded error may quote a database URL. */
export function redactUrlsIn(text: string): string {
  return text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi, (url) => redactUrl(url));
}

/** Every secret of a URL (the password raw and decoded, password-like query values): never printed. */
export function secretsOf(url: string): string[] {
  const found = new Set<string>();
  const password = rawPassword(url);
  if (password) found.add(password);
  for (const m of url.matchAll(SECRET_PARAMS)) if (m[2]) found.add(m[2]);
  for (const value of [...found]) {
    try {
      found.add(decodeURIComponent(value));
    } catch {
      // Not percent-encoded.
    }
  }
  return [...found].filter((s) => s.length > 0);
}

/** Removes every secret from a text before it is printed. */
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

/** Splits lockstep's own query parameters off a URL, leaving the rest as it was written. */
export function takeLockstepParams(
  url: string,
  names: readonly string[],
): { rest: string; params: Map<string, string> } {
  const at = url.indexOf("?");
  if (at < 0) return { rest: url, params: new Map() };
  const params = new Map<string, string>();
  const kept: string[] = [];
  for (const part of url.slice(at + 1).split("&")) {
    const eq = part.indexOf("=");
    const key = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
    if (names.includes(key)) params.set(key, decodeURIComponent(eq < 0 ? "" : part.slice(eq + 1)));
    else if (part !== "") kept.push(part);
  }
  return { rest: kept.length > 0 ? `${url.slice(0, at)}?${kept.join("&")}` : url.slice(0, at), params };
}

/**
 * Fails with E_DATABASE_URL, never echoing the password, when a URL's password holds a
 * character its driver cannot parse raw: `/`, `?` and `#` end the host part for every URL
 * parser; MongoDB's driver also refuses a raw `@` or `:` (`strict`). A `%` must start an escape,
 * and a non-strict URL must parse as a WHATWG URL.
 */
export function assertPasswordParses(url: string, options: { strict?: boolean } = {}): void {
  const password = rawPassword(url);
  if (password === null) return;
  // An `@` after the first `?` may be a query value (`?user=a@b`): that reading is left to the
  // driver (redaction still hides up to that `@`). A `#` never belongs to a database URL.
  const queryAt = url.indexOf("?");
  const userinfoEnd = url.lastIndexOf("@");
  const inQuery = queryAt >= 0 && queryAt < userinfoEnd && !url.slice(0, userinfoEnd).includes("#");
  const forbidden = options.strict ? /[/?#@:]/ : /[/?#]/;
  let malformed = !inQuery && forbidden.test(password);
  try {
    decodeURIComponent(password);
    // The SQL drivers parse with WHATWG URL: what it refuses, they refuse with a bare "Invalid
    // URL". (MongoDB's list of hosts is no WHATWG URL; `strict` covers its password.)
    if (!options.strict) new URL(url);
  } catch {
    malformed = true;
  }
  if (malformed) {
    throw badUrl(
      url,
      "the password holds a character that must be percent-encoded in a URL",
      "percent-encode the password (e.g. `node -p 'encodeURIComponent(process.argv[1])' 'p@ss/word'` gives p%40ss%2Fword) and use that in the URL",
    );
  }
}

/** The URL shapes lockstep accepts, for hints. */
export const URL_FORMS_HINT =
  "use sqlite:./app.db, postgres://user@host/db, mysql://user@host/db or mongodb://host/db";

/** E_DATABASE_URL for `url` (redacted), saying why and what to write instead. */
export function badUrl(url: string, why: string, hint: string = URL_FORMS_HINT): DatabaseError {
  return new DatabaseError(
    "E_DATABASE_URL",
    `cannot use database URL ${JSON.stringify(redactUrl(url))}: ${why}`,
    {
      hint,
    },
  );
}
