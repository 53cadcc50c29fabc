import { defineConfig } from "lockstep";

/**
 * The rolling-deploy recipe app. One codebase plays every release: APP_VERSION says which
 * (1.0.0, 1.1.0 or 1.2.0), as each release's image would carry its own package.json version.
 * DATABASE_URL says where (default: rolling.db beside this file).
 */
export default defineConfig({
  appVersion: process.env.APP_VERSION ?? "1.2.0",
  database: process.env.DATABASE_URL ?? "sqlite:./rolling.db",
  steps: "./upgrades",
  // 1.0.0's step creates the users table: a new, empty database needs no `lockstep init`.
  stepsBuildSchema: true,
});
