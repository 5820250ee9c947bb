// Critique lift: the same model on the same examples with critiques shown and withheld (eval's two
// rows for task 2 with a model that reads critiques, and task 3 with a model that computes its
// answers), compared example by example with compare's paired tests (src/eval/compare.ts: paired
// bootstrap interval of the difference, approximate randomisation and bootstrap p-values), over all
// examples and split by whether the example has a critique in the data. Ranking metrics only: the
// narratives' differences are in `compare` between the two parts.
import { compareParts, type MetricComparison } from './compare.js';
import type { EvalPart } from './evaluate.js';
import { signature } from './report.js';
import type { ProgressFn } from '../util/progress.js';

export interface LiftSplit {
  n: number;
  metrics: MetricComparison[];
}

export interface CritiqueLift {
  without: string;
  with: string;
  all: LiftSplit;
  withCritique: LiftSplit;
  withoutCritique: LiftSplit;
  samples: number;
  seed: number;
  confidence: number;
}

/** The examples of a part (by index) with their ranks only: what the ranking comparison reads. */
function rankingOnly(part: EvalPart, keep: (row: number) => boolean): EvalPart {
  const rows = part.users.map((_, i) => i).filter(keep);
  return {
    ...part,
    end: part.start + rows.length,
    users: rows.map((i) => part.users[i]),
    ranks: rows.map((i) => part.ranks[i]),
    top1: rows.map((i) => part.top1[i]),
    text: {},
  };
}

function split(without: EvalPart, withC: EvalPart, keep: (row: number) => boolean, samples: number, seed: number): LiftSplit {
  const a = rankingOnly(without, keep);
  const b = rankingOnly(withC, keep);
  if (a.users.length === 0) return { n: 0, metrics: [] };
  return { n: a.users.length, metrics: compareParts(a, b, { samples, seed }).metrics };
}

/** The lift of a pair of parts (critiques withheld, then shown), or null when the parts are not such a pair. */
export function critiqueLift(parts: readonly EvalPart[], progress?: ProgressFn): CritiqueLift | null {
  const without = parts.find((p) => !p.settings.critiques && p.settings.task !== 1);
  const withC = parts.find((p) => p.settings.critiques && p.settings.task === without?.settings.task);
  if (!without || !withC || !withC.critiqued || without.users.length !== withC.users.length) return null;
  const critiqued = new Set(withC.critiqued);
  const { samples, seed, confidence } = withC.settings.ci;
  const phase = `critique lift, paired tests (${samples.toLocaleString('en-US')} resamples)`;
  progress?.({ phase, done: 0, total: 3, unit: 'tables' });
  const all = split(without, withC, () => true, samples, seed);
  progress?.({ phase, done: 1, total: 3, unit: 'tables' });
  const withCritique = split(without, withC, (i) => critiqued.has(i), samples, seed);
  progress?.({ phase, done: 2, total: 3, unit: 'tables' });
  const withoutCritique = split(without, withC, (i) => !critiqued.has(i), samples, seed);
  progress?.({ phase, done: 3, total: 3, unit: 'tables' });
  return {
    without: signature(without.settings),
    with: signature(withC.settings),
    all,
    withCritique,
    withoutCritique,
    samples,
    seed,
    confidence,
  };
}

const metricJson = (m: MetricComparison) => ({
  metric: m.metric,
  without: m.a,
  with: m.b,
  delta: m.delta,
  low: m.low,
  high: m.high,
  p_randomisation: m.pRandomisation,
  p_bootstrap: m.pBootstrap,
});

/** The report's JSON `critique_lift`. */
export function critiqueLiftJson(l: CritiqueLift): Record<string, unknown> {
  const s = (x: LiftSplit) => ({ n: x.n, metrics: x.metrics.map(metricJson) });
  return {
    without: l.without,
    with: l.with,
    all: s(l.all),
    with_critique: s(l.withCritique),
    without_critique: s(l.withoutCritique),
    samples: l.samples,
    seed: l.seed,
    confidence: l.confidence,
  };
}

const f = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : 'n/a');

export function critiqueLiftMarkdown(l: CritiqueLift): string[] {
  const out = [
    '',
    `## Critique lift (the same model, critiques withheld vs shown, paired by example; ${Math.round(l.confidence * 100)}% paired-bootstrap intervals, ${l.samples} resamples)`,
    '',
    '| Examples | n | metric | withheld | shown | shown - withheld | interval | p (randomisation) | p (bootstrap) |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const [label, sp] of [
    ['all', l.all],
    ['with a critique', l.withCritique],
    ['without a critique', l.withoutCritique],
  ] as const)
    for (const m of sp.metrics)
      out.push(`| ${label} | ${sp.n.toLocaleString('en-US')} | ${m.metric} | ${f(m.a)} | ${f(m.b)} | ${f(m.delta)} | [${f(m.low)}, ${f(m.high)}] | ${f(m.pRandomisation)} | ${f(m.pBootstrap)} |`);
  return out;
}
