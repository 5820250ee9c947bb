// Answers by title: an LLM recommender names products ("Pilot G2 Gel Pens, Fine Point, 12-Pack"), not
// ids. Each answer is resolved to a catalogue item, in order:
//   1. exact id: the answer is an item id (asin), or holds exactly one id-like token that is one
//      (a token of 6+ characters with a letter and a digit: "... (B00006IFAF)");
//   2. exact normalised title: NFKC, lower case, every run of characters other than letters and
//      digits a single space ("12-Pack" = "12 pack");
//   3. fuzzy: the Dice coefficient of the normalised strings' character trigram sets (padded with a
//      space at both ends), 2 |A ∩ B| / (|A| + |B|), against every title; the best title resolves the
//      answer when its score is at least FUZZY_THRESHOLD and no other title scores within
//      FUZZY_MARGIN of it (a runner-up just below the threshold counts too). The threshold and margin were chosen on perturbed titles of the synthetic
//      Office catalogue and of the real Office fixture (README "Answers by title"; `npm run bench --
//      answers` measures them again).
// An answer whose exact title, or best fuzzy scores, belong to several items is ambiguous; one with no
// title close enough is unresolved (invented). Neither is guessed: both hold their place in the list
// as a wrong item, and the report counts them.
//
// Speed: an inverted index over trigram ids with prefix filtering (Chaudhuri et al.; Bayardo et al.):
// a title that reaches the threshold shares at least ceil(t |A| / (2 - t)) trigrams with the answer, so
// it holds one of the answer's |A| - that + 1 rarest trigrams; only titles on those (short) posting
// lists are scored, by a merge of sorted trigram ids. Exact for the threshold: no title at or above it
// is missed.
import type { Dataset } from '../data/dataset.js';
import { normalizeTitle } from '../data/titles.js';

export type ResolveMode = 'exact' | 'fuzzy' | 'off';
export const RESOLVE_MODES: readonly ResolveMode[] = ['fuzzy', 'exact', 'off'];

/** How an answer was resolved (the codes answer hygiene counts). */
export const HOW = { id: 0, title: 1, fuzzy: 2, ambiguous: 3, unresolved: 4 } as const;
export type How = (typeof HOW)[keyof typeof HOW];

/** Dice similarity of character trigram sets at or above which the best title resolves a fuzzy answer. */
export const FUZZY_THRESHOLD = 0.8;
/** A fuzzy answer is ambiguous when a second title scores within this of the best. */
export const FUZZY_MARGIN = 0.02;

export interface Resolved {
  /** The item, or -1 (ambiguous, unresolved). */
  id: number;
  how: How;
  /** Fuzzy: the best score. */
  score?: number;
  /** Ambiguous: the items it could be. */
  candidates?: number[];
}

export { normalizeTitle };

/** Trigram keys of a normalised string padded with spaces (3 UTF-16 units in one number), distinct. */
function trigramKeys(norm: string, out: number[]): number[] {
  out.length = 0;
  const s = ` ${norm} `;
  for (let i = 0; i + 3 <= s.length; i++) out.push(s.charCodeAt(i) * 4294967296 + s.charCodeAt(i + 1) * 65536 + s.charCodeAt(i + 2));
  return out;
}

/** Id-like tokens of an answer: 6+ characters of letters and digits with at least one of each. */
const ID_LIKE = /[A-Za-z0-9]{6,}/g;
const hasLetterAndDigit = (t: string) => /[A-Za-z]/.test(t) && /[0-9]/.test(t);

export interface TitleResolverOptions {
  mode?: ResolveMode;
  threshold?: number;
  margin?: number;
}

export class TitleResolver {
  readonly mode: ResolveMode;
  readonly threshold: number;
  readonly margin: number;
  private readonly exact = new Map<string, number | number[]>();
  // Fuzzy index (built on first use).
  private gramId: Map<number, number> | null = null;
  private df: Int32Array = new Int32Array(0);
  private itemOffsets: Int32Array = new Int32Array(0);
  private itemGrams: Int32Array = new Int32Array(0);
  private postOffsets: Int32Array = new Int32Array(0);
  private postItems: Int32Array = new Int32Array(0);
  private marks: Int32Array = new Int32Array(0);
  private epoch = 0;
  private readonly scratch: number[] = [];

  constructor(
    readonly dataset: Dataset,
    options: TitleResolverOptions = {},
  ) {
    this.mode = options.mode ?? 'fuzzy';
    this.threshold = options.threshold ?? FUZZY_THRESHOLD;
    this.margin = options.margin ?? FUZZY_MARGIN;
    if (!(this.threshold > 0 && this.threshold <= 1)) throw new RangeError(`Expected options.threshold in (0, 1] but received ${this.threshold}`);
    if (!(this.margin >= 0 && this.margin < 1)) throw new RangeError(`Expected options.margin in [0, 1) but received ${this.margin}`);
    if (this.mode === 'off') return;
    const items = dataset.items;
    for (let i = 0; i < items.count; i++) {
      const t = items.title.get(i);
      if (!t) continue;
      const norm = normalizeTitle(t);
      if (!norm) continue;
      const prev = this.exact.get(norm);
      if (prev === undefined) this.exact.set(norm, i);
      else if (typeof prev === 'number') this.exact.set(norm, [prev, i]);
      else prev.push(i);
    }
  }

  /** Items whose normalised title is exactly this (duplicates in the catalogue give several). */
  titleMatches(norm: string): number[] {
    const m = this.exact.get(norm);
    return m === undefined ? [] : typeof m === 'number' ? [m] : m;
  }

  private buildIndex(): void {
    const items = this.dataset.items;
    const gramId = new Map<number, number>();
    const offsets = new Int32Array(items.count + 1);
    const grams: number[] = [];
    const keys: number[] = [];
    const ids: number[] = [];
    for (let i = 0; i < items.count; i++) {
      const t = items.title.get(i);
      const norm = t ? normalizeTitle(t) : '';
      if (norm) {
        trigramKeys(norm, keys);
        ids.length = 0;
        for (const k of keys) {
          let id = gramId.get(k);
          if (id === undefined) gramId.set(k, (id = gramId.size));
          ids.push(id);
        }
        ids.sort((a, b) => a - b);
        let last = -1;
        for (const id of ids) if (id !== last) grams.push((last = id));
      }
      offsets[i + 1] = grams.length;
    }
    const G = gramId.size;
    const df = new Int32Array(G);
    for (const g of grams) df[g]++;
    const postOffsets = new Int32Array(G + 1);
    for (let g = 0; g < G; g++) postOffsets[g + 1] = postOffsets[g] + df[g];
    const fill = postOffsets.slice(0, G);
    const postItems = new Int32Array(grams.length);
    for (let i = 0; i < items.count; i++) for (let p = offsets[i]; p < offsets[i + 1]; p++) postItems[fill[grams[p]]++] = i;
    this.gramId = gramId;
    this.df = df;
    this.itemOffsets = offsets;
    this.itemGrams = Int32Array.from(grams);
    this.postOffsets = postOffsets;
    this.postItems = postItems;
    this.marks = new Int32Array(items.count);
  }

  /** The titles for a normalised answer whose trigram Dice is at least `floor` (default the threshold): [item, score], best first. */
  fuzzyMatches(norm: string, floor = this.threshold): [number, number][] {
    if (!this.gramId) this.buildIndex();
    const gramId = this.gramId!;
    const keys = trigramKeys(norm, this.scratch);
    // Distinct trigrams: known ones by id, unknown ones only counted (they are in no title).
    const known: number[] = [];
    let unknown = 0;
    const seenKeys = new Set<number>();
    for (const k of keys) {
      if (seenKeys.has(k)) continue;
      seenKeys.add(k);
      const id = gramId.get(k);
      if (id === undefined) unknown++;
      else known.push(id);
    }
    const a = known.length + unknown;
    const t = floor;
    const minOverlap = Math.ceil((t * a) / (2 - t) - 1e-9);
    if (minOverlap > known.length || a === 0) return [];
    // Prefix: the rarest |A| - minOverlap + 1 trigrams (unknown ones are the rarest of all: df 0).
    const df = this.df;
    known.sort((x, y) => df[x] - df[y] || x - y);
    const prefix = Math.max(0, a - minOverlap + 1 - unknown);
    const sortedQuery = Int32Array.from(known).sort();
    const minLen = (t * a) / (2 - t);
    const maxLen = ((2 - t) * a) / t;
    const epoch = ++this.epoch;
    const out: [number, number][] = [];
    const { postOffsets, postItems, itemOffsets, itemGrams, marks } = this;
    for (let q = 0; q < prefix && q < known.length; q++) {
      const g = known[q];
      for (let p = postOffsets[g]; p < postOffsets[g + 1]; p++) {
        const item = postItems[p];
        if (marks[item] === epoch) continue;
        marks[item] = epoch;
        const b0 = itemOffsets[item];
        const b1 = itemOffsets[item + 1];
        const b = b1 - b0;
        if (b < minLen || b > maxLen) continue;
        // |A ∩ B| by a merge of two sorted id lists.
        let i = 0;
        let j = b0;
        let overlap = 0;
        while (i < sortedQuery.length && j < b1) {
          const x = sortedQuery[i];
          const y = itemGrams[j];
          if (x === y) {
            overlap++;
            i++;
            j++;
          } else if (x < y) i++;
          else j++;
        }
        const dice = (2 * overlap) / (a + b);
        if (dice >= t) out.push([item, dice]);
      }
    }
    out.sort((x, y) => y[1] - x[1] || x[0] - y[0]);
    return out;
  }

  /** Resolves one answer (an id or a title, as written). */
  resolve(answer: string): Resolved {
    const ds = this.dataset;
    const trimmed = answer.trim();
    const direct = ds.itemId(trimmed) ?? ds.itemId(trimmed.toUpperCase());
    if (direct !== undefined) return { id: direct, how: HOW.id };
    if (this.mode === 'off') return { id: -1, how: HOW.unresolved };
    // An id inside the text ("... (B00006IFAF)"): only when exactly one distinct id is named.
    let embedded = -1;
    let several = false;
    for (const m of trimmed.matchAll(ID_LIKE)) {
      if (!hasLetterAndDigit(m[0])) continue;
      const id = ds.itemId(m[0]) ?? ds.itemId(m[0].toUpperCase());
      if (id === undefined || id === embedded) continue;
      if (embedded >= 0) several = true;
      embedded = id;
    }
    if (embedded >= 0 && !several) return { id: embedded, how: HOW.id };
    const norm = normalizeTitle(trimmed);
    if (!norm) return { id: -1, how: HOW.unresolved };
    const exact = this.titleMatches(norm);
    if (exact.length === 1) return { id: exact[0], how: HOW.title };
    if (exact.length > 1) return { id: -1, how: HOW.ambiguous, candidates: exact };
    if (this.mode === 'exact') return { id: -1, how: HOW.unresolved };
    // Scored down to threshold - margin, so that a runner-up just under the threshold still makes the answer ambiguous.
    const matches = this.fuzzyMatches(norm, Math.max(1e-9, this.threshold - this.margin));
    if (matches.length === 0 || matches[0][1] < this.threshold) return { id: -1, how: HOW.unresolved, ...(matches.length ? { score: matches[0][1] } : {}) };
    const [best, score] = matches[0];
    const close = matches.filter(([, s]) => score - s <= this.margin);
    if (close.length > 1) return { id: -1, how: HOW.ambiguous, score, candidates: close.map(([i]) => i) };
    return { id: best, how: HOW.fuzzy, score };
  }
}

/**
 * The entries of a free-text answer: one per line, list markers ("1.", "2)", "-", "*", "•") and
 * enclosing quotes removed, blank lines skipped; a single line with numbered items ("1. A 2. B") is
 * split at the numbers.
 */
export function answerEntries(text: string): string[] {
  let lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  if (lines.length === 1 && (lines[0].match(/(?:^|\s)\d{1,3}[.)]\s/g)?.length ?? 0) >= 2) lines = lines[0].split(/\s+(?=\d{1,3}[.)]\s)/);
  return lines
    .map((l) =>
      l
        .replace(/^(?:\(?\d{1,3}[.)]|[-*•·])\s*/, '')
        .replace(/^["'“”‘’`]+|["'“”‘’`]+$/g, '')
        .trim(),
    )
    .filter(Boolean);
}
