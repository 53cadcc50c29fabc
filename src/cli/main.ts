#!/usr/bin/env node
import { isDebugEnv } from "./debug-env.js";

// Node maps stack frames to the TypeScript sources (shipped in the package) only for modules
// loaded after this call, so it comes before the CLI loads. Mapping reads every module's
// source map as it loads (a tenth of `lockstep status`'s start-up), so it is on only when a
// stack can be printed: --verbose or LOCKSTEP_DEBUG.
if (process.argv.includes("--verbose") || isDebugEnv(process.env.LOCKSTEP_DEBUG)) {
  process.setSourceMapsEnabled(true);
}

import("./program.js").then(({ runCli }) => runCli());
