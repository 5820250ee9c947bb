// `regen-bench compare`: two evaluations of the same examples, metric by metric, with paired tests.
// Examples are matched by user id; per-example scores come from the parts.
import { NARRATIVE_NAMES, type NarrativeKind } from '../data/dataset.js';
import { rankingScores } from '../metrics/ranking.js';
import { Bleu, BLEU_STATS } from '../metrics/text/bleu.js';
import { Rouge } from '../metrics/text/rouge.js';
import { pairedSums, pairedTest, quantile } from './bootstrap.js';
import type { EvalPart, TextPart } from './evaluate.js';
import { cutoffsOf, settingsDiff } from './evaluate.js';
import { badInputProblems, inputProblemsJson, inputProblemsMarkdown, mergeInputs, type InputFile } from './input-problems.js';
import { partForCompare, readPart } from './out-dir.js';
import { signature } from './report.js';
import type { ProgressFn } from '../util/progress.js';

export interface MetricComparison {
  metric: string;
  a: number;
  b: number;
  /** b - a */
  delta: number;
  low: number;
  high: number;
  pRandomisation: number;
  pBootstrap: number;
  n: number;
}

export interface Comparison {
  a: string;
  b: string;
  /** The files each evaluation read, by content hash, and their problems. */
  inputsA: InputFile[];
  inputsB: InputFile[];
  /** Inputs of either side whose share of bad lines or ids is above the limit. */
  badInput: string[];
  matched: number;
  onlyA: number;
  onlyB: number;
  metrics: MetricComparison[];
  samples: number;
  seed: number;
  /** Two-sided level of the intervals: that of the evaluations (their settings.ci.confidence). */
  confidence: number;
}

export interface CompareOptions {
  /** Resamples (default 1000). */
  samples?: number;
  seed?: number;
  /**
   * Compare task 1 with task 2: the same users and test targets, only what the model is shown
   * differs (the critique), so the pairs are the same examples (a critique-aware model's lift).
   */
  acrossTasks?: boolean;
  /** Called after each metric's tests (compare of a large evaluation takes seconds per metric). */
  progress?: ProgressFn;
}

export class CompareError extends Error {
  override name = 'CompareError';
}

/** The settings both sides must share (the models, and so their input files, may differ; with acrossTasks, the task). */
function sameTask(a: EvalPart, b: EvalPart, acrossTasks = false): void {
  if (acrossTasks) {
    const ok = (t: number) => t === 1 || t === 2;
    if (!ok(a.settings.task) || !ok(b.settings.task)) throw new CompareError(`--across-tasks compares tasks 1 and 2 (the same targets), but the evaluations are of tasks ${a.settings.task} and ${b.settings.task}`);
  }
  const shared = (p: EvalPart) => ({
    dataset: p.settings.dataset.key,
    split: p.settings.split,
    task: acrossTasks ? 0 : p.settings.task,
    k: cutoffsOf(p.settings).join(','),
    excludeHistory: p.settings.excludeHistory,
    // The same metric on both sides, or the differences mean nothing.
    bleu: p.settings.bleu.signature,
    rouge: new Rouge(p.settings.rouge).signature(),
    confidence: p.settings.ci.confidence,
  });
  const diff = settingsDiff(shared(a), shared(b));
  if (a.settings.dataset.key !== b.settings.dataset.key)
    throw new CompareError(
      `the two evaluations use different datasets (${a.settings.dataset.name}@${a.settings.dataset.key.slice(0, 16)} vs ${b.settings.dataset.name}@${b.settings.dataset.key.slice(0, 16)})` +
        (diff.length > 1 ? `; they also differ in ${diff.filter((d) => !d.startsWith('dataset')).join('; ')}` : ''),
    );
  if (diff.length) {
    const tasks12 = [1, 2].includes(a.settings.task) && [1, 2].includes(b.settings.task);
    const hint = diff.length === 1 && diff[0].startsWith('task ') && tasks12 ? ' (or --across-tasks: tasks 1 and 2 share their targets)' : ' (evaluate both with the same settings)';
    throw new CompareError(`the two evaluations differ in ${diff.join('; ')}: compare like with like${hint}`);
  }
}

const mean = (x: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return x.length ? s / x.length : NaN;
};

/** Paired tests for corpus BLEU: swap or resample whole pairs of per-pair statistics. */
function compareBleu(bleu: Bleu, sa: number[][], sb: number[][], samples: number, seed: number, confidence: number): Omit<MetricComparison, 'metric'> {
  const n = sa.length;
  const score = (rows: number[][], pick: (i: number) => number) => {
    const sum = new Array<number>(BLEU_STATS).fill(0);
    for (let i = 0; i < n; i++) {
      const r = rows[pick(i)];
      for (let s = 0; s < BLEU_STATS; s++) sum[s] += r[s];
    }
    return bleu.fromSums(sum).score;
  };
  const a = score(sa, (i) => i);
  const b = score(sb, (i) => i);
  const delta = b - a;
  // Rows [A's statistics, B's]: a swap exchanges the systems' outputs for a pair; one stream of draws
  // (seed), the randomisation's samples x n, then the bootstrap's.
  const C = 2 * BLEU_STATS;
  const rows = new Float64Array(n * C);
  for (let i = 0; i < n; i++)
    for (let s = 0; s < BLEU_STATS; s++) {
      rows[i * C + s] = sa[i][s];
      rows[i * C + BLEU_STATS + s] = sb[i][s];
    }
  const sums = (from: Float64Array, d: number, system: 0 | 1) => from.subarray(d * C + system * BLEU_STATS, d * C + (system + 1) * BLEU_STATS);
  const swapped = pairedSums(rows, C, samples, seed, 0, 'swap');
  let extreme = 0;
  for (let d = 0; d < samples; d++) if (Math.abs(bleu.fromSums(sums(swapped, d, 1)).score - bleu.fromSums(sums(swapped, d, 0)).score) >= Math.abs(delta) - 1e-12) extreme++;
  const drawn = pairedSums(rows, C, samples, seed, samples * n, 'draw');
  const draws = new Float64Array(samples);
  let crossing = 0;
  for (let d = 0; d < samples; d++) {
    draws[d] = bleu.fromSums(sums(drawn, d, 1)).score - bleu.fromSums(sums(drawn, d, 0)).score;
    if (delta > 0 ? draws[d] <= 0 : delta < 0 ? draws[d] >= 0 : true) crossing++;
  }
  draws.sort();
  const tail = (1 - confidence) / 2;
  return { a, b, delta, low: quantile(draws, tail), high: quantile(draws, 1 - tail), pRandomisation: (extreme + 1) / (samples + 1), pBootstrap: Math.min(1, (2 * crossing) / samples), n };
}

export function compareParts(a: EvalPart, b: EvalPart, options: CompareOptions = {}): Comparison {
  sameTask(a, b, options.acrossTasks);
  const samples = options.samples ?? 1000;
  const seed = options.seed ?? 0;
  const confidence = a.settings.ci.confidence;
  const bleu = Bleu.fromSettings(a.settings.bleu);
  const rouge = new Rouge(a.settings.rouge);
  const indexB = new Map<string, number>();
  b.users.forEach((u, i) => indexB.set(u, i));
  const pairs: [number, number][] = [];
  a.users.forEach((u, i) => {
    const j = indexB.get(u);
    if (j !== undefined) pairs.push([i, j]);
  });
  if (pairs.length === 0) throw new CompareError('the two evaluations share no examples (users)');
  const metrics: MetricComparison[] = [];
  const kindsBoth = Object.keys(a.text).filter((kind) => b.text[kind as NarrativeKind]);
  const total = 2 * cutoffsOf(a.settings).length + 1 + kindsBoth.length * (1 + rouge.types.length);
  const phase = `paired tests (${samples.toLocaleString('en-US')} resamples)`;
  const tick = () => options.progress?.({ phase, done: Math.min(metrics.length, total), total, unit: 'tables' });
  const add = (metric: string, xa: Float64Array, xb: Float64Array) => {
    const t = pairedTest(xa, xb, { samples, seed, confidence });
    metrics.push({ metric, a: mean(xa), b: mean(xb), delta: t.delta, low: t.low, high: t.high, pRandomisation: t.pRandomisation, pBootstrap: t.pBootstrap, n: xa.length });
    tick();
  };

  const ranksA = Float64Array.from(pairs, ([i]) => a.ranks[i] ?? Infinity);
  const ranksB = Float64Array.from(pairs, ([, j]) => b.ranks[j] ?? Infinity);
  for (const k of cutoffsOf(a.settings)) {
    const ra = rankingScores(ranksA, k);
    const rb = rankingScores(ranksB, k);
    add(`recall@${k}`, ra.recall, rb.recall);
    add(`ndcg@${k}`, ra.ndcg, rb.ndcg);
  }
  const ra = rankingScores(ranksA, a.settings.k);
  const rb = rankingScores(ranksB, b.settings.k);
  add('mrr', ra.rr, rb.rr);

  for (const kind of Object.keys(a.text) as NarrativeKind[]) {
    const ta = a.text[kind] as TextPart;
    const tb = b.text[kind];
    if (!tb) continue;
    const pairOfA = new Map<number, number>();
    ta.rows.forEach((row, p) => pairOfA.set(row, p));
    const pairOfB = new Map<number, number>();
    tb.rows.forEach((row, p) => pairOfB.set(row, p));
    const matched = pairs.map(([i, j]) => [pairOfA.get(i), pairOfB.get(j)] as const).filter((x): x is readonly [number, number] => x[0] !== undefined && x[1] !== undefined);
    if (matched.length === 0) continue;
    const name = NARRATIVE_NAMES[kind];
    metrics.push({
      metric: `${name}.bleu`,
      ...compareBleu(
        bleu,
        matched.map(([p]) => ta.bleu.slice(p * BLEU_STATS, (p + 1) * BLEU_STATS)),
        matched.map(([, q]) => tb.bleu.slice(q * BLEU_STATS, (q + 1) * BLEU_STATS)),
        samples,
        seed,
        confidence,
      ),
    });
    tick();
    rouge.types.forEach((type, t) => {
      const f = (part: TextPart, p: number) => rouge.fmeasure(part.rouge, p, t);
      add(`${name}.${type}`, Float64Array.from(matched, ([p]) => f(ta, p)), Float64Array.from(matched, ([, q]) => f(tb, q)));
    });
    if (ta.semsim && tb.semsim) add(`${name}.semsim`, Float64Array.from(matched, ([p]) => ta.semsim![p]), Float64Array.from(matched, ([, q]) => tb.semsim![q]));
  }
  return {
    a: signature(a.settings),
    b: signature(b.settings),
    inputsA: a.inputs,
    inputsB: b.inputs,
    badInput: badInputProblems(mergeInputs([a.inputs, b.inputs])),
    matched: pairs.length,
    onlyA: a.users.length - pairs.length,
    onlyB: b.users.length - pairs.length,
    metrics,
    samples,
    seed,
    confidence,
  };
}

/** Compares two part files, or eval --out folders (their main row). */
export function comparePartFiles(a: string, b: string, options: CompareOptions = {}): Comparison {
  return compareParts(readPart(partForCompare(a)), readPart(partForCompare(b)), options);
}

export function formatComparison(c: Comparison): string {
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : 'n/a');
  const lines = [
    `A: ${c.a}`,
    `B: ${c.b}`,
    `${c.matched.toLocaleString('en-US')} examples in both${c.onlyA || c.onlyB ? ` (${c.onlyA} only in A, ${c.onlyB} only in B: left out)` : ''}; ${c.samples} resamples, seed ${c.seed}`,
    '',
    `| metric | A | B | B - A | ${Math.round(c.confidence * 100)}% interval | p (randomisation) | p (bootstrap) |`,
    '|---|---|---|---|---|---|---|',
    ...c.metrics.map((m) => `| ${m.metric} | ${f(m.a)} | ${f(m.b)} | ${f(m.delta)} | [${f(m.low)}, ${f(m.high)}] | ${f(m.pRandomisation)} | ${f(m.pBootstrap)} |`),
    '',
    ...inputProblemsMarkdown(mergeInputs([c.inputsA, c.inputsB])),
  ];
  return lines.join('\n');
}

/** The JSON of a comparison (keys are a contract): the fields of Comparison, input problems as input_problems {a, b}. */
export function comparisonJson(c: Comparison): Record<string, unknown> {
  const { inputsA, inputsB, badInput, ...rest } = c;
  return { ...rest, input_problems: { a: inputProblemsJson(inputsA), b: inputProblemsJson(inputsB) }, bad_input: badInput };
}
