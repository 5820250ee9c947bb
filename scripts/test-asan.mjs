#!/usr/bin/env node
// npm run test:asan [-- --all] [-- vitest files...]: the native addon built with AddressSanitizer and
// UndefinedBehaviorSanitizer (clang from Debian: apt-get install clang-14 libclang-rt-14-dev), then
// vitest run against it: the test files that reach native code and the bad-input matrix by default,
// every test file with --all. A sanitizer finding aborts the test process, which fails the run.
//
// How it works here (node itself is not instrumented): the addon goes to build-asan/ (cmake-js with
// clang++, REGEN_SANITIZE=address,undefined, no CUDA), the loader takes it from REGEN_CPU_BINARY,
// and node runs with the shared ASan runtime preloaded (LD_PRELOAD=libclang_rt.asan-x86_64.so, which
// also carries UBSan's handlers). Leak checking is off: V8 and node keep memory until exit by design.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const args = process.argv.slice(2);
const all = args.includes('--all');
const files = args.filter((a) => a !== '--all');

/** The test files whose code reaches the addon (the rest is TypeScript only), and the bad-input matrix. */
const NATIVE_TESTS = [
  'test/native-inputs.test.ts',
  'test/engine.test.ts',
  'test/ranking.test.ts',
  'test/bootstrap.test.ts',
  'test/eval-rows.test.ts',
  'test/text-metrics.test.ts',
  'test/text-golden.test.ts',
  'test/lumen-step.test.ts',
  'test/xent.test.ts',
  'test/train-body.test.ts',
  'test/hardening.test.ts',
  'test/bad-input',
];

function find(names) {
  for (const n of names) {
    const r = spawnSync('sh', ['-c', `command -v ${n}`], { encoding: 'utf8' });
    if (r.status === 0) return r.stdout.trim();
  }
  return null;
}

const cxx = process.env.REGEN_ASAN_CXX ?? find(['clang++-14', 'clang++']);
if (!cxx) {
  console.error('test:asan needs clang (Debian: apt-get install clang-14 libclang-rt-14-dev)');
  process.exit(1);
}
const runtime = spawnSync(cxx, ['-print-file-name=libclang_rt.asan-x86_64.so'], { encoding: 'utf8' }).stdout.trim();
if (!runtime || !existsSync(runtime)) {
  console.error(`test:asan: ${cxx} has no shared ASan runtime (libclang_rt.asan-x86_64.so); Debian: apt-get install libclang-rt-14-dev`);
  process.exit(1);
}

// Build (incremental) when a native source is newer than the sanitized addon.
const addon = path.join(root, 'build-asan', 'Release', 'regen_cpu.node');
const newest = (dir) =>
  readdirSync(dir, { withFileTypes: true }).reduce((t, e) => {
    const p = path.join(dir, e.name);
    return Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }, 0);
const stale = !existsSync(addon) || Math.max(newest(path.join(root, 'native')), statSync(path.join(root, 'CMakeLists.txt')).mtimeMs) > statSync(addon).mtimeMs;
if (stale) {
  const started = Date.now();
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  const cc = cxx.replace(/\+\+(-\d+)?$/, (m, v) => v ?? '');
  const build = spawnSync(
    process.execPath,
    [cmakeJs, 'compile', '--out', 'build-asan', '--config', 'Release', `--CDCMAKE_CXX_COMPILER=${cxx}`, `--CDCMAKE_C_COMPILER=${cc}`, '--CDREGEN_SANITIZE=address,undefined', '--CDREGEN_CUDA=OFF'],
    { cwd: root, stdio: 'inherit' },
  );
  if (build.status !== 0) process.exit(build.status ?? 1);
  console.log(`test:asan: built ${path.relative(root, addon)} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

const env = {
  ...process.env,
  REGEN_CPU_BINARY: addon,
  LD_PRELOAD: [runtime, process.env.LD_PRELOAD].filter(Boolean).join(':'),
  // Node and V8 are not instrumented: no leak report, no link-order check; stop at the first error.
  ASAN_OPTIONS: 'detect_leaks=0:verify_asan_link_order=0:halt_on_error=1:abort_on_error=1:detect_stack_use_after_return=0',
  UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1',
  REGEN_TEXT_BACKEND: process.env.REGEN_TEXT_BACKEND ?? 'native',
};
const started = Date.now();
const vitest = path.join(path.dirname(require.resolve('vitest/package.json')), 'vitest.mjs');
const run = spawnSync(process.execPath, [vitest, 'run', ...(files.length ? files : all ? [] : NATIVE_TESTS)], { cwd: root, stdio: 'inherit', env });
console.log(`test:asan: vitest under ASan + UBSan took ${((Date.now() - started) / 1000).toFixed(0)} s (exit ${run.status ?? run.signal})`);
process.exit(run.status ?? 1);
