#!/usr/bin/env node
// npm's prepack step (`npm pack`, `npm publish`): the package must carry a prebuilt binary, so that
// installing it needs no compiler. Two modes:
//  - default: build this platform's binaries (scripts/build-prebuilt.mjs: incremental, so cheap after
//    a build) into prebuilds/<platform>-<arch>/;
//  - REGEN_PREBUILDS=collected (the release workflow's publish job, which has downloaded every
//    platform's prebuilds/ folder): build nothing, and check that each release platform is there.
// Either way the binary of this platform must load (in a child process), or packing fails.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const here = `${process.platform}-${process.arch}`;
/** What a release ships: every platform's CPU addon; the CUDA addon where the workflow builds it. */
const RELEASE = { 'linux-x64': ['regen_cpu.node', 'regen_cuda.node'], 'linux-arm64': ['regen_cpu.node'], 'darwin-arm64': ['regen_cpu.node'], 'win32-x64': ['regen_cpu.node'] };

const fail = (message) => {
  console.error(`regen-bench prepack: ${message}`);
  process.exit(1);
};

if (process.env.REGEN_PREBUILDS === 'collected') {
  const missing = Object.entries(RELEASE).flatMap(([platform, files]) => files.filter((f) => !existsSync(path.join(root, 'prebuilds', platform, f))).map((f) => `${platform}/${f}`));
  if (missing.length) fail(`REGEN_PREBUILDS=collected, but prebuilds/ lacks ${missing.join(', ')} (download every release job's artifact into prebuilds/ first)`);
} else {
  const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'build-prebuilt.mjs')], { stdio: 'inherit' });
  if (r.status !== 0) fail('building the prebuilt binary failed (see above); the package would need a compiler to install');
}

const cpu = path.join(root, 'prebuilds', here, 'regen_cpu.node');
if (existsSync(cpu)) {
  const load = spawnSync(process.execPath, ['-e', `const b = require(${JSON.stringify(cpu)}); if (!b.supportedIsas().includes('scalar')) process.exit(2);`], { stdio: 'inherit' });
  if (load.status !== 0) fail(`${path.relative(root, cpu)} does not load on this machine`);
} else if (process.env.REGEN_PREBUILDS !== 'collected') fail(`no ${path.relative(root, cpu)} after the build`);

for (const platform of readdirSync(path.join(root, 'prebuilds')).sort())
  for (const f of readdirSync(path.join(root, 'prebuilds', platform)).sort())
    console.log(`regen-bench prepack: ships prebuilds/${platform}/${f} (${(statSync(path.join(root, 'prebuilds', platform, f)).size / 2 ** 20).toFixed(1)} MiB)`);
