#!/usr/bin/env node
// Builds the native addon from source: cmake-js first, node-gyp (binding.gyp) as the fallback.
// Both write build/Release/regen_cpu.node. Nothing is downloaded: cmake-js builds against the
// node-api-headers package (package.json "binary.napi_versions"), node-gyp against local headers.
//
// The CUDA backend (build/Release/regen_cuda.node, cmake-js only) follows REGEN_CUDA:
//   ON    build it; no nvcc is an error            (CI, the linux-x64 release build, GPU users)
//   OFF   do not build it (and remove a stale one)  (the default of the install step: a CPU user's
//                                                    first `npm ci` / `npm install` compiles no CUDA)
//   AUTO  build it when nvcc is found               (the default of `npm run build:native`)
// REGEN_CUDA_ARCHITECTURES narrows the GPU architectures (default "75 80 86 89 90"; "native" = the
// GPUs of this machine, which needs a GPU): one architecture compiles about five times faster.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { runStep } from './run-step.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

/** REGEN_CUDA as ON, OFF or AUTO (an error for anything else). */
export function cudaMode(value, fallback) {
  const v = (value ?? '').trim().toUpperCase();
  if (v === '') return fallback;
  if (['ON', '1', 'TRUE', 'YES'].includes(v)) return 'ON';
  if (['OFF', '0', 'FALSE', 'NO'].includes(v)) return 'OFF';
  if (v === 'AUTO') return 'AUTO';
  console.error(`regen-bench: REGEN_CUDA is '${value}'; expected ON, OFF or AUTO`);
  process.exit(1);
}

const cuda = cudaMode(process.env.REGEN_CUDA, 'AUTO');
const architectures = (process.env.REGEN_CUDA_ARCHITECTURES ?? '').trim().split(/[\s,;]+/).filter(Boolean);

const DEFAULT_ARCHITECTURES = ['75', '80', '86', '89', '90'];

/** Whether build/CMakeCache.txt holds these values (a missing or different one: configure again). */
function configuredWith(values) {
  const file = path.join(root, 'build', 'CMakeCache.txt');
  if (!existsSync(file)) return false;
  const text = readFileSync(file, 'utf8');
  return Object.entries(values).every(([key, value]) => {
    const m = new RegExp(`^${key}:[A-Z]+=(.*)$`, 'm').exec(text);
    return m !== null && m[1].trim().toUpperCase() === value.toUpperCase();
  });
}

async function cmakeJs() {
  let bin;
  try {
    bin = require.resolve('cmake-js/bin/cmake-js');
  } catch {
    return false;
  }
  const archs = (architectures.length ? architectures : DEFAULT_ARCHITECTURES).join(';');
  // Windows: clang-cl (the kernels need Clang or GCC; see CMakeLists.txt). REGEN_CMAKE_TOOLSET overrides.
  const toolset = process.env.REGEN_CMAKE_TOOLSET || (process.platform === 'win32' ? 'ClangCL' : '');
  const common = ['--out', 'build', '--config', 'Release', ...(toolset ? ['--toolset', toolset] : [])];
  // `cmake-js compile` reuses an existing configuration and ignores -D values: configure again when
  // the cached settings differ from the ones asked for (else REGEN_CUDA=OFF would still build CUDA).
  if (!configuredWith({ REGEN_CUDA: cuda, CMAKE_CUDA_ARCHITECTURES: archs })) {
    const defines = [`--CDREGEN_CUDA=${cuda}`, `--CDCMAKE_CUDA_ARCHITECTURES=${archs}`];
    if ((await runStep(`configuring the native build with cmake-js (REGEN_CUDA=${cuda})...`, process.execPath, [bin, 'configure', ...common, ...defines], { cwd: root })) !== 0)
      return false;
  }
  const what = cuda === 'OFF' ? 'the CPU addon' : cuda === 'ON' ? `the CPU and CUDA addons (GPU architectures ${archs.replaceAll(';', ' ')})` : 'the CPU addon (and the CUDA addon if nvcc is found)';
  return (await runStep(`building ${what} with cmake-js...`, process.execPath, [bin, 'compile', ...common], { cwd: root })) === 0;
}

async function nodeGyp() {
  // npm tells scripts where its bundled node-gyp lives.
  const candidates = [process.env.npm_config_node_gyp];
  try {
    candidates.push(require.resolve('node-gyp/bin/node-gyp.js'));
  } catch {}
  const bin = candidates.find((p) => p && existsSync(p));
  if (!bin) return false;
  if (cuda === 'ON') {
    console.error('regen-bench: REGEN_CUDA=ON needs cmake-js (node-gyp builds the CPU addon only)');
    return false;
  }
  // Build against the headers installed with this node, when present, so nothing is downloaded.
  const prefix = path.dirname(path.dirname(process.execPath));
  const local = existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
  return (await runStep('building the CPU addon with node-gyp...', process.execPath, [bin, 'rebuild', ...local], { cwd: root })) === 0;
}

function cmakePresent() {
  return spawnSync('cmake', ['--version'], { stdio: 'ignore' }).status === 0;
}

const built = (cmakePresent() && (await cmakeJs())) || (await nodeGyp());
if (!built) {
  console.error(
    'regen-bench: could not build the native addon.\n' +
      '  Fixes: install cmake (3.15+) and a C++17 compiler (g++ or clang++), then run `npm rebuild regen-bench`\n' +
      '  (in a checkout of regen-bench: `npm run build:native`); or install python3, make and a C++ compiler for node-gyp.',
  );
  process.exit(1);
}
// A CUDA addon left by an earlier build would be loaded with stale kernels: a CPU-only build removes it.
const staleCuda = path.join(root, 'build', 'Release', 'regen_cuda.node');
if (cuda === 'OFF' && existsSync(staleCuda)) {
  rmSync(staleCuda, { force: true });
  console.log('regen-bench: removed build/Release/regen_cuda.node of an earlier build (REGEN_CUDA=OFF)');
}
