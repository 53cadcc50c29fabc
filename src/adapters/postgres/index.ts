export {
  DEFAULT_POSTGRES_TABLES,
  type PgClient,
  PostgresAdapter,
  type PostgresAdapterOptions,
  type PostgresLeaseMode,
  type PostgresState,
  type PostgresTableNames,
} from "./postgres-adapter.js";
