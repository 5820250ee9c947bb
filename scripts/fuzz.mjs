#!/usr/bin/env node
// npm run fuzz [-- --seconds N] [-- --only NAME[,NAME]] [-- --seed S]: every fuzz target for N seconds
// (default 30) each, and a non-zero exit on any finding.
//
//   native (libFuzzer, clang from Debian: apt-get install clang-14 libclang-rt-14-dev; built into
//   build-fuzz/ with ASan and UBSan):
//     text    BLEU and ROUGE statistics of arbitrary chunks and layouts (native/fuzz/fuzz_text.cpp)
//     porter  the Porter stemmer on arbitrary words, long 'y' runs included (fuzz_porter.cpp)
//     lcs     ROUGE-L / Lsum against a plain implementation of rouge-score's LCS and union-LCS, with
//             the banded table forced on small inputs (REGEN_LCS_BAND_CELLS=16) (fuzz_lcs.cpp)
//   TypeScript (scripts/fuzz-js.mjs, a seeded mutation fuzzer; needs dist/):
//     npy, safetensors, arrow (a prepared dataset folder), gzip-lines
//
// libFuzzer keeps its corpus in build-fuzz/corpus/<target> between runs; findings go to build-fuzz/
// (crash-*, timeout-*, oom-* for native targets; findings/ for the TypeScript ones).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const seconds = Number(opt('seconds', '30'));
const seed = opt('seed', String(Math.floor(Math.random() * 2 ** 31)));
const NATIVE = ['text', 'porter', 'lcs'];
const JS = ['npy', 'safetensors', 'arrow', 'gzip-lines'];
const only = opt('only', null)?.split(',');
const wanted = (t) => !only || only.includes(t);
if (!Number.isFinite(seconds) || seconds <= 0) {
  console.error(`--seconds expects a positive number of seconds per target but received '${opt('seconds')}'`);
  process.exit(2);
}

const out = path.join(root, 'build-fuzz');
mkdirSync(out, { recursive: true });
const results = [];
const failed = [];

function find(names) {
  for (const n of names) if (spawnSync('sh', ['-c', `command -v ${n}`]).status === 0) return n;
  return null;
}

// ---- native targets
const nativeTargets = NATIVE.filter(wanted);
if (nativeTargets.length) {
  const cxx = process.env.REGEN_FUZZ_CXX ?? find(['clang++-14', 'clang++']);
  if (!cxx) {
    console.error('npm run fuzz: the native targets need clang with libFuzzer (Debian: apt-get install clang-14 libclang-rt-14-dev)');
    process.exit(1);
  }
  const sources = ['native/text/text_stats.cpp', 'native/text/porter.cpp'].map((f) => path.join(root, f));
  const newest = Math.max(...sources.map((f) => statSync(f).mtimeMs), ...NATIVE.map((t) => statSync(path.join(root, `native/fuzz/fuzz_${t}.cpp`)).mtimeMs));
  for (const t of nativeTargets) {
    const bin = path.join(out, `fuzz_${t}`);
    if (!existsSync(bin) || statSync(bin).mtimeMs < newest) {
      const started = Date.now();
      const r = spawnSync(
        cxx,
        ['-std=c++17', '-g', '-O1', '-fsanitize=fuzzer,address,undefined', '-fno-sanitize-recover=all', `-I${path.join(root, 'native/include')}`, path.join(root, `native/fuzz/fuzz_${t}.cpp`), ...sources, '-o', bin],
        { stdio: 'inherit' },
      );
      if (r.status !== 0) process.exit(r.status ?? 1);
      console.log(`fuzz: built fuzz_${t} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    }
    const corpus = path.join(out, 'corpus', t);
    mkdirSync(corpus, { recursive: true });
    const started = Date.now();
    const r = spawnSync(bin, [corpus, `-max_total_time=${seconds}`, '-timeout=20', '-rss_limit_mb=2560', `-seed=${seed}`, `-artifact_prefix=${out}/${t}-`, '-print_final_stats=1'], {
      encoding: 'utf8',
      env: { ...process.env, ...(t === 'lcs' ? { REGEN_LCS_BAND_CELLS: '16' } : {}) },
    });
    const runs = /stat::number_of_executed_units:\s*(\d+)/.exec(r.stderr)?.[1] ?? '?';
    const took = (Date.now() - started) / 1000;
    results.push(`native ${t}: ${Number(runs).toLocaleString('en-US')} executions in ${took.toFixed(0)} s${r.status === 0 ? '' : ' FAILED'}`);
    if (r.status !== 0) {
      failed.push(t);
      process.stderr.write(r.stderr.split('\n').slice(-40).join('\n'));
    }
  }
}

// ---- TypeScript targets (each in its own process, so a hang is caught by the timeout)
const jsTargets = JS.filter(wanted);
if (jsTargets.length && !existsSync(path.join(root, 'dist', 'index.js'))) {
  console.error('npm run fuzz: the TypeScript targets run the compiled package: run `npm run build` first');
  process.exit(1);
}
for (const t of jsTargets) {
  const started = Date.now();
  const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'fuzz-js.mjs'), '--target', t, '--seconds', String(seconds), '--seed', seed], {
    encoding: 'utf8',
    timeout: (seconds + 120) * 1000,
  });
  const took = (Date.now() - started) / 1000;
  const current = path.join(out, `js-${t}.current`);
  if (r.error?.code === 'ETIMEDOUT' || r.signal) {
    const hang = path.join(out, 'findings', `${t}-hang-${Date.now()}.bin`);
    mkdirSync(path.dirname(hang), { recursive: true });
    if (existsSync(current)) renameSync(current, hang);
    failed.push(t);
    results.push(`js ${t}: HANG (the input that was running: ${path.relative(root, hang)})`);
    continue;
  }
  process.stderr.write(r.stderr);
  results.push(`${(r.stdout.trim().split('\n').pop() ?? '').replace(/^fuzz /, 'js ')} (${took.toFixed(0)} s)`);
  if (r.status !== 0) failed.push(t);
}

console.log(['', `fuzz (seed ${seed}, ${seconds} s per target):`, ...results.map((l) => `  ${l}`)].join('\n'));
if (failed.length) {
  const artifacts = existsSync(out) ? readdirSync(out).filter((f) => /^(text|porter|lcs)-(crash|timeout|oom|leak)-/.test(f)) : [];
  console.error(`fuzz: findings in ${failed.join(', ')}${artifacts.length ? `: ${artifacts.map((a) => `build-fuzz/${a}`).join(', ')}` : ' (build-fuzz/findings/)'}`);
  process.exit(1);
}
