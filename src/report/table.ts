// The report's table: one row per model and paper row, one column per metric, each value with its
// interval; against a baseline, the paired difference with compare's tests (src/eval/compare.ts);
// plus what the charts draw (Recall@k curves from the per-example ranks, critique lifts).
import { statSync } from 'node:fs';
import path from 'node:path';

import { compareParts, type MetricComparison } from '../eval/compare.js';
import type { ProgressFn } from '../util/progress.js';
import { ReportInputError } from './errors.js';
import type { LoadedRun, RunRow } from './runs.js';
import { ciLevel, describeMismatches, mismatches, type Mismatch } from './signature.js';

/** Text metrics a report can show per narrative kind (eval's JSON keys). */
export const TEXT_METRICS = ['bleu', 'rouge1', 'rouge2', 'rougeL', 'rougeLsum', 'semsim'] as const;
export type TextMetric = (typeof TEXT_METRICS)[number];
export const DEFAULT_TEXT_METRICS: readonly TextMetric[] = ['bleu', 'rougeL'];
const TEXT_LABELS: Record<TextMetric, string> = { bleu: 'BLEU', rouge1: 'ROUGE-1', rouge2: 'ROUGE-2', rougeL: 'ROUGE-L', rougeLsum: 'ROUGE-Lsum', semsim: 'SemSim' };

/** Recall@k curves run from k = 1 to this. */
export const CURVE_MAX_K = 100;

export interface Column {
  /** compare's metric name: recall@10, ndcg@10, mrr, <kind>.bleu, <kind>.rougeL. */
  key: string;
  label: string;
  group: 'ranking' | 'text';
  /** The narrative kind of a text column. */
  kind?: string;
  metric: string;
  /** Decimals to print: BLEU is 0-100, the rest 0-1. */
  digits: number;
}

export interface Cell {
  value: number | null;
  low: number | null;
  high: number | null;
}

/** The paired difference of a row from the baseline's row of the same task (row - baseline). */
export interface Versus {
  delta: number;
  low: number;
  high: number;
  pRandomisation: number;
  pBootstrap: number;
  /** Both p-values below alpha. */
  significant: boolean;
  n: number;
}

export interface TableRow {
  /** The run (as given) and its row. */
  run: string;
  /** The model's name from the signature (with the run's folder when two runs share a name). */
  model: string;
  /** The signature's task field: 1, 2, 2-no-critique, 3, 3-no-critique. */
  task: string;
  /** The paper's row label. */
  row: string;
  signature: string;
  baseline: boolean;
  n: number;
  cells: Record<string, Cell>;
  /** Against the baseline's row of the same task; absent for the baseline, or when the row has no such row. */
  versus?: Record<string, Versus>;
  /** Why there is no comparison for this row. */
  versusNote?: string;
  /** Recall@k for k = 1..CURVE_MAX_K from the per-example ranks (null without the part). */
  recallCurve: number[] | null;
}

/** The lift from critiques: the same model without and with them, paired example by example. */
export interface Lift {
  model: string;
  /** "task 1 -> task 2", or "task 3 without -> with critiques". */
  what: string;
  from: string;
  to: string;
  metrics: MetricComparison[];
}

export interface ReportTable {
  columns: Column[];
  rows: TableRow[];
  /** The interval level (0.95). */
  confidence: number;
  /** Significance level of the marks. */
  alpha: number;
  /** The run given as the baseline (the same model's runs of other tasks are baselines for their tasks). */
  baseline: string | null;
  /** Resamples and seed of the paired tests. */
  samples: number;
  seed: number;
  /** With allowMixed: the shared fields the runs differ in (the table says so). */
  mixed: Mismatch[];
  lifts: Lift[];
  /** Facts the table rests on: dataset, split, history policy, cut-offs, and the input files per run. */
  manifest: { data: string; split: string; history: string; k: string; runs: { run: string; path: string; inputs: LoadedRun['inputs'] }[] };
  notes: string[];
}

export interface TableOptions {
  baseline?: string;
  allowMixed?: boolean;
  /** Text metrics per narrative kind (default BLEU and ROUGE-L). */
  textMetrics?: readonly TextMetric[];
  samples?: number;
  seed?: number;
  alpha?: number;
  progress?: ProgressFn;
}

const RANKING_KEY = /^(recall|ndcg)@(\d+)$/;

/** Cut-offs of a row, ascending (from its ranking keys). */
function cutoffs(row: RunRow): number[] {
  return [...new Set(Object.keys(row.ranking).flatMap((k) => (RANKING_KEY.exec(k) ? [Number(RANKING_KEY.exec(k)![2])] : [])))].sort((a, b) => a - b);
}

function columnsFor(rows: readonly RunRow[], textMetrics: readonly TextMetric[]): Column[] {
  const ks = [...new Set(rows.flatMap(cutoffs))].sort((a, b) => a - b);
  const cols: Column[] = [];
  for (const k of ks) {
    cols.push({ key: `recall@${k}`, label: `Recall@${k}`, group: 'ranking', metric: `recall@${k}`, digits: 3 });
    cols.push({ key: `ndcg@${k}`, label: `NDCG@${k}`, group: 'ranking', metric: `ndcg@${k}`, digits: 3 });
  }
  cols.push({ key: 'mrr', label: 'MRR', group: 'ranking', metric: 'mrr', digits: 3 });
  const kinds: string[] = [];
  for (const r of rows) for (const kind of Object.keys(r.text)) if (!kinds.includes(kind)) kinds.push(kind);
  for (const kind of kinds)
    for (const m of textMetrics) cols.push({ key: `${kind}.${m}`, label: `${kind} ${TEXT_LABELS[m]}`, group: 'text', kind, metric: m, digits: m === 'bleu' ? 2 : 3 });
  return cols;
}

function cellOf(row: RunRow, col: Column): Cell {
  const num = (x: number | null | undefined) => (typeof x === 'number' && Number.isFinite(x) ? x : null);
  if (col.group === 'ranking') {
    const ci = row.ci.ranking[col.metric];
    return { value: num(row.ranking[col.metric]), low: num(ci?.[0]), high: num(ci?.[1]) };
  }
  const ci = row.ci.text[col.kind!]?.[col.metric];
  return { value: num(row.text[col.kind!]?.[col.metric]), low: num(ci?.[0]), high: num(ci?.[1]) };
}

function recallCurve(row: RunRow): number[] | null {
  if (!row.part) return null;
  const hits = new Float64Array(CURVE_MAX_K + 1);
  for (const r of row.part.ranks) if (r !== null && r < CURVE_MAX_K) hits[r + 1]++;
  const n = row.part.ranks.length;
  const curve: number[] = [];
  let cum = 0;
  for (let k = 1; k <= CURVE_MAX_K; k++) {
    cum += hits[k];
    curve.push(n ? cum / n : NaN);
  }
  return curve;
}

/** Model identity: its name and the files its answers came from (two prediction files are two models). */
const modelKey = (row: RunRow) => `${row.fields.model}|${row.fields.inputs ?? ''}`;

export function buildTable(runs: readonly LoadedRun[], options: TableOptions = {}): ReportTable {
  if (runs.length === 0) throw new ReportInputError('give at least one run: an eval --out folder or a report.json');
  const textMetrics = options.textMetrics ?? DEFAULT_TEXT_METRICS;
  const samples = options.samples ?? 1000;
  const seed = options.seed ?? 0;
  const alpha = options.alpha ?? 0.05;
  const all = runs.flatMap((run) => run.rows.map((row) => ({ run, row, source: run.source, fields: row.fields })));
  if (all.length === 0) throw new ReportInputError(`${runs[0].source}: the run holds no rows`);

  // Same paths given twice would be one model compared with itself.
  const seen = new Map<string, string>();
  for (const run of runs) {
    const other = seen.get(run.path);
    if (other !== undefined) throw new ReportInputError(`${run.source} and ${other} are the same run: give each run once`);
    seen.set(run.path, run.source);
  }

  const fields = textMetrics.includes('semsim') ? ['data', 'split', 'k', 'history', 'bleu', 'rouge', 'ci', 'semsim'] : undefined;
  // Intervals of one level compare, whatever their resample count or seed (each row keeps its own).
  const mixed = mismatches(all.map((a) => ({ ...a, fields: { ...a.fields, ci: `level ${ciLevel(a.fields)}` } })), fields);
  if (mixed.length && !options.allowMixed)
    throw new ReportInputError(
      `the runs are not comparable: they differ in ${describeMismatches(mixed)}. ` +
        'Evaluate them with the same data, split, --k, history policy and metric settings, or pass --allow-mixed to tabulate them anyway (the table then says so)',
    );

  let baselineRun: LoadedRun | null = null;
  if (options.baseline !== undefined) {
    const want = path.resolve(options.baseline);
    // A run given as its report.json is also found by its folder; a folder that merely holds runs is not a run.
    const isFile = (r: LoadedRun) => !statSync(r.path).isDirectory();
    baselineRun = runs.find((r) => r.path === want || r.source === options.baseline || (isFile(r) && path.dirname(r.path) === want)) ?? null;
    if (!baselineRun)
      throw new ReportInputError(`--baseline ${options.baseline} is not among the runs (${runs.map((r) => r.source).join(', ')}): give it as one of the RUN arguments too`);
    if (baselineRun.rows.some((r) => !r.part))
      throw new ReportInputError(`--baseline ${options.baseline}: paired tests need the per-example parts: give the eval --out folder, not its report.json`);
  }
  // The baseline is a model: its other runs (other tasks) are baselines for their tasks too.
  const baselineModel = baselineRun ? modelKey(baselineRun.rows[0]) : null;
  const isBaseline = (run: LoadedRun) => baselineRun !== null && run.rows.every((r) => r.part && modelKey(r) === baselineModel);
  const baselineRows = all.filter((a) => isBaseline(a.run));

  // Labels: the model's name; with the run's name too when that name alone is ambiguous (two runs of
  // one task, or two models of one name that read other files).
  const ambiguous = new Set<string>();
  for (const name of new Set(all.map((a) => a.row.fields.model))) {
    const mine = all.filter((a) => a.row.fields.model === name);
    const tasks = mine.map((a) => a.row.fields.task);
    if (new Set(mine.map((a) => modelKey(a.row))).size > 1 || new Set(tasks).size < tasks.length) ambiguous.add(name);
  }
  const runName = (run: LoadedRun) => path.basename(run.source.replace(/[\\/]+$/, '')) || run.source;
  const labelOf = (run: LoadedRun, row: RunRow) => (ambiguous.has(row.fields.model) ? `${row.fields.model} (${runName(run)})` : row.fields.model);

  const columns = columnsFor(all.map((a) => a.row), textMetrics);
  const notes: string[] = [];
  const rows: TableRow[] = [];
  const toCompare = all.filter((a) => baselineRun && !isBaseline(a.run)).length;
  let compared = 0;
  for (const { run, row } of all) {
    const out: TableRow = {
      run: run.source,
      model: labelOf(run, row),
      task: row.fields.task,
      row: row.row,
      signature: row.signature,
      baseline: isBaseline(run),
      n: row.ranking.n,
      cells: Object.fromEntries(columns.map((c) => [c.key, cellOf(row, c)])),
      recallCurve: recallCurve(row),
    };
    if (baselineRun && !isBaseline(run)) {
      // The run given as the baseline first; then the baseline model's other runs, in the order given.
      const base = (baselineRun.rows.find((b) => b.fields.task === row.fields.task) ?? baselineRows.find((b) => b.row.fields.task === row.fields.task)?.row) as RunRow | undefined;
      if (!base) out.versusNote = `the baseline has no task ${row.fields.task} row`;
      else if (!row.part) out.versusNote = `${run.source} is a report.json: paired tests need the eval --out folder's parts`;
      else {
        try {
          const c = compareParts(base.part!, row.part, { samples, seed });
          out.versus = Object.fromEntries(
            c.metrics.map((m) => [
              m.metric,
              { delta: m.delta, low: m.low, high: m.high, pRandomisation: m.pRandomisation, pBootstrap: m.pBootstrap, significant: m.pRandomisation < alpha && m.pBootstrap < alpha, n: m.n },
            ]),
          );
          if (c.onlyA || c.onlyB) out.versusNote = `paired on the ${c.matched} examples both runs have (${c.onlyA} only in the baseline, ${c.onlyB} only in this run)`;
        } catch (e) {
          out.versusNote = `not compared: ${(e as Error).message}`;
        }
        compared++;
        options.progress?.({ phase: 'paired tests against the baseline', done: compared, total: toCompare, unit: 'rows' });
      }
    }
    rows.push(out);
  }
  // The paper's order within a model: without critiques first, then by task.
  const taskOrder = (t: string) => ({ '1': 0, '2-no-critique': 1, '2': 2, '3-no-critique': 3, '3': 4 })[t] ?? 5;
  const runOrder = new Map(runs.map((r, i) => [r.source, i]));
  rows.sort((a, b) => Number(b.baseline) - Number(a.baseline) || runOrder.get(a.run)! - runOrder.get(b.run)! || taskOrder(a.task) - taskOrder(b.task));

  const lifts = critiqueLifts(all.map((a) => ({ run: a.run, row: a.row, label: labelOf(a.run, a.row) })), samples, seed, options.progress);
  for (const r of rows) if (r.versusNote) notes.push(`${r.model}, ${r.row}: ${r.versusNote}`);
  if (mixed.length) notes.push(`mixed runs (--allow-mixed): they differ in ${describeMismatches(mixed)}; rows are not comparable on those fields`);

  const f = all[0].fields;
  return {
    columns,
    rows,
    confidence: ciLevel(f),
    alpha,
    baseline: baselineRun?.source ?? null,
    samples,
    seed,
    mixed,
    lifts,
    manifest: { data: f.data, split: f.split, history: f.history, k: f.k, runs: runs.map((r) => ({ run: r.source, path: r.path, inputs: r.inputs })) },
    notes,
  };
}

/**
 * Pairs of one model's rows where only the critique differs: task 1 and task 2 (the same targets), or a
 * run's two rows (task 2 or 3 without and with critiques). Ranking metrics, paired by user.
 */
function critiqueLifts(items: readonly { run: LoadedRun; row: RunRow; label: string }[], samples: number, seed: number, progress?: ProgressFn): Lift[] {
  const pairs: { from: (typeof items)[number]; to: (typeof items)[number]; what: string; acrossTasks: boolean }[] = [];
  const byModel = new Map<string, (typeof items)[number][]>();
  for (const it of items) {
    if (!it.row.part) continue;
    const list = byModel.get(modelKey(it.row)) ?? [];
    list.push(it);
    byModel.set(modelKey(it.row), list);
  }
  for (const list of byModel.values()) {
    const find = (task: string) => list.find((x) => x.row.fields.task === task);
    const t1 = find('1');
    const t2 = find('2');
    if (t1 && t2) pairs.push({ from: t1, to: t2, what: 'task 1 -> task 2 (critique shown)', acrossTasks: true });
    for (const t of ['2', '3']) {
      const without = find(`${t}-no-critique`);
      const withC = find(t);
      if (without && withC) pairs.push({ from: without, to: withC, what: `task ${t} without -> with critiques`, acrossTasks: false });
    }
  }
  const lifts: Lift[] = [];
  pairs.forEach((p, i) => {
    const ranking = (part: NonNullable<RunRow['part']>) => ({ ...part, text: {} });
    try {
      const c = compareParts(ranking(p.from.row.part!), ranking(p.to.row.part!), { samples, seed, acrossTasks: p.acrossTasks });
      lifts.push({ model: p.to.label, what: p.what, from: p.from.row.signature, to: p.to.row.signature, metrics: c.metrics });
    } catch {
      // Runs that cannot be paired (other examples) have no lift; the table still shows both rows.
    }
    progress?.({ phase: 'critique lifts', done: i + 1, total: pairs.length, unit: 'rows' });
  });
  return lifts;
}
