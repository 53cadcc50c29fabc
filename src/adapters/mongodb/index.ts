export {
  DEFAULT_MONGO_APP,
  DEFAULT_MONGO_COLLECTIONS,
  DEFAULT_SERVER_SELECTION_TIMEOUT_MS,
  databaseFromUrl,
  FERRETDB_MAX_UPDATES_PER_COMMAND,
  lockstepUrlParams,
  MongoAdapter,
  type MongoAdapterOptions,
  type MongoCollectionNames,
  type MongoServerInfo,
  type MongoTopology,
} from "./mongodb-adapter.js";
export { bindCollection, bindSession } from "./session-bound.js";
