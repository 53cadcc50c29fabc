export {
  DEFAULT_SQLITE_TABLES,
  SqliteAdapter,
  type SqliteAdapterOptions,
  type SqliteTableNames,
} from "./sqlite-adapter.js";
