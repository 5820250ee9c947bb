#!/usr/bin/env node
// Builds the native addon from source: cmake-js first, node-gyp (binding.gyp) as the fallback.
// Both write build/Release/regen_cpu.node. Nothing is downloaded: cmake-js builds against the
// node-api-headers package (package.json "binary.napi_versions"), node-gyp against local headers.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

function run(label, command, args) {
  console.log(`regen-bench: building the native addon with ${label}`);
  const r = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  return r.status === 0;
}

function cmakeJs() {
  let bin;
  try {
    bin = require.resolve('cmake-js/bin/cmake-js');
  } catch {
    return false;
  }
  // REGEN_CUDA=OFF skips the CUDA backend (built by default whenever nvcc is found).
  const cuda = ['OFF', '0', 'false'].includes(process.env.REGEN_CUDA ?? '') ? ['--CDREGEN_CUDA=OFF'] : [];
  return run('cmake-js', process.execPath, [bin, 'compile', '--out', 'build', '--config', 'Release', ...cuda]);
}

function nodeGyp() {
  // npm tells scripts where its bundled node-gyp lives.
  const candidates = [process.env.npm_config_node_gyp];
  try {
    candidates.push(require.resolve('node-gyp/bin/node-gyp.js'));
  } catch {}
  const bin = candidates.find((p) => p && existsSync(p));
  if (!bin) return false;
  // Build against the headers installed with this node, when present, so nothing is downloaded.
  const prefix = path.dirname(path.dirname(process.execPath));
  const local = existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
  return run('node-gyp', process.execPath, [bin, 'rebuild', ...local]);
}

if (!cmakeJs() && !nodeGyp()) {
  console.error(
    'regen-bench: could not build the native addon.\n' +
      '  Fixes: install cmake (3.15+) and a C++17 compiler (g++ or clang++), then run `npm rebuild regen-bench`;\n' +
      '  or install python3, make and a C++ compiler for node-gyp.',
  );
  process.exit(1);
}
