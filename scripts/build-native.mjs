#!/usr/bin/env node
// Builds the native addon from source: cmake-js first, node-gyp (binding.gyp) as the fallback.
// Both write build/Release/regen_cpu.node. Nothing is downloaded: cmake-js builds against the
// node-api-headers package (package.json "binary.napi_versions"), node-gyp against local headers.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
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
  // REGEN_CUDA=OFF skips the CUDA backend (built by default whenever nvcc is found). A build whose
  // setting differs from the cached one reconfigures first: cmake-js compile keeps the cache, and
  // a default build after an OFF one would otherwise leave the CUDA addon unbuilt or stale.
  const want = ['OFF', '0', 'false'].includes(process.env.REGEN_CUDA ?? '') ? 'OFF' : 'ON';
  const cuda = [`--CDREGEN_CUDA=${want}`];
  const cache = path.join(root, 'build', 'CMakeCache.txt');
  const cached = existsSync(cache) ? readFileSync(cache, 'utf8').match(/^REGEN_CUDA:BOOL=(\w+)$/m)?.[1] : undefined;
  if (cached !== undefined && cached !== want && !run('cmake-js (configure)', process.execPath, [bin, 'configure', '--out', 'build', '--config', 'Release', ...cuda]))
    return false;
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
