// BM25 (Robertson & Zaragoza; Lucene's non-negative idf) over short documents: item texts for the
// critique-aware recommender, purchase histories and purchased items for the retrieval narrator.
//   score(d, q) = sum over distinct query terms t in d of
//                 idf(t) * tf (k1 + 1) / (tf + k1 (1 - b + b |d| / avgdl)),
//   idf(t) = ln(1 + (N - df + 0.5) / (df + 0.5)).
// Term-at-a-time over an inverted index: a query costs the length of its terms' posting lists.
import type { SparseScores } from './candidate-ranking.js';

/** Words that carry no product information in critiques and item texts. */
const STOPWORDS = new Set(
  ('a an the and or of to in on for with by from at as is it its it\'s this that these those be are was were am i me my you your we our ' +
    'one ones some something anything please want wanted need needs would like get got have has had do does did same but so too very just ' +
    'more can could time instead rather than not no again show try kind thing version use which what will also if then there ' +
    'way let prefer better worked item product').split(/\s+/),
);

/** Words that open a negated stretch of a critique ("0.5mm, not 0.7mm", "instead of X", "rather than X"). */
const NEGATIONS = new Set(['not', 'no', 'than', 'except', 'without', 'nor']);

const TOKEN = /[\p{L}\p{N}]+(?:[.'][\p{L}\p{N}]+)*/gu;

/** Lower-cased word tokens ("0.5mm" and "it's" stay whole; "2-Pack" is "2", "pack"), stopwords removed. */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  for (const m of text.toLowerCase().matchAll(TOKEN)) if (!STOPWORDS.has(m[0])) out.push(m[0]);
  return out;
}

/**
 * The query terms of a critique: its tokens, except those in a negated stretch (from "not", "no",
 * "than", "except", "without", or "instead of" to the end of the clause), which name what the user
 * moves away from.
 */
export function critiqueTerms(critique: string): string[] {
  const out: string[] = [];
  for (const clause of critique.toLowerCase().split(/[,;:!?()]+|\.(?=\s|$)/)) {
    let negated = false;
    let prev = '';
    for (const m of clause.matchAll(TOKEN)) {
      const t = m[0];
      if (NEGATIONS.has(t) || (t === 'of' && prev === 'instead')) negated = true;
      else if (!negated && !STOPWORDS.has(t)) out.push(t);
      prev = t;
    }
  }
  return out;
}

export interface Bm25Options {
  k1?: number;
  b?: number;
}

export class Bm25Index {
  readonly k1: number;
  readonly b: number;
  readonly docs: number;
  readonly avgLength: number;
  private readonly terms = new Map<string, number>();
  /** Per term: postings (doc ids ascending, term frequencies). */
  private readonly postings: { offsets: Int32Array; docs: Int32Array; tf: Float64Array };
  private readonly lengths: Float64Array;

  /** Indexes docs 0..count-1 (each a list of tokens, from tokenize). */
  constructor(count: number, tokensOf: (doc: number) => readonly string[], options: Bm25Options = {}) {
    this.k1 = options.k1 ?? 1.2;
    this.b = options.b ?? 0.75;
    this.docs = count;
    this.lengths = new Float64Array(count);
    // Pass 1: term ids and per-doc (term, tf) runs.
    const docTerms: number[] = [];
    const docTf: number[] = [];
    const docOffsets = new Int32Array(count + 1);
    const local = new Map<number, number>();
    let total = 0;
    for (let d = 0; d < count; d++) {
      const tokens = tokensOf(d);
      this.lengths[d] = tokens.length;
      total += tokens.length;
      local.clear();
      for (const t of tokens) {
        let id = this.terms.get(t);
        if (id === undefined) this.terms.set(t, (id = this.terms.size));
        local.set(id, (local.get(id) ?? 0) + 1);
      }
      for (const [id, tf] of local) {
        docTerms.push(id);
        docTf.push(tf);
      }
      docOffsets[d + 1] = docTerms.length;
    }
    this.avgLength = count ? total / count : 0;
    // Pass 2: transpose into postings (docs come out ascending).
    const T = this.terms.size;
    const offsets = new Int32Array(T + 1);
    for (const id of docTerms) offsets[id + 1]++;
    for (let t = 0; t < T; t++) offsets[t + 1] += offsets[t];
    const fill = offsets.slice(0, T);
    const docs = new Int32Array(docTerms.length);
    const tf = new Float64Array(docTerms.length);
    for (let d = 0; d < count; d++)
      for (let p = docOffsets[d]; p < docOffsets[d + 1]; p++) {
        const at = fill[docTerms[p]]++;
        docs[at] = d;
        tf[at] = docTf[p];
      }
    this.postings = { offsets, docs, tf };
  }

  /** Documents holding the term. */
  df(term: string): number {
    const id = this.terms.get(term);
    return id === undefined ? 0 : this.postings.offsets[id + 1] - this.postings.offsets[id];
  }

  idf(term: string): number {
    const df = this.df(term);
    return Math.log(1 + (this.docs - df + 0.5) / (df + 0.5));
  }

  /**
   * Adds score(d, terms) to acc for every document holding a query term (distinct terms count once).
   * `maxDf` (a share of the documents) skips terms in more documents than that: they add little
   * and cost the most (the narrator uses it; 1 keeps every term).
   */
  search(terms: readonly string[], acc: SparseScores, maxDf = 1): void {
    const { offsets, docs, tf } = this.postings;
    const { k1, b } = this;
    const seen = new Set<number>();
    for (const term of terms) {
      const id = this.terms.get(term);
      if (id === undefined || seen.has(id)) continue;
      seen.add(id);
      const df = offsets[id + 1] - offsets[id];
      if (df > maxDf * this.docs) continue;
      const idf = Math.log(1 + (this.docs - df + 0.5) / (df + 0.5));
      for (let p = offsets[id]; p < offsets[id + 1]; p++) {
        const d = docs[p];
        const f = tf[p];
        acc.add(d, (idf * f * (k1 + 1)) / (f + k1 * (1 - b + (b * this.lengths[d]) / this.avgLength)));
      }
    }
  }
}
