// Line-by-line ports of sacrebleu 2.x (BLEU, 13a) and rouge-score 0.1.2 (tokenizer, rougeN, rougeL,
// rougeLsum), written for clarity, not speed: string n-gram keys in Maps, Python's regexes as
// JavaScript regexes, the LCS table as arrays. The fast engine (pair-stats.ts) must agree with these
// on every input; the tests check that, and the benchmark uses them as the yardstick.
import type { BleuTokenizerName } from './bleu.js';
import { porterStem } from './porter.js';
import { pyLower, pyRstrip, pySplit } from './python-text.js';
import { fmeasure } from './rouge.js';

/** sacrebleu's `TokenizerRegexp`: the four mteval-v13a substitutions, then whitespace normalised. */
export function tokenizeRegexp(line: string): string {
  // No `u` flag: Python matches code points, these patterns see UTF-16 units; for these four
  // patterns the result is the same (a surrogate is never a digit, `.`, `,`, `-` or a listed symbol).
  line = line.replace(/([\{-\~\[-\` -\&\(-\+\:-\@\/])/g, ' $1 ');
  line = line.replace(/([^0-9])([\.,])/g, '$1 $2 ');
  line = line.replace(/([\.,])([^0-9])/g, ' $1 $2');
  line = line.replace(/([0-9])(-)/g, '$1 $2 ');
  return pySplit(line).join(' ');
}

/** sacrebleu's `Tokenizer13a`. */
export function tokenize13a(line: string): string {
  line = line.replaceAll('<skipped>', '');
  line = line.replaceAll('-\n', '');
  line = line.replaceAll('\n', ' ');
  if (line.includes('&')) {
    line = line.replaceAll('&quot;', '"');
    line = line.replaceAll('&amp;', '&');
    line = line.replaceAll('&lt;', '<');
    line = line.replaceAll('&gt;', '>');
  }
  return tokenizeRegexp(` ${line} `);
}

/** `BLEU._preprocess_segment`: optional lower-casing, `rstrip()`, then the tokenizer. */
export function preprocessBleu(sent: string, tokenize: BleuTokenizerName, lowercase: boolean): string {
  if (lowercase) sent = pyLower(sent);
  sent = pyRstrip(sent);
  return tokenize === '13a' ? tokenize13a(sent) : sent;
}

/** `extract_all_word_ngrams`, one Map per order (tokens hold no space, so ' '-joined keys are unique). */
function wordNgrams(line: string, maxOrder: number): { ngrams: Map<string, number>[]; len: number } {
  const tokens = pySplit(line);
  const ngrams: Map<string, number>[] = [];
  for (let n = 1; n <= maxOrder; n++) {
    const m = new Map<string, number>();
    for (let i = 0; i + n <= tokens.length; i++) {
      const key = tokens.slice(i, i + n).join(' ');
      m.set(key, (m.get(key) ?? 0) + 1);
    }
    ngrams.push(m);
  }
  return { ngrams, len: tokens.length };
}

function closestRefLen(hypLen: number, refLens: number[]): number {
  let closestDiff = -1;
  let closestLen = -1;
  for (const refLen of refLens) {
    const diff = Math.abs(hypLen - refLen);
    if (closestDiff === -1 || diff < closestDiff) {
      closestDiff = diff;
      closestLen = refLen;
    } else if (diff === closestDiff && refLen < closestLen) closestLen = refLen;
  }
  return closestLen;
}

/**
 * `BLEU._compute_segment_statistics` for one hypothesis and its references:
 * [hyp_len, ref_len, correct_1..correct_4, total_1..total_4].
 */
export function bleuSegmentStatsReference(
  hyp: string,
  refs: readonly string[],
  tokenize: BleuTokenizerName = '13a',
  lowercase = false,
  maxOrder = 4,
): number[] {
  let refNgrams: Map<string, number>[] | null = null;
  const refLens: number[] = [];
  for (const ref of refs) {
    const { ngrams, len } = wordNgrams(preprocessBleu(ref, tokenize, lowercase), maxOrder);
    refLens.push(len);
    if (refNgrams === null) refNgrams = ngrams;
    else
      for (let n = 0; n < maxOrder; n++)
        for (const [k, c] of ngrams[n]) refNgrams[n].set(k, Math.max(refNgrams[n].get(k) ?? 0, c));
  }
  const { ngrams: hypNgrams, len: hypLen } = wordNgrams(preprocessBleu(hyp, tokenize, lowercase), maxOrder);
  const correct = new Array<number>(maxOrder).fill(0);
  const total = new Array<number>(maxOrder).fill(0);
  for (let n = 0; n < maxOrder; n++)
    for (const [k, count] of hypNgrams[n]) {
      total[n] += count;
      const r = refNgrams?.[n].get(k);
      if (r !== undefined) correct[n] += Math.min(count, r);
    }
  return [hypLen, closestRefLen(hypLen, refLens), ...correct, ...total];
}

// ---------------------------------------------------------------------------------------------
// rouge-score 0.1.2

/** rouge-score's `tokenize.tokenize`: lower(), non-[a-z0-9] runs to spaces, split, stem (len > 3). */
export function rougeTokenizeReference(text: string, stem: boolean): string[] {
  text = pyLower(text);
  text = text.replace(/[^a-z0-9]+/g, ' ');
  let tokens = text.split(/\s+/);
  if (stem) tokens = tokens.map((x) => (x.length > 3 ? porterStem(x) : x));
  return tokens.filter((x) => /^[a-z0-9]+$/.test(x));
}

export interface PRF {
  precision: number;
  recall: number;
  fmeasure: number;
}


function ngramCounter(tokens: string[], n: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const key = tokens.slice(i, i + n).join(' ');
    m.set(key, (m.get(key) ?? 0) + 1);
  }
  return m;
}

function scoreNgrams(target: Map<string, number>, prediction: Map<string, number>): PRF {
  let inter = 0;
  for (const [k, c] of target) inter += Math.min(c, prediction.get(k) ?? 0);
  let tc = 0;
  for (const c of target.values()) tc += c;
  let pc = 0;
  for (const c of prediction.values()) pc += c;
  const precision = inter / Math.max(pc, 1);
  const recall = inter / Math.max(tc, 1);
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}

function lcsTable(ref: string[], can: string[]): number[][] {
  const t: number[][] = [];
  for (let i = 0; i <= ref.length; i++) t.push(new Array<number>(can.length + 1).fill(0));
  for (let i = 1; i <= ref.length; i++)
    for (let j = 1; j <= can.length; j++)
      t[i][j] = ref[i - 1] === can[j - 1] ? t[i - 1][j - 1] + 1 : Math.max(t[i - 1][j], t[i][j - 1]);
  return t;
}

function scoreLcs(target: string[], prediction: string[]): PRF {
  if (target.length === 0 || prediction.length === 0) return { precision: 0, recall: 0, fmeasure: 0 };
  const lcs = lcsTable(target, prediction)[target.length][prediction.length];
  const precision = lcs / prediction.length;
  const recall = lcs / target.length;
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}

/** `_backtrack_norec`: one LCS, read backwards; ties move up a row (`i -= 1`). */
function lcsIndices(ref: string[], can: string[]): number[] {
  const t = lcsTable(ref, can);
  let i = ref.length;
  let j = can.length;
  const lcs: number[] = [];
  while (i > 0 && j > 0) {
    if (ref[i - 1] === can[j - 1]) {
      lcs.unshift(i - 1);
      i--;
      j--;
    } else if (t[i][j - 1] > t[i - 1][j]) j--;
    else i--;
  }
  return lcs;
}

function summaryLevelLcs(refSent: string[][], canSent: string[][]): PRF {
  const zero = { precision: 0, recall: 0, fmeasure: 0 };
  if (refSent.length === 0 || canSent.length === 0) return zero;
  const m = refSent.reduce((a, s) => a + s.length, 0);
  const n = canSent.reduce((a, s) => a + s.length, 0);
  if (!n || !m) return zero;
  const cntR = new Map<string, number>();
  const cntC = new Map<string, number>();
  for (const s of refSent) for (const t of s) cntR.set(t, (cntR.get(t) ?? 0) + 1);
  for (const s of canSent) for (const t of s) cntC.set(t, (cntC.get(t) ?? 0) + 1);
  let hits = 0;
  for (const r of refSent) {
    const union = new Set<number>();
    for (const c of canSent) for (const i of lcsIndices(r, c)) union.add(i);
    for (const i of [...union].sort((a, b) => a - b)) {
      const t = r[i];
      if ((cntC.get(t) ?? 0) > 0 && (cntR.get(t) ?? 0) > 0) {
        hits++;
        cntC.set(t, cntC.get(t)! - 1);
        cntR.set(t, cntR.get(t)! - 1);
      }
    }
  }
  const recall = hits / m;
  const precision = hits / n;
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}

/** `RougeScorer(types, use_stemmer).score(target, prediction)`. */
export function rougeScoreReference(target: string, prediction: string, types: readonly string[], stem: boolean): Record<string, PRF> {
  const tt = rougeTokenizeReference(target, stem);
  const pt = rougeTokenizeReference(prediction, stem);
  const out: Record<string, PRF> = {};
  for (const type of types) {
    if (type === 'rougeL') out[type] = scoreLcs(tt, pt);
    else if (type === 'rougeLsum') {
      const sents = (text: string) => text.split('\n').filter((x) => x.length > 0);
      out[type] = summaryLevelLcs(
        sents(target).map((s) => rougeTokenizeReference(s, stem)),
        sents(prediction).map((s) => rougeTokenizeReference(s, stem)),
      );
    } else {
      const n = Number(type.slice(5));
      out[type] = scoreNgrams(ngramCounter(tt, n), ngramCounter(pt, n));
    }
  }
  return out;
}

/** `RougeScorer.score_multi`: per type, the reference with the highest F-measure (first on ties). */
export function rougeScoreMultiReference(targets: readonly string[], prediction: string, types: readonly string[], stem: boolean): Record<string, PRF> {
  const all = targets.map((t) => rougeScoreReference(t, prediction, types, stem));
  const out: Record<string, PRF> = {};
  for (const type of types) {
    let best = 0;
    for (let i = 1; i < all.length; i++) if (all[i][type].fmeasure > all[best][type].fmeasure) best = i;
    out[type] = all[best][type];
  }
  return out;
}
