// The text-metrics API: BLEU (sacrebleu 2.x) and ROUGE (rouge-score 0.1.2) for hypothesis/reference
// pairs, from per-pair sufficient statistics that merge exactly (concatenate shards, sum counts).
import { Bleu, BLEU_MAX_ORDER, BLEU_STATS, computeBleu, type BleuOptions, type BleuScore } from './bleu.js';
import { bootstrapAggregate, type AggregateScore } from './bootstrap.js';
import { computeChunkInBackground } from './chunk.js';
import { computePairStats, type RunOptions } from './pool.js';
import { isPyWhitespace } from './python-text.js';
import { Rouge, type Prf } from './rouge.js';
import { checkLimit, limit } from '../../util/limits.js';

export type { Prf } from './rouge.js';

export interface TextPair {
  hyp: string;
  /** One or more references. */
  refs: readonly string[];
}

export interface ScoreTextOptions extends RunOptions {
  bleu?: BleuOptions;
  /** Default ['rouge1', 'rouge2', 'rougeL', 'rougeLsum']. */
  rougeTypes?: readonly string[];
  /** Porter-stem ROUGE tokens (rouge-score's use_stemmer). */
  stem?: boolean;
  /** Skip BLEU's statistics (ROUGE only; the BLEU result is then empty). */
  skipBleu?: boolean;
  /** Names a pair's text in errors (a text over the token limit): default "pairs[i].hyp". */
  where?: PairWhere;
}

export interface CorpusBleu extends BleuScore {
  signature: string;
}

/** Per-pair sufficient statistics: everything the scores are computed from. */
export interface TextStats {
  n: number;
  /** n x 10: [sys_len, ref_len, correct_1..4, total_1..4]. */
  bleu: Int32Array;
  rougeTypes: string[];
  /** n x 3T: per type [matches, prediction count, target count]. */
  rouge: Int32Array;
  /** References per pair, or 'var' when it varies (sacrebleu's nrefs). */
  nrefs: number | 'var';
  settings: { bleu: Required<Pick<BleuOptions, 'tokenize' | 'lowercase'>>; stem: boolean };
}

export interface TextScores {
  n: number;
  bleu: CorpusBleu;
  /** Means over pairs of rouge-score's per-pair precision, recall and F-measure. */
  rouge: Record<string, Prf>;
  stats: TextStats;
}

/**
 * Tokens of a segment as BLEU's 13a or ROUGE's tokenizer could count them, whichever gives more: runs
 * of ASCII letters and digits (ROUGE), runs of other non-space characters plus every ASCII
 * punctuation character (13a splits those off). An upper bound, counted in one pass.
 */
export function segmentTokens(text: string): number {
  let alnum = 0;
  let other = 0;
  let inAlnum = false;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const isAlnum = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
    if (isAlnum && !inAlnum) alnum++;
    inAlnum = isAlnum;
    if (isPyWhitespace(c)) inWord = false;
    else if (c < 0x80 && !isAlnum) {
      other++; // punctuation: its own token
      inWord = false;
    } else {
      if (!inWord) other++;
      inWord = true;
    }
  }
  return Math.max(alnum, other);
}

/** Where a pair's text comes from, for messages: "pairs[3].hyp" by default, "pairs.jsonl:4 (hyp)" from a file. */
export type PairWhere = (pair: number, which: string) => string;

function checkPairs(pairs: readonly TextPair[], where: PairWhere = (i, which) => `pairs[${i}].${which}`): void {
  if (!Array.isArray(pairs)) throw new TypeError(`Expected an array of { hyp, refs } pairs but received ${typeof pairs}`);
  const max = limit('segmentTokens');
  const check = (text: string, i: number, which: string) => {
    // Only a text longer than the limit (in code units) can hold more tokens than it.
    if (text.length > max) checkLimit('segmentTokens', segmentTokens(text), where(i, which), `a text of ${segmentTokens(text).toLocaleString('en-US')} tokens`);
  };
  pairs.forEach((p, i) => {
    if (typeof p?.hyp !== 'string') throw new TypeError(`Expected pairs[${i}].hyp to be a string but received ${typeof p?.hyp}`);
    if (!Array.isArray(p.refs) || p.refs.length === 0) throw new TypeError(`Expected pairs[${i}].refs to be a non-empty array of strings`);
    (p.refs as readonly unknown[]).forEach((r: unknown, k: number) => {
      if (typeof r !== 'string') throw new TypeError(`Expected pairs[${i}].refs[${k}] to be a string but received ${typeof r}`);
    });
    check(p.hyp, i, 'hyp');
    (p.refs as readonly string[]).forEach((r: string, k: number) => check(r, i, p.refs.length === 1 ? 'ref' : `refs[${k}]`));
  });
}

/** Per-pair statistics for BLEU and ROUGE (in a worker pool for large inputs). */
export async function computeTextStats(pairs: readonly TextPair[], options: ScoreTextOptions = {}): Promise<TextStats> {
  return computeStatsWith(pairs, new Bleu(options.bleu), new Rouge({ types: options.rougeTypes, stem: options.stem }), options);
}

/** Per-pair statistics for the settings of a BLEU and a ROUGE metric object. */
export async function computeStatsWith(
  pairs: readonly TextPair[],
  bleuMetric: Bleu,
  rougeMetric: Rouge,
  options: RunOptions & { skipBleu?: boolean; where?: PairWhere } = {},
): Promise<TextStats> {
  checkPairs(pairs, options.where);
  const rougeTypes = [...rougeMetric.types];
  const { tokenize, lowercase } = bleuMetric;
  const stem = rougeMetric.stem;
  const hyps = pairs.map((p) => p.hyp);
  const refs = pairs.map((p) => [...p.refs]);
  const { bleu, rouge } = await computePairStats(hyps, refs, { bleuTokenize: tokenize, bleuLowercase: lowercase, rougeTypes, stem, bleu: !options.skipBleu }, options);
  const counts = new Set(pairs.map((p) => p.refs.length));
  return {
    n: pairs.length,
    bleu,
    rougeTypes,
    rouge,
    nrefs: counts.size === 1 ? [...counts][0] : counts.size === 0 ? 1 : 'var',
    settings: { bleu: { tokenize, lowercase }, stem },
  };
}

/**
 * computeStatsWith for one chunk of pairs, computed off the calling thread where the native addon can
 * (the caller goes on meanwhile): the pairs are checked now, so a bad text throws here, not later.
 */
export function startStatsWith(pairs: readonly TextPair[], bleuMetric: Bleu, rougeMetric: Rouge, options: { skipBleu?: boolean; where?: PairWhere } = {}): Promise<TextStats> {
  checkPairs(pairs, options.where);
  const rougeTypes = [...rougeMetric.types];
  const { tokenize, lowercase } = bleuMetric;
  const stem = rougeMetric.stem;
  const settings = { bleuTokenize: tokenize, bleuLowercase: lowercase, rougeTypes, stem, bleu: !options.skipBleu };
  const counts = new Set(pairs.map((p) => p.refs.length));
  const nrefs = counts.size === 1 ? [...counts][0] : counts.size === 0 ? 1 : ('var' as const);
  return computeChunkInBackground({ settings, hyps: pairs.map((p) => p.hyp), refs: pairs.map((p) => [...p.refs]) }).then(({ bleu, rouge }) => ({
    n: pairs.length,
    bleu,
    rougeTypes,
    rouge,
    nrefs,
    settings: { bleu: { tokenize, lowercase }, stem },
  }));
}

/** Corpus BLEU from per-pair statistics: sums, then sacrebleu's formula. */
export function corpusBleuFromStats(stats: TextStats, options: BleuOptions = {}): CorpusBleu {
  const bleu = new Bleu({ ...options, tokenize: stats.settings.bleu.tokenize, lowercase: stats.settings.bleu.lowercase });
  return { ...bleu.corpus(stats.bleu, stats.n), signature: bleu.signature(stats.nrefs) };
}

/** sacrebleu's `sentence_bleu` for pair i (effective order on, as sacrebleu's sentence_bleu does). */
export function sentenceBleuFromStats(stats: TextStats, i: number, options: BleuOptions = {}): BleuScore {
  const s = stats.bleu.subarray(i * BLEU_STATS, (i + 1) * BLEU_STATS);
  return computeBleu(
    Array.from(s.subarray(2, 2 + BLEU_MAX_ORDER)),
    Array.from(s.subarray(2 + BLEU_MAX_ORDER)),
    s[0],
    s[1],
    options.smoothMethod ?? 'exp',
    options.smoothValue ?? null,
    options.effectiveOrder ?? true,
  );
}

const rougeOf = (stats: TextStats) => new Rouge({ types: stats.rougeTypes, stem: stats.settings.stem });

/** rouge-score's precision, recall and F for pair i and every type. */
export function pairRouge(stats: TextStats, i: number): Record<string, Prf> {
  const rouge = rougeOf(stats);
  return Object.fromEntries(rouge.types.map((type, t) => [type, rouge.prf(stats.rouge, i, t)]));
}

/** Means over pairs (exact sums, so independent of order) of each type's P/R/F. */
export function meanRouge(stats: TextStats): Record<string, Prf> {
  return rougeOf(stats).means(stats.rouge, stats.n);
}

/** rouge-score's BootstrapAggregator intervals (np.random.seed(seed) semantics). */
export function rougeBootstrap(stats: TextStats, seed: number, nSamples = 1000, confidenceInterval = 0.95): Record<string, AggregateScore> {
  const rows: Record<string, number[][]> = {};
  for (const type of stats.rougeTypes) rows[type] = [];
  for (let i = 0; i < stats.n; i++) {
    const r = pairRouge(stats, i);
    for (const type of stats.rougeTypes) rows[type].push([r[type].precision, r[type].recall, r[type].fmeasure]);
  }
  return bootstrapAggregate(rows, { seed, nSamples, confidenceInterval });
}

/** Concatenates statistics of shards computed with the same settings, in shard order. */
export function mergeTextStats(parts: readonly TextStats[]): TextStats {
  if (parts.length === 0) throw new RangeError('Expected at least one TextStats to merge');
  const first = parts[0];
  for (const p of parts)
    if (JSON.stringify(p.settings) !== JSON.stringify(first.settings) || p.rougeTypes.join() !== first.rougeTypes.join())
      throw new RangeError('Cannot merge text statistics computed with different settings');
  const cat = (key: 'bleu' | 'rouge') => {
    const out = new Int32Array(parts.reduce((a, p) => a + p[key].length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p[key], o);
      o += p[key].length;
    }
    return out;
  };
  const nrefs = parts.every((p) => p.nrefs === first.nrefs) ? first.nrefs : 'var';
  return { n: parts.reduce((a, p) => a + p.n, 0), bleu: cat('bleu'), rougeTypes: first.rougeTypes, rouge: cat('rouge'), nrefs, settings: first.settings };
}

/** BLEU and ROUGE for a list of pairs. */
export async function scoreText(pairs: readonly TextPair[], options: ScoreTextOptions = {}): Promise<TextScores> {
  const bleuOptions = options.bleu ?? {};
  const stats = await computeTextStats(pairs, options);
  return { n: stats.n, bleu: corpusBleuFromStats(stats, bleuOptions), rouge: meanRouge(stats), stats };
}
