#!/usr/bin/env node
// Compiles the TypeScript sources to dist/ (npm's prepare step, and `npm run build`), with a line
// every 5 s while tsc works (it prints nothing until it is done: 5-15 s on two cores). dist/ is
// emptied first: a module renamed or removed in src/ must not live on in dist/ (and in the package).
import { existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { runStep } from './run-step.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// `npx regen-bench` in a checkout has npm install the checkout into its npx cache (a link), which runs
// prepare again: 10-30 s of hidden work before the first output. Built already: nothing to do.
if (process.env.npm_command === 'exec' && existsSync(path.join(root, 'dist', 'cli', 'main.js'))) process.exit(0);
rmSync(path.join(root, 'dist'), { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
process.exitCode = await runStep('compiling the TypeScript sources to dist/...', process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root });
