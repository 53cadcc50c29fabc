export { FERRETDB_MAX_UPDATES_PER_COMMAND } from "./batch-pages.js";
export { DEFAULT_MONGO_COLLECTIONS, type MongoCollectionNames } from "./documents.js";
export {
  DEFAULT_MONGO_APP,
  DEFAULT_SERVER_SELECTION_TIMEOUT_MS,
  MongoAdapter,
  type MongoAdapterOptions,
} from "./mongodb-adapter.js";
export type { MongoServerInfo, MongoTopology } from "./server-info.js";
export { bindCollection, bindSession } from "./session-bound.js";
export { databaseFromUrl, lockstepUrlParams } from "./url.js";
