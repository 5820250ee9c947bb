// The text-metrics benchmark: 100,000 pairs of ~60-word synthetic narratives. Corpus BLEU and
// ROUGE-1/2/L(sum) statistics on the worker pool and in-process, against the straightforward
// JavaScript ports (src/metrics/text/reference.ts) run in the same process on a sample.
// Usage: npm run bench -- text [--pairs N] [--repeats R] [--threads N]
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { bleuSegmentStatsReference, rougeScoreReference } from '../src/metrics/text/reference.js';
import { textBackend } from '../src/metrics/text/chunk.js';
import { closeTextPools, POOL_MIN_THREADS } from '../src/metrics/text/pool.js';
import { computeTextStats, corpusBleuFromStats, meanRouge, type TextPair } from '../src/metrics/text/score.js';

function makeRng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Narrative-like pairs: Zipf-distributed words, punctuation, numbers, ~60 words each. */
export function syntheticPairs(n: number, seed = 1): TextPair[] {
  const rand = makeRng(seed);
  const syll = ['ka', 'lo', 'mi', 'ren', 'ta', 'sor', 'vel', 'an', 'ti', 'qu', 'ber', 'dal', 'ne', 'os', 'pri', 'ul'];
  const vocab: string[] = ['the', 'a', 'and', 'of', 'to', 'for', 'with', 'this', 'user', 'pen', 'paper', 'ink', 'quality', 'durable'];
  while (vocab.length < 5000) {
    let w = '';
    const k = 1 + Math.floor(rand() * 4);
    for (let i = 0; i < k; i++) w += syll[Math.floor(rand() * syll.length)];
    vocab.push(rand() < 0.05 ? w[0].toUpperCase() + w.slice(1) : w);
  }
  const word = () => vocab[Math.min(vocab.length - 1, Math.floor(Math.exp(rand() * Math.log(vocab.length)) - 1))];
  const sentence = (len: number) => {
    const parts: string[] = [];
    for (let i = 0; i < len; i++) {
      let w = word();
      const r = rand();
      if (r < 0.02) w = `${(rand() * 10).toFixed(1)}mm`;
      else if (r < 0.03) w = `$${(rand() * 100).toFixed(2)}`;
      parts.push(w + (rand() < 0.08 ? ',' : ''));
    }
    return parts.join(' ') + '.';
  };
  const narrative = () => {
    const words = 50 + Math.floor(rand() * 21);
    const cut = Math.floor(words / 2);
    return `${sentence(cut)} ${sentence(words - cut)}`;
  };
  const pairs: TextPair[] = [];
  for (let i = 0; i < n; i++) {
    const ref = narrative();
    // Half the hypotheses paraphrase the reference (shared n-grams), half are unrelated.
    const hyp = rand() < 0.5 ? ref.split(' ').map((w) => (rand() < 0.3 ? word() : w)).join(' ') : narrative();
    pairs.push({ hyp, refs: [ref] });
  }
  return pairs;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function time(fn: () => unknown | Promise<unknown>, repeats: number): Promise<number[]> {
  const ms: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  return ms;
}

export async function benchText(args: string[]): Promise<void> {
  const get = (flag: string, def: number) => {
    const i = args.indexOf(flag);
    return i >= 0 ? Number(args[i + 1]) : def;
  };
  const n = get('--pairs', 100_000);
  const repeats = get('--repeats', 3);
  const threads = get('--threads', os.availableParallelism());
  const autoWhere = threads >= POOL_MIN_THREADS ? `pool, ${threads} threads` : `in-process: ${threads} cores < ${POOL_MIN_THREADS}`;
  const pairs = syntheticPairs(n);
  const words = pairs.slice(0, 1000).reduce((a, p) => a + p.hyp.split(' ').length + p.refs[0].split(' ').length, 0) / 2000;
  console.log(`backend: ${textBackend().backend} (REGEN_TEXT_BACKEND=js for TypeScript)`);
  console.log(`text benchmark: ${n.toLocaleString('en-US')} pairs, ~${words.toFixed(0)} words per text, ${threads} threads, ${os.cpus()[0]?.model ?? ''}`);

  // Yardstick: the straightforward ports on a sample, single-threaded, same process.
  const sample = pairs.slice(0, Math.min(n, 5000));
  const yBleu = await time(() => sample.forEach((p) => bleuSegmentStatsReference(p.hyp, p.refs)), repeats);
  const yRouge = await time(() => sample.forEach((p) => rougeScoreReference(p.refs[0], p.hyp, ['rouge1', 'rouge2', 'rougeL'], false)), repeats);
  const rate = (count: number, ms: number) => (count / ms) * 1000;
  const rows: { name: string; pairsPerSec: number; runsMs: number[]; vsYardstick: number; target?: number }[] = [];
  const yBleuRate = rate(sample.length, median(yBleu));
  const yRougeRate = rate(sample.length, median(yRouge));
  rows.push({ name: 'yardstick: straightforward JS BLEU stats (1 thread)', pairsPerSec: yBleuRate, runsMs: yBleu, vsYardstick: 1 });
  rows.push({ name: 'yardstick: straightforward JS ROUGE-1/2/L (1 thread)', pairsPerSec: yRougeRate, runsMs: yRouge, vsYardstick: 1 });

  // The pool's start-up (threads, module and addon loading), once per process: reported apart.
  const cold = await time(async () => {
    await closeTextPools();
    await computeTextStats(pairs.slice(0, 2 * 2000 * threads), { rougeTypes: [], threads, pool: 'always' });
  }, 1);
  const R3 = ['rouge1', 'rouge2', 'rougeL'];
  const R4 = [...R3, 'rougeLsum'];
  const cases: { name: string; opts: Parameters<typeof computeTextStats>[1]; yard: number; target?: number }[] = [
    { name: `corpus BLEU, default path (${autoWhere})`, opts: { rougeTypes: [] }, yard: yBleuRate, target: 100_000 },
    { name: 'corpus BLEU, in-process (1 thread)', opts: { rougeTypes: [], pool: 'never' }, yard: yBleuRate },
    { name: `corpus BLEU, pool (${threads} threads)`, opts: { rougeTypes: [], threads, pool: 'always' }, yard: yBleuRate },
    { name: `ROUGE-1/2/L, default path (${autoWhere})`, opts: { rougeTypes: R3, skipBleu: true }, yard: yRougeRate, target: 50_000 },
    { name: 'ROUGE-1/2/L, in-process (1 thread)', opts: { rougeTypes: R3, skipBleu: true, pool: 'never' }, yard: yRougeRate },
    { name: `ROUGE-1/2/L, pool (${threads} threads)`, opts: { rougeTypes: R3, skipBleu: true, threads, pool: 'always' }, yard: yRougeRate },
    { name: 'ROUGE-1/2/L + Lsum, stemmed, default path', opts: { rougeTypes: R4, stem: true, skipBleu: true }, yard: yRougeRate },
    { name: 'score-text default (BLEU + 4 ROUGE), default path', opts: {}, yard: yRougeRate },
    { name: 'BLEU + ROUGE-1/2/L, TypeScript backend, in-process', opts: { rougeTypes: R3, pool: 'never', backend: 'js' } as never, yard: yRougeRate },
  ];
  for (const c of cases) {
    const js = (c.opts as { backend?: string }).backend === 'js';
    const saved = process.env.REGEN_TEXT_BACKEND;
    if (js) process.env.REGEN_TEXT_BACKEND = 'js';
    const ms = await time(async () => {
      const stats = await computeTextStats(pairs, { pool: 'auto', ...c.opts });
      corpusBleuFromStats(stats);
      meanRouge(stats);
    }, repeats);
    if (js) {
      if (saved === undefined) delete process.env.REGEN_TEXT_BACKEND;
      else process.env.REGEN_TEXT_BACKEND = saved;
    }
    const r = rate(n, median(ms));
    rows.push({ name: c.name, pairsPerSec: r, runsMs: ms, vsYardstick: r / c.yard, target: c.target });
  }
  await closeTextPools();
  console.log(`\npool start-up + first ${(4000 * threads).toLocaleString('en-US')} pairs: ${cold[0].toFixed(0)} ms (paid once per process; the runs below reuse the pool)`);
  console.log('\n| | pairs/s (median) | runs, ms | vs yardstick | target |\n|---|---|---|---|---|');
  for (const r of rows)
    console.log(
      `| ${r.name} | ${Math.round(r.pairsPerSec).toLocaleString('en-US')} | ${r.runsMs.map((x) => x.toFixed(0)).join(', ')} | ${r.vsYardstick.toFixed(1)}x | ${r.target ? (r.pairsPerSec >= r.target ? 'met' : 'missed') + ` (${r.target.toLocaleString('en-US')})` : ''} |`,
    );
  const outDir = path.join('bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `text-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(`${file}.tmp`, JSON.stringify({ pairs: n, threads, rows }, null, 2));
  renameSync(`${file}.tmp`, file);
  console.log(`\nwritten ${file}`);
}
