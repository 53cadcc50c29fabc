import { defineConfig } from "lockstep";

/**
 * The datalab example, as its release 0.3.0 ships it. A real app leaves `appVersion` out:
 * lockstep then reads the `version` of the app's package.json. `--database URL` points the
 * same steps at another database.
 */
export default defineConfig({
  appVersion: "0.3.0",
  database: "sqlite:./demo.db",
  steps: "./upgrades",
});
