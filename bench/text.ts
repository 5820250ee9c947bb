// The text-metrics benchmark: 100,000 pairs of ~60-word synthetic narratives. Corpus BLEU and
// ROUGE-1/2/L(sum) statistics on the worker pool and in-process, against the straightforward
// JavaScript ports (src/metrics/text/reference.ts) run in the same process on a sample.
// Usage: npm run bench -- text [--pairs N] [--repeats R] [--threads N]
// Side by side with the Python references (sacrebleu 2.6.0, rouge-score 0.1.2) on real product text:
//   REGEN_PYREF=/work/pyref:/work/pyref/rouge npm run bench -- text --side-by-side [--pairs 50000]
// (see realPairs below and bench/text_python.py for how to set Python up).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
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
  if (args.includes('--side-by-side')) return benchTextSideBySide(args);
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

const ITEM_FILE = 'test/fixtures/amazon-office-minionerec/Office_Products.item.json';

/**
 * Real text: the Office Products item descriptions and titles in test/fixtures (642 items, Amazon
 * 2018, as the fixture README says). Pair k takes a 10-60 word window of one item's description as
 * the reference; the hypothesis is another window of the same description (shared n-grams, 40%),
 * the item's title plus a window of another item (30%), or a window of another item (30%).
 * Deterministic (LCG, fixed seed). The descriptions keep their HTML entities and list punctuation,
 * as real scraped text does.
 */
export function realPairs(n: number, seed = 1): { hyp: string; ref: string }[] {
  const items = Object.values(JSON.parse(readFileSync(ITEM_FILE, 'utf8')) as Record<string, { title?: string; description?: string }>);
  const words = items.map((it) => (it.description ?? '').replace(/^\['|'\]$/g, '').split(/\s+/).filter(Boolean)).filter((w) => w.length >= 10);
  const titles = items.map((it) => it.title ?? '').filter(Boolean);
  const rand = makeRng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
  const window = (ws: string[], max: number) => {
    const len = Math.min(ws.length, 10 + Math.floor(rand() * (max - 9)));
    const start = Math.floor(rand() * (ws.length - len + 1));
    return ws.slice(start, start + len).join(' ');
  };
  const pairs: { hyp: string; ref: string }[] = [];
  for (let k = 0; k < n; k++) {
    const a = Math.floor(rand() * words.length);
    const ref = window(words[a], 60);
    const r = rand();
    const hyp = r < 0.4 ? window(words[a], 60) : r < 0.7 ? `${pick(titles)} ${window(pick(words), 40)}` : window(pick(words), 60);
    pairs.push({ hyp, ref });
  }
  return pairs;
}

/** CPU seconds (user + system) of a command run to completion, from bash's `times` builtin. */
function childCpu(cmd: string[], env: NodeJS.ProcessEnv): { cpuS: number; stdout: string; stderr: string; status: number | null } {
  const dir = mkdtemp();
  const outFile = path.join(dir, 'out');
  const r = spawnSync('bash', ['-c', '"$@" > "$OUTFILE"; rc=$?; times; exit $rc', 'bash', ...cmd], { env: { ...env, OUTFILE: outFile }, encoding: 'utf8', maxBuffer: 1 << 26 });
  const lines = r.stdout.trim().split('\n');
  const toS = (t: string) => {
    const m = /^(\d+)m([\d.]+)s$/.exec(t);
    return m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
  };
  const [u, sys] = (lines[lines.length - 1] ?? '').trim().split(/\s+/);
  const stdout = existsSync(outFile) ? readFileSync(outFile, 'utf8') : '';
  rmSync(dir, { recursive: true, force: true });
  return { cpuS: toS(u) + toS(sys), stdout, stderr: r.stderr, status: r.status };
}

function mkdtemp(): string {
  const dir = path.join(os.tmpdir(), `regen-text-bench-${process.pid}-${Math.floor(Math.random() * 1e9)}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

async function cpuSecondsAsync(fn: () => Promise<unknown>): Promise<number> {
  const c0 = process.cpuUsage();
  await fn();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e6;
}

/** Worst absolute difference between two {type: {precision, recall, fmeasure}} maps. */
function rougeDiff(a: Record<string, Record<string, number>>, b: Record<string, Record<string, number>>): number {
  let worst = 0;
  for (const t of Object.keys(b)) for (const k of ['precision', 'recall', 'fmeasure']) worst = Math.max(worst, Math.abs((a[t]?.[k] ?? NaN) - b[t][k]) || (Number.isNaN(a[t]?.[k]) ? Infinity : 0));
  return worst;
}

/**
 * Single thread against single thread, CPU time against CPU time: this package's native path
 * in-process (pool 'never') and `score-text --threads 1` as a whole process, beside sacrebleu and
 * rouge-score run by bench/text_python.py on the same pairs in the same run.
 */
async function benchTextSideBySide(args: string[]): Promise<void> {
  const get = (flag: string, def: number) => {
    const i = args.indexOf(flag);
    return i >= 0 ? Number(args[i + 1]) : def;
  };
  const n = get('--pairs', 50_000);
  const repeats = get('--repeats', 3);
  const pairs = realPairs(n);
  const textPairs: TextPair[] = pairs.map((p) => ({ hyp: p.hyp, refs: [p.ref] }));
  const avgWords = pairs.reduce((a, p) => a + p.hyp.split(' ').length + p.ref.split(' ').length, 0) / (2 * n);
  console.log(`backend: ${textBackend().backend}; ${n.toLocaleString('en-US')} pairs of real product text (${ITEM_FILE}), ~${avgWords.toFixed(0)} words per text`);
  console.log(`machine: ${os.cpus()[0]?.model ?? '?'}; load average ${os.loadavg().map((x) => x.toFixed(2)).join(', ')}`);
  const dir = mkdtemp();
  const input = path.join(dir, 'pairs.jsonl');
  writeFileSync(input, pairs.map((p) => JSON.stringify(p)).join('\n') + '\n');

  // This package, in-process, one thread (the first call warms the addon), and score-text as a whole
  // process: measured before and after the Python runs (load on shared cores drifts over minutes),
  // each figure the median of all its runs.
  const R3 = ['rouge1', 'rouge2', 'rougeL'];
  const runs: Record<string, number[]> = { bleu: [], rouge: [], 'rouge-stem': [], e2e: [] };
  const ours: Record<string, { cpuS: number; bleu?: number; rouge?: Record<string, Record<string, number>> }> = {};
  const results: Record<string, { bleu?: number; rouge?: Record<string, Record<string, number>> }> = {};
  const stage = async (name: string, opts: Parameters<typeof computeTextStats>[1], bleu: boolean) => {
    for (let r = 0; r < repeats; r++)
      runs[name].push(
        await cpuSecondsAsync(async () => {
          const stats = await computeTextStats(textPairs, { pool: 'never', ...opts });
          results[name] = bleu ? { bleu: corpusBleuFromStats(stats).score } : { rouge: meanRouge(stats) as never };
        }),
      );
  };
  // score-text end to end: node start-up, reading and parsing the file, BLEU + ROUGE-1/2/L/Lsum.
  const cliPath = path.resolve('bin/regen-bench.js');
  let e2eOut = '';
  const measureOurs = async () => {
    await stage('bleu', { rougeTypes: [] }, true);
    await stage('rouge', { rougeTypes: R3, skipBleu: true }, false);
    await stage('rouge-stem', { rougeTypes: R3, skipBleu: true, stem: true }, false);
    for (let r = 0; r < repeats; r++) {
      const run = childCpu([process.execPath, cliPath, 'score-text', '--input', input, '--threads', '1', '--json'], process.env);
      if (run.status !== 0) throw new Error(`score-text failed (exit ${run.status}): ${run.stderr}`);
      runs.e2e.push(run.cpuS);
      e2eOut = run.stdout;
    }
  };
  await measureOurs();
  // The Python references on the same file.
  const pyref = process.env.REGEN_PYREF;
  const python = process.env.REGEN_PYTHON ?? '/usr/bin/python3';
  const script = path.resolve('bench/text_python.py');
  let py: { n: number; stages: Record<string, { cpu_s: number; bleu?: number; rouge?: Record<string, Record<string, number>> }>; process_cpu_s: number } | null = null;
  let pyE2e: { cpuS: number; inside: number; bleu: number; rouge: Record<string, Record<string, number>> } | null = null;
  if (!pyref) {
    console.log(
      '\nPython references not set up (REGEN_PYREF unset): skipping the side-by-side columns.\n' +
        '  Set up: apt-get install python3-regex python3-tabulate python3-numpy python3-colorama python3-lxml python3-portalocker python3-absl python3-nltk;\n' +
        '  place the sources of sacrebleu 2.6.0 (github mjpost/sacrebleu, tag v2.6.0, plus sacrebleu/version.py with __version__ = "2.6.0")\n' +
        '  and rouge-score 0.1.2 (the rouge_score/ package) outside the repository, then\n' +
        '  REGEN_PYREF=<folder holding sacrebleu/>:<folder holding rouge_score/> npm run bench -- text --side-by-side',
    );
  } else {
    const env = { ...process.env, PYTHONPATH: pyref, PYTHONDONTWRITEBYTECODE: '1' };
    console.log(`\nrunning the Python references (${python}, PYTHONPATH=${pyref}) on the same pairs; this takes minutes...`);
    const a = childCpu([python, script, input, 'bleu,rouge,rouge-stem'], env);
    if (a.status !== 0) throw new Error(`bench/text_python.py failed (exit ${a.status}): ${a.stderr.slice(-2000)}`);
    py = JSON.parse(a.stdout);
    const b = childCpu([python, script, input, 'score-text'], env);
    if (b.status !== 0) throw new Error(`bench/text_python.py failed (exit ${b.status}): ${b.stderr.slice(-2000)}`);
    const bj = JSON.parse(b.stdout) as typeof py & object;
    const st = bj.stages['score-text'];
    pyE2e = { cpuS: b.cpuS, inside: st.cpu_s, bleu: st.bleu!, rouge: st.rouge! };
  }
  if (pyref) await measureOurs();
  rmSync(dir, { recursive: true, force: true });
  for (const name of ['bleu', 'rouge', 'rouge-stem']) ours[name] = { cpuS: median(runs[name]), ...results[name] };
  const e2e = JSON.parse(e2eOut) as { bleu: { score: number }; rouge: Record<string, Record<string, number>> };
  const e2eCpu = median(runs.e2e);

  const rows: { name: string; oursS: number; pyS?: number; pyProcS?: number; agree: string }[] = [];
  const agreeBleu = (x: number, y?: number) => (y === undefined ? '' : x === y ? 'BLEU identical' : `BLEU differs by ${Math.abs(x - y).toExponential(2)}`);
  const agreeRouge = (x: Record<string, Record<string, number>>, y?: Record<string, Record<string, number>>) => {
    if (!y) return '';
    const d = rougeDiff(x, y);
    return d === 0 ? 'ROUGE means identical' : `ROUGE means differ by <= ${d.toExponential(2)}`;
  };
  rows.push({ name: 'corpus BLEU (13a, exp smoothing)', oursS: ours.bleu.cpuS, pyS: py?.stages.bleu.cpu_s, agree: agreeBleu(ours.bleu.bleu!, py?.stages.bleu.bleu) });
  rows.push({ name: 'ROUGE-1/2/L', oursS: ours.rouge.cpuS, pyS: py?.stages.rouge.cpu_s, agree: agreeRouge(ours.rouge.rouge!, py?.stages.rouge.rouge) });
  rows.push({ name: 'ROUGE-1/2/L, stemmed', oursS: ours['rouge-stem'].cpuS, pyS: py?.stages['rouge-stem'].cpu_s, agree: agreeRouge(ours['rouge-stem'].rouge!, py?.stages['rouge-stem'].rouge) });
  rows.push({
    name: 'score-text end to end (process: start-up, file, BLEU + ROUGE-1/2/L/Lsum)',
    oursS: e2eCpu,
    pyS: pyE2e?.cpuS,
    pyProcS: pyE2e?.inside,
    agree: pyE2e ? `${agreeBleu(e2e.bleu.score, pyE2e.bleu)}; ${agreeRouge(e2e.rouge, pyE2e.rouge)}` : '',
  });
  console.log(`\n| ${n.toLocaleString('en-US')} pairs, 1 thread each | regen-bench CPU s | Python CPU s | ratio | results |\n|---|---|---|---|---|`);
  for (const r of rows)
    console.log(
      `| ${r.name} | ${r.oursS.toFixed(3)} | ${r.pyS === undefined ? 'not run' : r.pyS.toFixed(2) + (r.pyProcS !== undefined ? ` (${r.pyProcS.toFixed(2)} inside)` : '')} | ${r.pyS === undefined ? '' : (r.pyS / r.oursS).toFixed(1) + 'x'} | ${r.agree} |`,
    );
  if (py) console.log(`\nPython: stages timed with time.process_time inside the process (imports and file reading excluded); whole process for the first run ${py.process_cpu_s.toFixed(2)} s. End-to-end row: whole processes on both sides (bash times), Python's in-process figure in brackets.`);
  console.log(`regen-bench: process.cpuUsage around computeTextStats (pool 'never'), median of ${runs.bleu.length} runs; end to end: median of ${runs.e2e.length} whole processes (runs, s: ${runs.e2e.map((x) => x.toFixed(2)).join(', ')}). load average now ${os.loadavg().map((x) => x.toFixed(2)).join(', ')}`);
  const outDir = path.join('bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `text-side-by-side-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(`${file}.tmp`, JSON.stringify({ pairs: n, cpu: os.cpus()[0]?.model, loadavg: os.loadavg(), rows }, null, 2));
  renameSync(`${file}.tmp`, file);
  console.log(`written ${file}`);
}
