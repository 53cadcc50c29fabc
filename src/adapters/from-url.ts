import type { Adapter } from "../core/adapter.js";
import { checkOptions } from "../core/check-options.js";
import { UsageError } from "../core/errors.js";
import { assertPasswordParses, badUrl } from "./url.js";

/** Options for {@link adapterFromUrl}. */
export interface AdapterFromUrlOptions {
  /** Relative SQLite paths resolve against this folder (the CLI passes the working directory). */
  readonly baseDir?: string;
  /** MongoDB: which stamp document to read (the config's `mongodb`); refused for other URLs. */
  readonly mongodb?: { readonly app?: string; readonly stampId?: string };
}

/**
 * Builds the adapter for a database URL: `sqlite:./app.db` (or a path ending in `.db`,
 * `.sqlite`, `.sqlite3`), `postgres://…`, `mysql://…`, `mongodb://…`. Drivers load only
 * for the adapter used.
 */
export async function adapterFromUrl(
  url: string,
  options: AdapterFromUrlOptions = {},
): Promise<Adapter<any>> {
  if (typeof url !== "string") {
    throw new UsageError("E_INVALID_OPTION", `adapterFromUrl(url) takes a URL string, got ${typeof url}`, {
      hint: 'adapterFromUrl("postgres://user@host:5432/db") (sqlite:, postgres://, mysql://, mongodb://)',
    });
  }
  checkOptions(options, "adapterFromUrl(url, options)", { "baseDir?": "string", "mongodb?": "object" });
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (options.mongodb !== undefined && scheme !== "mongodb" && scheme !== "mongodb+srv") {
    throw new UsageError(
      "E_INVALID_OPTION",
      "the `mongodb` options (app, stampId) apply to a mongodb:// URL only",
      {
        hint: "remove `mongodb` from the config, or give a mongodb:// database URL",
      },
    );
  }
  if (scheme === "sqlite" || (scheme === undefined && /\.(db|sqlite3?)$/i.test(url))) {
    const { SqliteAdapter } = await import("./sqlite/sqlite-adapter.js");
    const filename =
      scheme === "sqlite"
        ? url
            .slice("sqlite:".length)
            .replace(/^\/\/(?=\/)/, "")
            .replace(/^\/\//, "")
        : url;
    if (filename === "") throw badUrl(url, "an SQLite URL needs a file path");
    return new SqliteAdapter({
      filename,
      ...(options.baseDir !== undefined && { baseDir: options.baseDir }),
    });
  }
  assertPasswordParses(url, { strict: scheme === "mongodb" || scheme === "mongodb+srv" });
  if (scheme === "postgres" || scheme === "postgresql") {
    const { PostgresAdapter } = await import("./postgres/postgres-adapter.js");
    return PostgresAdapter.fromUrl(url);
  }
  if (scheme === "mysql" || scheme === "mariadb") {
    const { MysqlAdapter } = await import("./mysql/mysql-adapter.js");
    return MysqlAdapter.fromUrl(url);
  }
  if (scheme === "mongodb" || scheme === "mongodb+srv") {
    const { MongoAdapter } = await import("./mongodb/mongodb-adapter.js");
    return MongoAdapter.fromUrl(url, options.mongodb ?? {});
  }
  throw badUrl(url, scheme ? `lockstep does not know the scheme "${scheme}:"` : "no scheme");
}
