#!/usr/bin/env node
// Thin entry: the CLI lives in src/cli (compiled to dist/cli).
import('../dist/cli/main.js').then(
  (cli) => cli.main(process.argv),
  (err) => {
    console.error(
      `regen-bench: could not load dist/cli/main.js (${err.message}).\n` +
        '  Fix: run `npm run build` in the package folder (or reinstall regen-bench).',
    );
    process.exitCode = 1;
  },
);
