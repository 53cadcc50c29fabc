export {
  DEFAULT_MYSQL_TABLES,
  MysqlAdapter,
  type MysqlAdapterOptions,
  type MysqlConnection,
  type MysqlTableNames,
} from "./mysql-adapter.js";
