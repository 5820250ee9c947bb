// The CI performance regression suite (`npm run bench:ci`): a small fixed set of cases, each timed
// against a reference computation run in the same process, so that the ratio (reference time /
// case time, higher is faster) cancels most of the machine's speed. Ratios are compared with
// bench/baseline.json; a case fails when its ratio falls more than the threshold (default 25%)
// below the baseline in three measurements (shared CI machines are noisy). Native work runs on one
// thread here (REGEN_THREADS=1), like the references; parallel scaling is `npm run bench -- scoring`'s job.
//
// Usage: npm run bench:ci [-- --threshold 0.25] [--update-baseline]
//   --update-baseline  rewrite bench/baseline.json with this machine's ratios. Do it deliberately,
//                      in a commit of its own, after a change that is meant to alter performance
//                      (or when moving CI to other hardware), never to silence a regression.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { ItemTable } from '../src/engine/item-table.js';
import { runEval } from '../src/eval/run.js';
import { bleuSegmentStatsReference, rougeScoreReference } from '../src/metrics/text/reference.js';
import { closeTextPools } from '../src/metrics/text/pool.js';
import { computeTextStats } from '../src/metrics/text/score.js';
import { loadCpuBinding } from '../src/engine/binding.js';
import { writeFileAtomic } from '../src/util/files.js';
import { rng } from '../src/util/random.js';
import { jsSearchRow } from './js-baseline.js';
import { syntheticPairs } from './text.js';

interface CaseResult {
  name: string;
  what: string;
  ms: number;
  referenceMs: number;
  ratio: number;
}

interface Baseline {
  threshold: number;
  machine: string;
  cases: Record<string, { ratio: number }>;
}

const baselineFile = path.join('bench', 'baseline.json');

/** Best of `reps` runs after a warm-up: interference from other work only ever slows a run down. */
async function timeMs(fn: () => unknown, reps: number): Promise<number> {
  await fn();
  let best = Infinity;
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    await fn();
    best = Math.min(best, performance.now() - t);
  }
  return best;
}

/** The scoring kernel at one shape, against the single-threaded JavaScript yardstick (timed on a few rows, scaled). */
function scoringCase(name: string, items: number, dim: number, rows: number, jsRows: number) {
  return async (): Promise<CaseResult> => {
    const r = rng(42);
    const table = Float32Array.from({ length: items * dim }, () => r() * 2 - 1);
    const queries = Float32Array.from({ length: rows * dim }, () => r() * 2 - 1);
    const offsets = Int32Array.from({ length: rows + 1 }, (_, b) => b * 50);
    const ids = Int32Array.from({ length: rows * 50 }, () => Math.floor(r() * items));
    const targets = Int32Array.from({ length: rows }, () => Math.floor(r() * items));
    const t = await ItemTable.create(table, { dim });
    const ms = await timeMs(() => t.search(queries, { k: 10, exclude: { offsets, ids }, targets }), 7);
    t.dispose();
    const referenceMs =
      ((await timeMs(() => {
        for (let b = 0; b < jsRows; b++)
          jsSearchRow(table, dim, queries.subarray(b * dim, (b + 1) * dim), 10, new Set(ids.subarray(b * 50, (b + 1) * 50)), targets[b]);
      }, 3)) /
        jsRows) *
      rows;
    return { name, what: `ItemTable.search: ${items.toLocaleString('en-US')} items, d = ${dim}, ${rows} rows, k = 10`, ms, referenceMs, ratio: referenceMs / ms };
  };
}

/** BLEU + ROUGE statistics of a fixed corpus, against the straightforward JavaScript ports (on a sample, scaled). */
async function textCase(): Promise<CaseResult> {
  const pairs = syntheticPairs(20_000, 7);
  const ms = await timeMs(() => computeTextStats(pairs), 5);
  const sample = pairs.slice(0, 1000);
  const referenceMs =
    ((await timeMs(() => {
      for (const p of sample) {
        bleuSegmentStatsReference(p.hyp, p.refs, '13a', false);
        rougeScoreReference(p.refs[0], p.hyp, ['rouge1', 'rouge2', 'rougeL', 'rougeLsum'], false);
      }
    }, 3)) /
      sample.length) *
    pairs.length;
  return { name: 'text-bleu-rouge', what: 'BLEU + ROUGE-1/2/L/Lsum statistics, 20,000 pairs of ~60 words', ms, referenceMs, ratio: referenceMs / ms };
}

/**
 * `regen-bench eval` on the demo (task 3, both rows), against the JavaScript BLEU + ROUGE references on
 * a fixed 300 pairs: work of the same kind as eval's (strings, maps, allocation). The scoring loop used
 * before ran 55-145 ms from one process to the next on the same quiet machine (JIT and heap state)
 * while eval did not move with it, so the ratio swung 2.5x and failed on an unchanged tree.
 */
async function evalCase(): Promise<CaseResult> {
  const ms = await timeMs(() => runEval({ semsim: false }), 5);
  const sample = syntheticPairs(300, 11);
  const referenceMs = await timeMs(() => {
    for (const p of sample) {
      bleuSegmentStatsReference(p.hyp, p.refs, '13a', false);
      rougeScoreReference(p.refs[0], p.hyp, ['rouge1', 'rouge2', 'rougeL', 'rougeLsum'], false);
    }
  }, 3);
  return { name: 'eval-demo', what: '`regen-bench eval` on the demo: load, 2 rows, 6 narrative kinds, intervals', ms, referenceMs, ratio: referenceMs / ms };
}

const CASES: Record<string, () => Promise<CaseResult>> = {
  'scoring-office-d64-b256': scoringCase('scoring-office-d64-b256', 27_887, 64, 256, 4),
  'scoring-clothing-d64-b32': scoringCase('scoring-clothing-d64-b32', 376_847, 64, 32, 1),
  'text-bleu-rouge': textCase,
  'eval-demo': evalCase,
};

function machine(): string {
  return `${os.cpus()[0]?.model ?? 'unknown cpu'}, ${os.availableParallelism()} threads, ${loadCpuBinding().supportedIsas()[0]}`;
}

export async function benchCi(args: string[]): Promise<void> {
  // One thread everywhere: the references are single-threaded, and a busy neighbour then slows
  // both sides of a ratio alike instead of halving a multi-threaded case alone.
  process.env.REGEN_THREADS = '1';
  const update = args.includes('--update-baseline');
  const thresholdArg = args.indexOf('--threshold');
  const baseline: Baseline | null = existsSync(baselineFile) ? (JSON.parse(readFileSync(baselineFile, 'utf8')) as Baseline) : null;
  const threshold = thresholdArg >= 0 ? Number(args[thresholdArg + 1]) : (baseline?.threshold ?? 0.25);
  if (!(threshold > 0 && threshold < 1)) throw new Error(`--threshold expects a fraction in (0, 1) but received ${args[thresholdArg + 1]}`);

  const results: (CaseResult & { baseline: number | null; change: number | null; status: string })[] = [];
  for (const [name, run] of Object.entries(CASES)) {
    let r = await run();
    const base = baseline?.cases[name]?.ratio ?? null;
    let status = base === null ? 'no baseline' : 'ok';
    for (let retry = 1; retry <= 2 && base !== null && r.ratio < base * (1 - threshold); retry++) {
      console.log(`${name}: ratio ${r.ratio.toPrecision(3)} is more than ${threshold * 100}% below the baseline ${base.toPrecision(3)}; measuring again`);
      const again = await run();
      r = again.ratio > r.ratio ? again : r;
      status = r.ratio < base * (1 - threshold) ? 'REGRESSION' : `ok (measurement ${retry + 1})`;
    }
    results.push({ ...r, baseline: base, change: base === null ? null : r.ratio / base - 1, status });
    console.log(`${name}: ${r.ms.toFixed(1)} ms, reference ${r.referenceMs.toFixed(1)} ms, ratio ${r.ratio.toPrecision(3)}${base === null ? "" : ` (baseline ${base.toPrecision(3)}, ${((r.ratio / base - 1) * 100).toFixed(1)}%)`} ${status}`);
  }
  await closeTextPools();

  const stamp = new Date().toISOString();
  const md = [
    `# Performance regression suite (${stamp})`,
    '',
    `Machine: ${machine()}, one thread. Ratio = reference time / case time (higher is faster); a case fails below baseline x (1 - ${threshold}).`,
    '',
    '| case | what | ms | reference ms | ratio | baseline | change | status |',
    '|---|---|---|---|---|---|---|---|',
    ...results.map(
      (r) =>
        `| ${r.name} | ${r.what} | ${r.ms.toFixed(1)} | ${r.referenceMs.toFixed(1)} | ${r.ratio.toPrecision(3)} | ${r.baseline?.toPrecision(3) ?? '-'} | ${r.change === null ? '-' : `${(r.change * 100).toFixed(1)}%`} | ${r.status} |`,
    ),
  ].join('\n');
  const outDir = path.join('bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const base = path.join(outDir, `ci-${stamp.replace(/[:.]/g, '-')}`);
  writeFileAtomic(`${base}.json`, JSON.stringify({ stamp, machine: machine(), threshold, results }, null, 2) + '\n');
  writeFileAtomic(`${base}.md`, md + '\n');
  console.log(`\n${md}\n\nwrote ${base}.json and ${base}.md`);

  if (update) {
    const next: Baseline = { threshold, machine: machine(), cases: Object.fromEntries(results.map((r) => [r.name, { ratio: Number(r.ratio.toFixed(3)) }])) };
    writeFileAtomic(baselineFile, JSON.stringify(next, null, 2) + '\n');
    console.log(`updated ${baselineFile}: commit it on its own, saying why performance changed`);
    return;
  }
  const failed = results.filter((r) => r.status === 'REGRESSION');
  if (failed.length && baseline && baseline.machine !== machine()) {
    // Ratios against a JavaScript reference still depend on the hardware (SIMD width, cores).
    console.error(`warning: regressions against a baseline from another machine (${baseline.machine}); not failing. Refresh the baseline on this hardware.`);
    return;
  }
  if (failed.length) {
    console.error(`performance regression: ${failed.map((r) => r.name).join(', ')} (see the table above)`);
    process.exitCode = 1;
  }
}
