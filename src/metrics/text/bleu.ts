// BLEU from its sufficient statistics, exactly as sacrebleu 2.x's `BLEU.compute_bleu` computes it
// (same operations in the same order, so floats agree to the last bit or two), and its signature.
import { VERSION } from '../../version.js';
/** '13a' (sacrebleu's default) or 'none' (split on whitespace only). */
export type BleuTokenizerName = '13a' | 'none';

export type SmoothMethod = 'exp' | 'floor' | 'add-k' | 'none';

/** sacrebleu's `BLEU.SMOOTH_DEFAULTS`. */
export const SMOOTH_DEFAULTS: Record<SmoothMethod, number | null> = { none: null, floor: 0.1, 'add-k': 1, exp: null };

/** The sacrebleu release these numbers were checked against (tests/golden/text). */
export const SACREBLEU_VERSION = '2.6.0';

export const BLEU_MAX_ORDER = 4;
/** Per-segment statistics: [sys_len, ref_len, correct_1..4, total_1..4]. */
export const BLEU_STATS = 2 + 2 * BLEU_MAX_ORDER;

export interface BleuOptions {
  /** '13a' (sacrebleu's default) or 'none' (split on whitespace only). */
  tokenize?: BleuTokenizerName;
  lowercase?: boolean;
  smoothMethod?: SmoothMethod;
  /** For 'floor' (default 0.1) and 'add-k' (default 1). */
  smoothValue?: number | null;
  /** Drop n-gram orders with no n-grams (sacrebleu's `effective_order`; on for sentence BLEU). */
  effectiveOrder?: boolean;
}

export interface BleuScore {
  /** 0-100. */
  score: number;
  counts: number[];
  totals: number[];
  precisions: number[];
  bp: number;
  sys_len: number;
  ref_len: number;
}

/** `utils.my_log`: log floored at -9999999999 for 0. */
function myLog(x: number): number {
  return x === 0 ? -9999999999 : Math.log(x);
}

/**
 * `BLEU.compute_bleu`. `correct` and `total` are copied, and (as in sacrebleu) the returned counts and
 * totals include add-k's additions.
 */
export function computeBleu(
  correctIn: ArrayLike<number>,
  totalIn: ArrayLike<number>,
  sysLen: number,
  refLen: number,
  smoothMethod: SmoothMethod = 'none',
  smoothValueIn: number | null = null,
  effectiveOrder = false,
  maxOrder = BLEU_MAX_ORDER,
): BleuScore {
  const correct = Array.from(correctIn);
  const total = Array.from(totalIn);
  const smoothValue = smoothValueIn ?? SMOOTH_DEFAULTS[smoothMethod] ?? 0;
  let bp = 1.0;
  if (sysLen < refLen) bp = sysLen > 0 ? Math.exp(1 - refLen / sysLen) : 0.0;
  const precisions = new Array<number>(maxOrder).fill(0.0);
  const result = (score: number): BleuScore => ({ score, counts: correct, totals: total, precisions, bp, sys_len: sysLen, ref_len: refLen });
  if (!correct.some((c) => c !== 0)) return result(0.0);

  let smoothMteval = 1.0;
  let effOrder = maxOrder;
  for (let n = 1; n <= maxOrder; n++) {
    if (smoothMethod === 'add-k' && n > 1) {
      correct[n - 1] += smoothValue;
      total[n - 1] += smoothValue;
    }
    if (total[n - 1] === 0) break;
    if (effectiveOrder) effOrder = n;
    if (correct[n - 1] === 0) {
      if (smoothMethod === 'exp') {
        smoothMteval *= 2;
        precisions[n - 1] = 100.0 / (smoothMteval * total[n - 1]);
      } else if (smoothMethod === 'floor') precisions[n - 1] = (100.0 * smoothValue) / total[n - 1];
    } else precisions[n - 1] = (100.0 * correct[n - 1]) / total[n - 1];
  }
  let logSum = 0;
  for (let i = 0; i < effOrder; i++) logSum += myLog(precisions[i]);
  return result(bp * Math.exp(logSum / effOrder));
}

/** BLEU of summed statistics ([sys_len, ref_len, correct.., total..]). */
export function bleuFromStats(stats: ArrayLike<number>, options: BleuOptions = {}): BleuScore {
  const o = BLEU_MAX_ORDER;
  return computeBleu(
    Array.prototype.slice.call(stats, 2, 2 + o) as number[],
    Array.prototype.slice.call(stats, 2 + o, 2 + 2 * o) as number[],
    stats[0],
    stats[1],
    options.smoothMethod ?? 'exp',
    options.smoothValue ?? null,
    options.effectiveOrder ?? false,
  );
}

/**
 * Python's `f'{x:.2f}'`. `toFixed` rounds exact ties (x = k/8, e.g. 0.125) up; Python rounds them to
 * even. Ties are exact only for multiples of 1/8 whose third decimal is 5.
 */
export function format2(x: number): string {
  const scaled = Math.abs(x) * 1000;
  if (Number.isInteger(Math.abs(x) * 8) && Number.isInteger(scaled) && scaled % 10 === 5) {
    const down = (scaled - 5) / 10; // hundredths below the tie
    const even = down % 2 === 0 ? down : down + 1;
    return (x < 0 ? '-' : '') + (even / 100).toFixed(2);
  }
  return x.toFixed(2);
}

/**
 * A signature in sacrebleu's format (`nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:…`).
 * The version names the sacrebleu release the numbers are identical to and the regen-bench build that
 * computed them: `2.6.0+regen-bench.0.1.0`.
 */
export function bleuSignature(nrefs: number | 'var', options: BleuOptions = {}): string {
  const method = options.smoothMethod ?? 'exp';
  let smooth: string = method;
  const def = SMOOTH_DEFAULTS[method];
  if (def !== null) smooth += `[${format2(options.smoothValue ?? def)}]`;
  return [
    `nrefs:${nrefs}`,
    `case:${options.lowercase ? 'lc' : 'mixed'}`,
    `eff:${options.effectiveOrder ? 'yes' : 'no'}`,
    `tok:${options.tokenize ?? '13a'}`,
    `smooth:${smooth}`,
    `version:${SACREBLEU_VERSION}+regen-bench.${VERSION}`,
  ].join('|');
}

/** What an evaluation stores of its BLEU settings (part files keep this shape). */
export interface BleuSettings {
  tokenize: BleuTokenizerName;
  lowercase: boolean;
  smooth: SmoothMethod;
  /** sacrebleu's signature of these settings for one reference per hypothesis. */
  signature: string;
}

/** BLEU as a metric object: its settings, its signature, and corpus BLEU from summed statistics. */
export class Bleu {
  readonly tokenize: BleuTokenizerName;
  readonly lowercase: boolean;
  readonly smooth: SmoothMethod;
  readonly smoothValue: number | null;
  readonly effectiveOrder: boolean;

  constructor(options: BleuOptions = {}) {
    this.tokenize = options.tokenize ?? '13a';
    if (this.tokenize !== '13a' && this.tokenize !== 'none')
      throw new RangeError(`Expected the BLEU tokenizer '13a' or 'none' but received ${JSON.stringify(this.tokenize)}`);
    this.smooth = options.smoothMethod ?? 'exp';
    if (!(this.smooth in SMOOTH_DEFAULTS))
      throw new RangeError(`Expected BLEU smoothing exp, floor, add-k or none but received ${JSON.stringify(this.smooth)}`);
    this.lowercase = options.lowercase ?? false;
    this.smoothValue = options.smoothValue ?? null;
    this.effectiveOrder = options.effectiveOrder ?? false;
  }

  /** The metric behind stored settings (a part's, or a report's). */
  static fromSettings(s: Pick<BleuSettings, 'tokenize' | 'lowercase' | 'smooth'>): Bleu {
    return new Bleu({ tokenize: s.tokenize, lowercase: s.lowercase, smoothMethod: s.smooth });
  }

  get options(): BleuOptions {
    return { tokenize: this.tokenize, lowercase: this.lowercase, smoothMethod: this.smooth, smoothValue: this.smoothValue, effectiveOrder: this.effectiveOrder };
  }

  get settings(): BleuSettings {
    return { tokenize: this.tokenize, lowercase: this.lowercase, smooth: this.smooth, signature: this.signature(1) };
  }

  signature(nrefs: number | 'var' = 1): string {
    return bleuSignature(nrefs, this.options);
  }

  /** Corpus BLEU of statistics already summed over pairs ([sys_len, ref_len, correct.., total..]). */
  fromSums(sums: ArrayLike<number>): BleuScore {
    return bleuFromStats(sums, this.options);
  }

  /** Corpus BLEU of per-pair statistics (pairs x BLEU_STATS, or the `pick`ed pairs of them): sums, then sacrebleu's formula. */
  corpus(stats: ArrayLike<number>, pairs: number, pick: (i: number) => number = (i) => i): BleuScore {
    const sum = new Array<number>(BLEU_STATS).fill(0);
    for (let i = 0; i < pairs; i++) {
      const o = pick(i) * BLEU_STATS;
      for (let c = 0; c < BLEU_STATS; c++) sum[c] += stats[o + c];
    }
    return this.fromSums(sum);
  }
}
