// Confidence intervals and significance from per-example scores. Every resampling is seeded, so a
// report's intervals and p-values are reproducible from its signature.
import { rng } from '../util/random.js';

export interface Interval {
  mean: number;
  low: number;
  high: number;
}

export interface BootstrapOptions {
  /** Resamples (default 1000). */
  samples?: number;
  /** Two-sided level of the interval (default 0.95). */
  confidence?: number;
  seed?: number;
}

function mean(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return values.length === 0 ? NaN : s / values.length;
}

/** The q-quantile of sorted values, linear between order statistics (numpy's default). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * Percentile-bootstrap intervals for the means of several metrics over the same examples. One set
 * of resampled indices serves every metric, so the intervals of one report are consistent.
 */
export function bootstrapMeans(metrics: Record<string, ArrayLike<number>>, options: BootstrapOptions = {}): Record<string, Interval> {
  const samples = options.samples ?? 1000;
  const confidence = options.confidence ?? 0.95;
  const names = Object.keys(metrics);
  const n = names.length ? metrics[names[0]].length : 0;
  for (const name of names)
    if (metrics[name].length !== n) throw new RangeError(`Expected every metric to have ${n} per-example values but ${name} has ${metrics[name].length}`);
  const draws = names.map(() => new Float64Array(samples));
  const random = rng(options.seed ?? 0);
  const index = new Int32Array(n);
  for (let s = 0; s < samples && n > 0; s++) {
    for (let i = 0; i < n; i++) index[i] = Math.floor(random() * n);
    names.forEach((name, m) => {
      const values = metrics[name];
      let sum = 0;
      for (let i = 0; i < n; i++) sum += values[index[i]];
      draws[m][s] = sum / n;
    });
  }
  const out: Record<string, Interval> = {};
  names.forEach((name, m) => {
    const sorted = draws[m].sort();
    const tail = (1 - confidence) / 2;
    out[name] = n === 0 ? { mean: NaN, low: NaN, high: NaN } : { mean: mean(metrics[name]), low: quantile(sorted, tail), high: quantile(sorted, 1 - tail) };
  });
  return out;
}

export interface PairedTest {
  /** mean(b) - mean(a) */
  delta: number;
  /** Two-sided p-value of the paired approximate randomisation test. */
  pRandomisation: number;
  /** Two-sided p-value of the paired bootstrap test (share of resamples whose delta crosses zero, doubled). */
  pBootstrap: number;
  low: number;
  high: number;
}

/**
 * Compares two systems on the same examples (a[i] and b[i] score example i). Approximate
 * randomisation swaps each pair's labels at random (Riezler and Maxwell 2005); the paired bootstrap
 * resamples examples (Koehn 2004). Both with `samples` draws, seeded.
 */
export function pairedTest(a: ArrayLike<number>, b: ArrayLike<number>, options: BootstrapOptions = {}): PairedTest {
  if (a.length !== b.length) throw new RangeError(`Expected paired scores of equal length but received ${a.length} and ${b.length}`);
  const n = a.length;
  const samples = options.samples ?? 1000;
  const confidence = options.confidence ?? 0.95;
  const diff = new Float64Array(n);
  for (let i = 0; i < n; i++) diff[i] = b[i] - a[i];
  const delta = mean(diff);
  if (n === 0) return { delta: NaN, pRandomisation: NaN, pBootstrap: NaN, low: NaN, high: NaN };

  const random = rng(options.seed ?? 0);
  let extreme = 0;
  for (let s = 0; s < samples; s++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += random() < 0.5 ? -diff[i] : diff[i];
    if (Math.abs(sum / n) >= Math.abs(delta) - 1e-12 * Math.abs(delta)) extreme++;
  }
  const draws = new Float64Array(samples);
  let crossing = 0;
  for (let s = 0; s < samples; s++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += diff[Math.floor(random() * n)];
    draws[s] = sum / n;
    if (delta > 0 ? draws[s] <= 0 : delta < 0 ? draws[s] >= 0 : true) crossing++;
  }
  draws.sort();
  const tail = (1 - confidence) / 2;
  return {
    delta,
    pRandomisation: (extreme + 1) / (samples + 1),
    pBootstrap: Math.min(1, (2 * crossing) / samples),
    low: quantile(draws, tail),
    high: quantile(draws, 1 - tail),
  };
}
