// ROUGE as rouge-score 0.1.2 computes it, from per-pair sufficient statistics: the metric object
// (types and stemming: its settings and its part of every signature) and the formulas that turn
// [matches, prediction count, target count] into precision, recall and F-measure.
import { ExactSum } from './fsum.js';

export const ROUGE_SCORE_VERSION = '0.1.2';

export const DEFAULT_ROUGE_TYPES = ['rouge1', 'rouge2', 'rougeL', 'rougeLsum'] as const;
/** ROUGE statistics per type: [matches (overlap, LCS or union-LCS hits), prediction count, target count]. */
export const ROUGE_STATS = 3;

/** A rouge type parsed: n > 0 for rougeN, 0 for rougeL, -1 for rougeLsum. */
export function parseRougeType(type: string): number {
  if (type === 'rougeL') return 0;
  if (type === 'rougeLsum') return -1;
  const m = /^rouge([0-9])$/.exec(type);
  if (!m) throw new RangeError(`Expected a ROUGE type 'rouge1'..'rouge9', 'rougeL' or 'rougeLsum' but received ${JSON.stringify(type)}`);
  const n = Number(m[1]);
  if (n <= 0) throw new RangeError(`rougeN requires a positive n but received ${JSON.stringify(type)}`);
  return n;
}

/** `scoring.fmeasure`, operation for operation. */
export function fmeasure(precision: number, recall: number): number {
  return precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0.0;
}

/** Precision, recall and F from one type's statistics; the same formulas as rouge-score. */
export function rougePrf(matches: number, predCount: number, targetCount: number): [number, number, number] {
  // rougeN divides by max(count, 1); rougeL/Lsum return 0 when either side is empty. With the
  // counts here both reduce to this (matches is 0 whenever a side is empty).
  const precision = predCount > 0 ? matches / predCount : 0;
  const recall = targetCount > 0 ? matches / targetCount : 0;
  return [precision, recall, fmeasure(precision, recall)];
}

export interface Prf {
  precision: number;
  recall: number;
  fmeasure: number;
}

export interface RougeOptions {
  /** 'rouge1'..'rouge9', 'rougeL', 'rougeLsum' (default the four of the paper's tables). */
  types?: readonly string[];
  /** Porter-stem tokens longer than 3 characters (rouge-score's use_stemmer). */
  stem?: boolean;
}

/** What an evaluation stores of its ROUGE settings (part files keep this shape). */
export interface RougeSettings {
  types: string[];
  stem: boolean;
}

export class Rouge {
  readonly types: readonly string[];
  readonly stem: boolean;

  constructor(options: RougeOptions = {}) {
    this.types = [...(options.types ?? DEFAULT_ROUGE_TYPES)];
    this.types.forEach(parseRougeType);
    this.stem = options.stem ?? false;
  }

  get settings(): RougeSettings {
    return { types: [...this.types], stem: this.stem };
  }

  /** This metric's part of a signature: rouge-score-0.1.2,types:rouge1+rouge2+rougeL+rougeLsum,stem:no. */
  signature(): string {
    return `rouge-score-${ROUGE_SCORE_VERSION},types:${this.types.join('+')},stem:${this.stem ? 'porter' : 'no'}`;
  }

  /** Precision, recall and F of pair `pair` for type index `t`, from pairs x 3T statistics. */
  prf(stats: ArrayLike<number>, pair: number, t: number): Prf {
    const o = (pair * this.types.length + t) * ROUGE_STATS;
    const [precision, recall, f] = rougePrf(stats[o], stats[o + 1], stats[o + 2]);
    return { precision, recall, fmeasure: f };
  }

  /** F-measure of pair `pair` for type index `t`. */
  fmeasure(stats: ArrayLike<number>, pair: number, t: number): number {
    const o = (pair * this.types.length + t) * ROUGE_STATS;
    return rougePrf(stats[o], stats[o + 1], stats[o + 2])[2];
  }

  /** Per type, the means over n pairs of P/R/F (exact sums, so independent of order; 0 for no pairs). */
  means(stats: ArrayLike<number>, n: number): Record<string, Prf> {
    const out: Record<string, Prf> = {};
    this.types.forEach((type, t) => {
      const sums = [new ExactSum(), new ExactSum(), new ExactSum()];
      for (let i = 0; i < n; i++) {
        const o = (i * this.types.length + t) * ROUGE_STATS;
        const [precision, recall, f] = rougePrf(stats[o], stats[o + 1], stats[o + 2]);
        sums[0].add(precision);
        sums[1].add(recall);
        sums[2].add(f);
      }
      const mean = (j: number) => (n === 0 ? 0 : sums[j].value() / n);
      out[type] = { precision: mean(0), recall: mean(1), fmeasure: mean(2) };
    });
    return out;
  }
}
