// The report of an evaluation: means with seeded bootstrap intervals, computed from a (merged) part,
// as JSON for machines (key names are a contract) and Markdown in the layout of the paper's Table 2.
import { NARRATIVE_NAMES, type NarrativeKind } from '../data/dataset.js';
import { rankingScores } from '../metrics/ranking.js';
import { Bleu, BLEU_STATS } from '../metrics/text/bleu.js';
import { Rouge } from '../metrics/text/rouge.js';
import { bootstrapMeans, bootstrapSums, percentileInterval, quantile, type Interval } from './bootstrap.js';
import { cutoffsOf, type EvalPart, type EvalSettings, type TextPart } from './evaluate.js';
import { inputProblemsJson, inputProblemsMarkdown, type InputFile } from './input-problems.js';
import { rowTag } from './out-dir.js';
import type { ProgressFn } from '../util/progress.js';
import { buildExtras, extrasJson, extrasMarkdown, type ReportExtras } from './extras.js';

export function signature(s: EvalSettings): string {
  return [
    `regen-bench:${s.tool}`,
    `data:${s.dataset.name}@${s.dataset.key.slice(0, 16)}`,
    `split:${s.split}`,
    `task:${rowTag(s).slice(4)}`,
    `k:${cutoffsOf(s).join('+')}`,
    `history:${s.excludeHistory ? 'excluded' : 'kept'}`,
    `model:${s.model}${s.narrator ? `+${s.narrator}` : ''}`,
    `bleu:[${s.bleu.signature}]`,
    `rouge:${new Rouge(s.rouge).signature()}`,
    `semsim:${s.semsim.model ?? 'none'}${s.semsim.sha256 ? `@${s.semsim.sha256.slice(0, 16)}` : ''}`,
    ...inputsField(s),
    `ci:bootstrap-${s.ci.samples}-${s.ci.confidence}-seed${s.ci.seed}`,
    `backend:${s.backend}`,
  ].join('|');
}

/** The signature's inputs field (absent without input files): "inputs:[predictions=preds.jsonl@1a2b3c4d5e6f7a8b]". */
function inputsField(s: EvalSettings): string[] {
  const entries = Object.entries(s.inputs ?? {});
  if (entries.length === 0) return [];
  return [`inputs:[${entries.map(([role, f]) => `${role.replace(/\s+/g, '-')}=${f.file}@${f.sha256.slice(0, 16)}`).join(',')}]`];
}

export interface TextReport {
  bleu: number;
  rouge1: number;
  rouge2: number;
  rougeL: number;
  rougeLsum: number;
  semsim: number | null;
}

export interface EvalReport {
  signature: string;
  /** The paper's row label ("Hist + Critique -> ID + Narrative"). */
  row: string;
  /** Keys follow --k: recall@10, ndcg@10, mrr, n. */
  ranking: Record<string, number>;
  /** Per narrative kind (snake_case): BLEU (0-100), ROUGE F-measures (0-1), semantic similarity (-1..1) or null. */
  text: Record<string, TextReport>;
  /** 95% (settings.ci.confidence) bootstrap intervals [low, high], keyed like ranking and text. */
  ci: { ranking: Record<string, [number, number]>; text: Record<string, Record<string, [number, number]>> };
  /** Why semantic similarity is missing, and how to get it. */
  semsimNote: string | null;
  /**
   * Examples whose target is in their own history (repeat purchases), of n: with history exclusion
   * the target is excluded with the history and they count as misses; with it kept they are ranked.
   */
  repeatTargets: { count: number; of: number; countedAs: 'misses' | 'ranked' };
  /** Counted oddities of the inputs. */
  notes: Record<string, number>;
  /** The files read, by content hash, and what was wrong with them (the report's input_problems). */
  inputs: InputFile[];
  settings: EvalSettings;
  /** Answer hygiene, narrative-item consistency, leakage (src/eval/extras.ts). */
  extras?: ReportExtras;
}

/** "repeat targets: N of M, counted as misses" (or "ranked, history kept"). */
export function repeatTargetsLine(r: EvalReport['repeatTargets']): string {
  const { count, of, countedAs } = r;
  const share = of ? ` (${((100 * count) / of).toFixed(1)}%)` : '';
  return `repeat targets (the target is in the user's history): ${count.toLocaleString('en-US')} of ${of.toLocaleString('en-US')}${share}, ${countedAs === 'misses' ? 'counted as misses (excluded with the history)' : 'ranked (history kept)'}`;
}

const pair = (i: Interval): [number, number] => [i.low, i.high];

export async function buildReport(part: EvalPart, semsimNote: string | null = null, progress?: ProgressFn): Promise<EvalReport> {
  const s = part.settings;
  // The intervals of a large evaluation take seconds per narrative kind: said step by step.
  const steps = 2 + Object.keys(part.text).length;
  let step = 0;
  const phase = `bootstrap intervals, ${rowTag(s)} (${s.ci.samples.toLocaleString('en-US')} resamples)`;
  const advance = () => progress?.({ phase, done: ++step, total: steps, unit: 'tables' });
  progress?.({ phase, done: 0, total: steps, unit: 'tables' });
  const ranks = Float64Array.from(part.ranks, (r) => (r === null ? Infinity : r));
  const boot = { samples: s.ci.samples, confidence: s.ci.confidence, seed: s.ci.seed };
  // Every cut-off's Recall and NDCG, and MRR, resampled together (the same draws for each).
  const metrics: Record<string, Float64Array> = {};
  for (const k of cutoffsOf(s)) {
    const scores = rankingScores(ranks, k);
    metrics[`recall@${k}`] = scores.recall;
    metrics[`ndcg@${k}`] = scores.ndcg;
    metrics.mrr = scores.rr;
  }
  const rankCi = await bootstrapMeans(metrics, boot);
  const ranking: Record<string, number> = {};
  const rankingCi: Record<string, [number, number]> = {};
  for (const k of cutoffsOf(s))
    for (const key of [`recall@${k}`, `ndcg@${k}`]) {
      ranking[key] = rankCi[key].mean;
      rankingCi[key] = pair(rankCi[key]);
    }
  ranking.mrr = rankCi.mrr.mean;
  rankingCi.mrr = pair(rankCi.mrr);
  ranking.n = ranks.length;
  advance();
  const report: EvalReport = {
    signature: signature(s),
    row: `${s.critiques ? 'Hist + Critique' : 'Hist'} -> ID${s.task === 3 ? ' + Narrative' : ''}`,
    ranking,
    text: {},
    ci: { ranking: rankingCi, text: {} },
    semsimNote,
    repeatTargets: { count: part.repeatTargets, of: ranks.length, countedAs: s.excludeHistory ? 'misses' : 'ranked' },
    notes: part.notes,
    inputs: part.inputs,
    settings: s,
  };
  const T = s.rouge.types.length;
  const bleuMetric = Bleu.fromSettings(s.bleu);
  const rougeMetric = new Rouge(s.rouge);
  // Each kind's resampling runs natively while the next kind's values are laid out here.
  let running: Promise<void> = Promise.resolve();
  for (const [kind, t] of Object.entries(part.text) as [NarrativeKind, TextPart][]) {
    const rouge = rougeMetric.means(t.rouge, t.pairs);
    const name = NARRATIVE_NAMES[kind];
    const bleu = bleuMetric.corpus(t.bleu, t.pairs).score;
    report.text[name] = {
      bleu,
      rouge1: rouge.rouge1?.fmeasure ?? NaN,
      rouge2: rouge.rouge2?.fmeasure ?? NaN,
      rougeL: rouge.rougeL?.fmeasure ?? NaN,
      rougeLsum: rouge.rougeLsum?.fmeasure ?? NaN,
      semsim: t.semsim ? t.semsim.reduce((a, b) => a + b, 0) / t.semsim.length : null,
    };
    // One resampling for every statistic of the kind: BLEU's sufficient statistics (corpus BLEU of
    // each resample), each ROUGE type's per-pair F-measure and the semantic similarity.
    const columns = BLEU_STATS + T + (t.semsim ? 1 : 0);
    const values = new Float64Array(t.pairs * columns);
    for (let i = 0; i < t.pairs; i++) {
      const row = i * columns;
      for (let c = 0; c < BLEU_STATS; c++) values[row + c] = t.bleu[i * BLEU_STATS + c];
      for (let k = 0; k < T; k++) values[row + BLEU_STATS + k] = rougeMetric.fmeasure(t.rouge, i, k);
      if (t.semsim) values[row + BLEU_STATS + T] = t.semsim[i];
    }
    const ci: Record<string, [number, number]> = {};
    report.ci.text[name] = ci;
    await running;
    if (t.pairs === 0) {
      advance();
      continue;
    }
    const sums = bootstrapSums(values, columns, boot);
    sums.catch(() => {}); // awaited below (an error surfaces there)
    running = sums.then((draws) => {
      const bleuDraws = new Float64Array(s.ci.samples);
      for (let d = 0; d < s.ci.samples; d++) bleuDraws[d] = bleuMetric.fromSums(draws.subarray(d * columns, d * columns + BLEU_STATS)).score;
      bleuDraws.sort();
      const tail = (1 - s.ci.confidence) / 2;
      ci.bleu = [quantile(bleuDraws, tail), quantile(bleuDraws, 1 - tail)];
      s.rouge.types.forEach((type, k) => (ci[type] = percentileInterval(draws, columns, BLEU_STATS + k, s.ci.confidence, (x) => x / t.pairs)));
      if (t.semsim) ci.semsim = percentileInterval(draws, columns, BLEU_STATS + T, s.ci.confidence, (x) => x / t.pairs);
      advance();
    });
    running.catch(() => {}); // awaited at the next kind or below
  }
  await running;
  report.extras = await buildExtras(part);
  advance();
  return report;
}

const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');
const withCi = (x: number, ci: [number, number] | undefined, fmt: (x: number) => string) => (ci ? `${fmt(x)} [${fmt(ci[0])}, ${fmt(ci[1])}]` : fmt(x));

/** Markdown in the layout of the paper's Table 2: one row per report (model run). */
export function formatMarkdown(reports: readonly EvalReport[]): string {
  const first = reports[0];
  const ks = cutoffsOf(first.settings);
  const lines: string[] = [];
  lines.push(`# regen-bench evaluation: ${first.settings.model}${first.settings.narrator ? ` + ${first.settings.narrator}` : ''} on ${first.settings.dataset.name} (${first.settings.split})`);
  lines.push('');
  lines.push(`Ranking over all ${'items'}, ${first.settings.excludeHistory ? "the user's whole history excluded" : 'history kept'}; ${Math.round(first.settings.ci.confidence * 100)}% bootstrap intervals.`);
  const repeats = new Set(reports.map((r) => repeatTargetsLine(r.repeatTargets)));
  for (const line of repeats) lines.push(`${line[0].toUpperCase()}${line.slice(1)}.`);
  lines.push('');
  const keys = ks.flatMap((k) => [`recall@${k}`, `ndcg@${k}`]);
  const head = ks.flatMap((k) => [`Recall@${k}`, `NDCG@${k}`]);
  lines.push(`| Task | ${head.join(' | ')} | MRR | n |`);
  lines.push(`|---|${head.map(() => '---|').join('')}---|---|`);
  for (const r of reports)
    lines.push(`| ${r.row} | ${[...keys, 'mrr'].map((key) => withCi(r.ranking[key], r.ci.ranking[key], f3)).join(' | ')} | ${r.ranking.n.toLocaleString('en-US')} |`);
  for (const r of reports) {
    const kinds = Object.keys(r.text);
    if (kinds.length === 0) continue;
    lines.push('');
    lines.push(`## Narratives: ${r.row}`);
    lines.push('');
    lines.push('| Narrative | BLEU | ROUGE-1 | ROUGE-2 | ROUGE-L | ROUGE-Lsum | SemSim |');
    lines.push('|---|---|---|---|---|---|---|');
    for (const kind of kinds) {
      const t = r.text[kind];
      const ci = r.ci.text[kind];
      lines.push(
        `| ${kind} | ${withCi(t.bleu, ci.bleu, f2)} | ${withCi(t.rouge1, ci.rouge1, f3)} | ${withCi(t.rouge2, ci.rouge2, f3)} | ${withCi(t.rougeL, ci.rougeL, f3)} | ${withCi(t.rougeLsum, ci.rougeLsum, f3)} | ${t.semsim === null ? 'n/a' : withCi(t.semsim, ci.semsim, f3)} |`,
      );
    }
  }
  lines.push(...extrasMarkdown(reports));
  const note = reports.find((r) => r.semsimNote)?.semsimNote;
  if (note) lines.push('', `SemSim n/a: ${note}`);
  const notes = Object.entries(first.notes);
  if (notes.length) {
    lines.push('', 'Input notes:');
    for (const [what, n] of notes) lines.push(`- ${what}: ${n.toLocaleString('en-US')}`);
  }
  lines.push('', ...inputProblemsMarkdown(first.inputs));
  lines.push('', 'Signatures:');
  for (const r of reports) lines.push(`- ${r.row}: \`${r.signature}\``);
  return lines.join('\n') + '\n';
}

/** The JSON of one report: the contract keys (signature, ranking, text) first, then intervals and notes. */
export function reportJson(report: EvalReport, rows?: readonly EvalReport[]): Record<string, unknown> {
  const out: Record<string, unknown> = {
    signature: report.signature,
    ranking: report.ranking,
    text: report.text,
    row: report.row,
    ci: report.ci,
    semsim_note: report.semsimNote,
    repeat_targets: repeatTargetsJson(report),
    notes: report.notes,
    ...extrasJson(report),
    input_problems: inputProblemsJson(report.inputs),
  };
  if (rows && rows.length > 1)
    out.rows = rows.map((r) => ({ row: r.row, signature: r.signature, ranking: r.ranking, text: r.text, ci: r.ci, repeat_targets: repeatTargetsJson(r), ...extrasJson(r) }));
  return out;
}

function repeatTargetsJson(r: EvalReport): { count: number; of: number; counted_as: 'misses' | 'ranked' } {
  return { count: r.repeatTargets.count, of: r.repeatTargets.of, counted_as: r.repeatTargets.countedAs };
}
