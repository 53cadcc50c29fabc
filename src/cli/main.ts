#!/usr/bin/env node
// Node maps stack frames to the TypeScript sources (shipped in the package) only for
// modules loaded after this call, so it comes before the CLI loads.
process.setSourceMapsEnabled(true);

import("./program.js").then(({ runCli }) => runCli());
