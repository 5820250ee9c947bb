#!/usr/bin/env node
// Builds the binaries that ship in the npm package: prebuilds/<platform>-<arch>/regen_cpu.node
// (and regen_cuda.node when the build produced one: REGEN_CUDA=ON, or AUTO with nvcc found). Run by
// `npm pack` / `npm publish` (scripts/prepack.mjs) and by each job of the release workflow.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const build = spawnSync(process.execPath, [path.join(root, 'scripts', 'build-native.mjs')], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
const out = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
// Start from an empty folder: a regen_cuda.node of an earlier build must not ship beside a newer CPU one.
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
for (const name of ['regen_cpu.node', 'regen_cuda.node']) {
  const file = path.join(root, 'build', 'Release', name);
  if (!existsSync(file)) continue;
  copyFileSync(file, path.join(out, name));
  console.log(`regen-bench: wrote ${path.relative(root, path.join(out, name))}`);
}
