// Confidence intervals as rouge-score 0.1.2's `BootstrapAggregator` reports them: for each score
// type, n_samples resamples (with replacement) of the per-pair (precision, recall, F) rows, the mean
// of each, then the percentiles (1-c)/2, 50, 1-(1-c)/2 of those means (numpy's default 'linear'
// method). Seeded like `np.random.seed(seed)` before `aggregate()`, the draws are numpy's own:
// MT19937 and legacy `RandomState.choice` (masked rejection sampling), one stream across the types
// in order, so the intervals match the reference's for the same seed.
import { checkBootstrapSize } from '../../util/limits.js';

/** MT19937 as numpy's legacy RandomState seeds and runs it. */
export class MT19937 {
  private mt = new Uint32Array(624);
  private index = 624;

  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
      throw new RangeError(`Expected a seed in [0, 2^32 - 1] (numpy's legacy seeding) but received ${seed}`);
    let s = seed >>> 0;
    for (let i = 0; i < 624; i++) {
      this.mt[i] = s;
      s = (Math.imul(1812433253, s ^ (s >>> 30)) + i + 1) >>> 0;
    }
  }

  nextUint32(): number {
    const mt = this.mt;
    if (this.index >= 624) {
      for (let k = 0; k < 624; k++) {
        const y = (mt[k] & 0x80000000) | (mt[(k + 1) % 624] & 0x7fffffff);
        mt[k] = mt[(k + 397) % 624] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      this.index = 0;
    }
    let y = mt[this.index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** `RandomState.randint(0, n)` for one draw: masked rejection sampling, no draw when n == 1. */
  below(n: number): number {
    const rng = n - 1;
    if (rng === 0) return 0;
    let mask = rng;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    mask >>>= 0;
    for (;;) {
      const v = (this.nextUint32() & mask) >>> 0;
      if (v <= rng) return v;
    }
  }
}

/** numpy 1.24 `percentile(sorted, q)` with method='linear' on one sorted column. */
function percentileLinear(sorted: Float64Array, q: number): number {
  const n = sorted.length;
  const quantile = q / 100;
  const virtualIndex = (n - 1) * quantile;
  let prev = Math.floor(virtualIndex);
  let next = prev + 1;
  if (virtualIndex >= n - 1) prev = next = n - 1;
  if (virtualIndex < 0) prev = next = 0;
  const gamma = virtualIndex - (virtualIndex >= n - 1 ? -1 : virtualIndex < 0 ? 0 : prev);
  const a = sorted[prev];
  const b = sorted[next];
  const diff = b - a;
  return gamma >= 0.5 ? b - diff * (1 - gamma) : a + diff * gamma;
}

export interface ScoreTriple {
  precision: number;
  recall: number;
  fmeasure: number;
}

export interface AggregateScore {
  low: ScoreTriple;
  mid: ScoreTriple;
  high: ScoreTriple;
}

export interface BootstrapOptions {
  /** numpy seed (the value given to np.random.seed). */
  seed: number;
  /** Resamples (rouge-score's default 1000). */
  nSamples?: number;
  /** Confidence level (default 0.95). */
  confidenceInterval?: number;
}

/**
 * `BootstrapAggregator(confidence_interval, n_samples).aggregate()` after `np.random.seed(seed)`.
 * rows[type] holds one [precision, recall, fmeasure] per pair, in the order they were added.
 */
export function bootstrapAggregate(rows: Record<string, ArrayLike<number>[]>, options: BootstrapOptions): Record<string, AggregateScore> {
  const nSamples = options.nSamples ?? 1000;
  const ci = options.confidenceInterval ?? 0.95;
  if (ci < 0 || ci > 1) throw new RangeError(`Expected confidenceInterval in [0, 1] but received ${ci}`);
  if (!Number.isInteger(nSamples) || nSamples <= 0) throw new RangeError(`Expected nSamples to be a positive integer but received ${nSamples}`);
  checkBootstrapSize(nSamples, 3, 'nSamples');
  const rng = new MT19937(options.seed);
  const delta = (1 - ci) / 2;
  const qs = [100 * delta, 100 * 0.5, 100 * (1 - delta)];
  const result: Record<string, AggregateScore> = {};
  for (const [type, matrix] of Object.entries(rows)) {
    const n = matrix.length;
    if (n === 0) throw new RangeError(`No scores to aggregate for ${type}`);
    const means = [new Float64Array(nSamples), new Float64Array(nSamples), new Float64Array(nSamples)];
    for (let s = 0; s < nSamples; s++) {
      let p = 0;
      let r = 0;
      let f = 0;
      for (let k = 0; k < n; k++) {
        const row = matrix[rng.below(n)];
        p += row[0];
        r += row[1];
        f += row[2];
      }
      means[0][s] = p / n;
      means[1][s] = r / n;
      means[2][s] = f / n;
    }
    const bounds = qs.map(() => [0, 0, 0]);
    for (let c = 0; c < 3; c++) {
      means[c].sort();
      qs.forEach((q, j) => (bounds[j][c] = percentileLinear(means[c], q)));
    }
    const triple = (b: number[]): ScoreTriple => ({ precision: b[0], recall: b[1], fmeasure: b[2] });
    result[type] = { low: triple(bounds[0]), mid: triple(bounds[1]), high: triple(bounds[2]) };
  }
  return result;
}
