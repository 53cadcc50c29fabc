import { defineConfig } from "lockstep";

/**
 * The datalab example, as its release 0.5.0 ships it. A real app leaves `appVersion` out:
 * lockstep then reads the `version` of the app's package.json. `--database URL` points the
 * same steps at another database; on MongoDB, `mongodb: { app: "datalab" }` makes lockstep
 * read and extend datalab's own `datalab_schema_version` stamp document, whatever URL is given.
 */
export default defineConfig({
  appVersion: "0.5.0",
  // Relative to this file: the demo.db that `npm run demo` writes at the top of the repository.
  database: "sqlite:../../demo.db",
  mongodb: { app: "datalab" },
  steps: "./upgrades",
});
