#!/usr/bin/env node
// npm's install step: use the prebuilt binary shipped for this platform when it loads here, and
// build from source otherwise (or when REGEN_BUILD_FROM_SOURCE=1). Nothing is downloaded. When npm
// blocks install scripts this does not run at all, and the loader picks the prebuilt binary itself.
// A source build here compiles no CUDA unless asked (REGEN_CUDA=ON): see scripts/build-native.mjs.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const prebuilt = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'regen_cpu.node');

// Loaded in a child process: a binary that cannot load here must not take this process down.
const loads = (file) =>
  spawnSync(process.execPath, ['-e', `require(${JSON.stringify(file)}).supportedIsas()`], { stdio: 'ignore' }).status === 0;

// `npx regen-bench` in a checkout has npm install the checkout into its npx cache (a link), which runs
// this step again: a binary that loads is already there, so say nothing and do nothing.
const local = path.join(root, 'build', 'Release', 'regen_cpu.node');
if (process.env.npm_command === 'exec' && [local, prebuilt].some((f) => existsSync(f) && loads(f))) process.exit(0);

if (process.env.REGEN_BUILD_FROM_SOURCE !== '1' && existsSync(prebuilt)) {
  if (loads(prebuilt)) {
    console.log(`regen-bench: using the prebuilt binary ${path.relative(root, prebuilt)} (set REGEN_BUILD_FROM_SOURCE=1 to build instead)`);
    process.exit(0);
  }
  console.log(`regen-bench: the prebuilt binary ${path.relative(root, prebuilt)} does not load here; building from source`);
}
const env = { ...process.env, REGEN_CUDA: process.env.REGEN_CUDA || 'OFF' };
if (env.REGEN_CUDA === 'OFF') console.log('regen-bench: building without the CUDA backend (set REGEN_CUDA=ON to build it; see README "GPU (CUDA backend)")');
const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'build-native.mjs')], { stdio: 'inherit', env });
process.exit(r.status ?? 1);
