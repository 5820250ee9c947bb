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
// Speed: prefix filtering (Chaudhuri et al. 2006; AllPairs, Bayardo et al. 2007). Trigrams are ranked
// by how many titles hold them, rarest first. Two sets with Dice >= t share at least ceil(t n / (2 - t))
// trigrams for either size n, so the |A| - that + 1 rarest trigrams of the answer and the |B| - that + 1
// rarest of a title must meet: each title is indexed under its prefix only (common trigrams such as
// "pen" sit in few prefixes), the answer probes the index with its own prefix, and only the titles
// found are scored, by a merge of rank lists. Exact for the floor: no title at or above it is missed.
import type { Dataset } from '../data/dataset.js';
import { normalizeTitle } from '../data/titles.js';
import { diceSearch, type DiceIndexArrays } from '../engine/engine.js';

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

/** Per floor: the postings of each title's prefix (its rarest trigrams: as many as a match at the floor needs). */
interface PrefixIndex {
  offsets: Int32Array;
  items: Int32Array;
}

export class TitleResolver {
  readonly mode: ResolveMode;
  readonly threshold: number;
  readonly margin: number;
  private readonly exact = new Map<string, number | number[]>();
  // Fuzzy index (built on first use): trigram ids ranked by document frequency (rarest first), each
  // title's distinct trigram ranks in ascending order, and per floor a prefix index.
  private gramRank: Map<number, number> | null = null;
  private itemOffsets: Int32Array = new Int32Array(0);
  private itemGrams: Int32Array = new Int32Array(0);
  private readonly prefixes = new Map<number, PrefixIndex>();
  /** Every title of each trigram rank (for the native search). */
  private postings: PrefixIndex | null = null;
  private marks: Int32Array = new Int32Array(0);
  private bits: Uint32Array = new Uint32Array(0);
  private epoch = 0;
  /** Resolutions by answer text: LLM answers repeat (popular items), and a repeat costs a lookup. */
  private readonly memo = new Map<string, Resolved>();
  private readonly scratch: number[] = [];
  /** rank + 1 of each ASCII trigram (0: no title has it), and per rank the query that last counted it. */
  private asciiRanks: Int32Array = new Int32Array(0);
  private gramMarks: Int32Array = new Int32Array(0);
  private gramEpoch = 0;

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
    const seen = new Set<number>();
    for (let i = 0; i < items.count; i++) {
      const t = items.title.get(i);
      const norm = t ? normalizeTitle(t) : '';
      if (norm) {
        seen.clear();
        for (const k of trigramKeys(norm, keys)) {
          let id = gramId.get(k);
          if (id === undefined) gramId.set(k, (id = gramId.size));
          if (!seen.has(id)) {
            seen.add(id);
            grams.push(id);
          }
        }
      }
      offsets[i + 1] = grams.length;
    }
    // Rank trigrams by document frequency, rarest first (ties by first appearance): the global order
    // prefixes are taken in.
    const G = gramId.size;
    const df = new Int32Array(G);
    for (const g of grams) df[g]++;
    const byDf = Int32Array.from({ length: G }, (_, g) => g).sort((a, b) => df[a] - df[b] || a - b);
    const rank = new Int32Array(G);
    byDf.forEach((g, r) => (rank[g] = r));
    const itemGrams = Int32Array.from(grams, (g) => rank[g]);
    for (let i = 0; i < items.count; i++) itemGrams.subarray(offsets[i], offsets[i + 1]).sort();
    this.gramRank = new Map([...gramId].map(([k, g]) => [k, rank[g]]));
    this.asciiRanks = new Int32Array(1 << 21);
    for (const [k, g] of gramId) {
      const c1 = Math.floor(k / 4294967296);
      const rest = k - c1 * 4294967296;
      const c2 = rest >>> 16;
      const c3 = rest & 0xffff;
      if (c1 < 128 && c2 < 128 && c3 < 128) this.asciiRanks[(c1 << 14) | (c2 << 7) | c3] = rank[g] + 1;
    }
    this.gramMarks = new Int32Array(G);
    this.itemOffsets = offsets;
    this.itemGrams = itemGrams;
    this.marks = new Int32Array(items.count);
    this.bits = new Uint32Array((G >>> 5) + 1);
  }

  /** Minimum overlap of a set of size n with any set it matches at Dice >= floor: ceil(floor n / (2 - floor)). */
  private static minOverlap(n: number, floor: number): number {
    return Math.ceil((floor * n) / (2 - floor) - 1e-9);
  }

  /** The postings of each title's prefix at this floor (AllPairs: two sets at Dice >= floor share a prefix trigram). */
  private prefixIndex(floor: number): PrefixIndex {
    let index = this.prefixes.get(floor);
    if (index) return index;
    const { itemOffsets: offsets, itemGrams } = this;
    const n = offsets.length - 1;
    const prefixLen = (i: number) => {
      const b = offsets[i + 1] - offsets[i];
      return b === 0 ? 0 : Math.min(b, b - TitleResolver.minOverlap(b, floor) + 1);
    };
    const G = this.gramRank!.size;
    const counts = new Int32Array(G + 1);
    for (let i = 0; i < n; i++) for (let p = offsets[i]; p < offsets[i] + prefixLen(i); p++) counts[itemGrams[p] + 1]++;
    for (let g = 0; g < G; g++) counts[g + 1] += counts[g];
    const fill = counts.slice(0, G);
    const items = new Int32Array(counts[G]);
    for (let i = 0; i < n; i++) for (let p = offsets[i]; p < offsets[i] + prefixLen(i); p++) items[fill[itemGrams[p]]++] = i;
    index = { offsets: counts, items };
    this.prefixes.set(floor, index);
    return index;
  }

  /** The titles for a normalised answer whose trigram Dice is at least `floor` (default the threshold): [item, score], best first. */
  fuzzyMatches(norm: string, floor = this.threshold): [number, number][] {
    if (!this.gramRank) this.buildIndex();
    // Distinct trigrams: known ones by rank, unknown ones only counted (no title has them: the rarest of all).
    const { known: query, size: a } = this.queryGrams(norm);
    const unknown = a - query.length;
    const minOverlap = TitleResolver.minOverlap(a, floor);
    if (a === 0 || minOverlap > query.length) return [];
    // The query's prefix: its |A| - minOverlap + 1 rarest trigrams, the unknown ones first.
    const prefix = Math.min(query.length, a - minOverlap + 1 - unknown);
    const minLen = (floor * a) / (2 - floor) - 1e-9;
    const maxLen = ((2 - floor) * a) / floor + 1e-9;
    const index = this.prefixIndex(floor);
    const epoch = ++this.epoch;
    const out: [number, number][] = [];
    const { itemOffsets, itemGrams, marks } = this;
    // The answer's trigrams as a bitset over ranks: a title's overlap is a count of set bits.
    const bits = this.bits;
    for (const g of query) bits[g >>> 5] |= 1 << (g & 31);
    for (let q = 0; q < prefix; q++) {
      const g = query[q];
      for (let p = index.offsets[g]; p < index.offsets[g + 1]; p++) {
        const item = index.items[p];
        if (marks[item] === epoch) continue;
        marks[item] = epoch;
        const b0 = itemOffsets[item];
        const b1 = itemOffsets[item + 1];
        const b = b1 - b0;
        if (b < minLen || b > maxLen) continue;
        // Abandoned once the floor is out of reach (misses so far exceed what the floor allows).
        const allowedMisses = b - ((floor * (a + b)) / 2 - 1e-9);
        let overlap = 0;
        let misses = 0;
        for (let j = b0; j < b1; j++) {
          const x = itemGrams[j];
          if ((bits[x >>> 5] >>> (x & 31)) & 1) overlap++;
          else if (++misses > allowedMisses) break;
        }
        const dice = (2 * overlap) / (a + b);
        if (misses <= allowedMisses && dice >= floor) out.push([item, dice]);
      }
    }
    for (const g of query) bits[g >>> 5] = 0;
    out.sort((x, y) => y[1] - x[1] || x[0] - y[0]);
    return out;
  }

  /** The floor fuzzy matches are scored down to: a runner-up just under the threshold still makes an answer ambiguous. */
  private get floor(): number {
    return Math.max(1e-9, this.threshold - this.margin);
  }

  /** Resolves one answer (an id or a title, as written). */
  resolve(answer: string): Resolved {
    const known = this.memo.get(answer);
    if (known) return known;
    const stage = this.exactStage(answer);
    const r = 'how' in stage ? stage : this.decide(this.fuzzyMatches(stage.norm, this.floor));
    this.remember(answer, r);
    return r;
  }

  /**
   * Resolves many answers: the exact steps here, the fuzzy step for all remaining answers at once on
   * the native kernels (native/text/dice_search.cpp) when the addon has them, else in TypeScript. The
   * same results as resolve() one by one.
   */
  async resolveMany(answers: readonly string[], progress?: (done: number, total: number) => void): Promise<Resolved[]> {
    const out = new Array<Resolved>(answers.length);
    const pending = new Map<string, number[]>(); // normalised answer -> positions
    // Answers repeat (popular items, the same title in many lists): the exact steps once per distinct answer.
    const stages = new Map<string, Resolved | { norm: string }>();
    answers.forEach((a, i) => {
      let stage = stages.get(a);
      if (!stage) stages.set(a, (stage = this.exactStage(a)));
      if ('how' in stage) out[i] = stage;
      else {
        const at = pending.get(stage.norm);
        if (at) at.push(i);
        else pending.set(stage.norm, [i]);
      }
    });
    if (pending.size === 0) return out;
    const norms = [...pending.keys()];
    const matches = await this.fuzzyMatchesMany(norms, progress);
    norms.forEach((norm, q) => {
      const r = this.decide(matches[q]);
      for (const i of pending.get(norm)!) out[i] = r;
    });
    return out;
  }

  private remember(answer: string, r: Resolved): void {
    if (this.memo.size < 1 << 20) this.memo.set(answer, r);
  }

  /**
   * Fuzzy matches at the floor of many normalised answers, as decide() reads them (the best and those
   * within the margin of it): natively when the addon can, else one by one.
   */
  private async fuzzyMatchesMany(norms: readonly string[], progress?: (done: number, total: number) => void): Promise<[number, number][][]> {
    if (!this.gramRank) this.buildIndex();
    const floor = this.floor;
    const offsets = new Int32Array(norms.length + 1);
    const grams: number[] = [];
    const sizes = new Int32Array(norms.length);
    norms.forEach((norm, q) => {
      const { known, size } = this.queryGrams(norm);
      for (const g of known) grams.push(g);
      offsets[q + 1] = grams.length;
      sizes[q] = size;
    });
    const MAX = 64;
    const call = diceSearch(this.postingIndex(), { offsets, grams: Int32Array.from(grams), sizes }, floor, this.margin, MAX);
    if (!call) {
      const out: [number, number][][] = [];
      norms.forEach((norm, q) => {
        out.push(this.fuzzyMatches(norm, floor));
        if ((q & 1023) === 1023) progress?.(q + 1, norms.length);
      });
      return out;
    }
    const r = await call;
    progress?.(norms.length, norms.length);
    return norms.map((_, q) => {
      const list: [number, number][] = [];
      for (let j = 0; j < Math.min(MAX, r.counts[q]); j++) list.push([r.titles[q * MAX + j], r.scores[q * MAX + j]]);
      return list;
    });
  }

  /** The index arrays of the native search (built once). */
  private postingIndex(): DiceIndexArrays {
    if (!this.postings) {
      const { itemOffsets, itemGrams } = this;
      const G = this.gramRank!.size;
      const counts = new Int32Array(G + 1);
      for (const g of itemGrams) counts[g + 1]++;
      for (let g = 0; g < G; g++) counts[g + 1] += counts[g];
      const fill = counts.slice(0, G);
      const items = new Int32Array(itemGrams.length);
      for (let i = 0; i + 1 < itemOffsets.length; i++) for (let p = itemOffsets[i]; p < itemOffsets[i + 1]; p++) items[fill[itemGrams[p]]++] = i;
      this.postings = { offsets: counts, items };
    }
    return { titleOffsets: this.itemOffsets, titleGrams: this.itemGrams, postOffsets: this.postings.offsets, postTitles: this.postings.items };
  }

  /** A normalised answer's known trigram ranks (ascending) and its size (unknown trigrams included). */
  private queryGrams(norm: string): { known: Int32Array; size: number } {
    const keys = trigramKeys(norm, this.scratch);
    const known: number[] = [];
    let size = 0;
    const epoch = ++this.gramEpoch;
    const seenUnknown = new Set<number>();
    for (const k of keys) {
      const r = this.rankOf(k);
      if (r < 0) {
        if (!seenUnknown.has(k)) {
          seenUnknown.add(k);
          size++;
        }
      } else if (this.gramMarks[r] !== epoch) {
        this.gramMarks[r] = epoch;
        known.push(r);
        size++;
      }
    }
    return { known: Int32Array.from(known).sort(), size };
  }

  /** A trigram key's rank, or -1 (no title has it): a table lookup for ASCII trigrams, else the map. */
  private rankOf(key: number): number {
    const c1 = Math.floor(key / 4294967296);
    const rest = key - c1 * 4294967296;
    const c2 = rest >>> 16;
    const c3 = rest & 0xffff;
    if (c1 < 128 && c2 < 128 && c3 < 128) return this.asciiRanks[(c1 << 14) | (c2 << 7) | c3] - 1;
    return this.gramRank!.get(key) ?? -1;
  }

  /** The steps before the fuzzy one: a Resolved, or the normalised answer the fuzzy step takes. */
  private exactStage(answer: string): Resolved | { norm: string } {
    const ds = this.dataset;
    const trimmed = answer.trim();
    const direct = ds.itemId(trimmed) ?? (trimmed.length <= 24 && /[a-z]/.test(trimmed) ? ds.itemId(trimmed.toUpperCase()) : undefined);
    if (direct !== undefined) return { id: direct, how: HOW.id };
    if (this.mode === 'off') return { id: -1, how: HOW.unresolved };
    // An id inside the text ("... (B00006IFAF)"): only when exactly one distinct id is named.
    if (/[0-9]/.test(trimmed)) {
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
    }
    const norm = normalizeTitle(trimmed);
    if (!norm) return { id: -1, how: HOW.unresolved };
    const exact = this.titleMatches(norm);
    if (exact.length === 1) return { id: exact[0], how: HOW.title };
    if (exact.length > 1) return { id: -1, how: HOW.ambiguous, candidates: exact };
    if (this.mode === 'exact') return { id: -1, how: HOW.unresolved };
    return { norm };
  }

  /** The decision on an answer's fuzzy matches at the floor (best first). */
  private decide(matches: readonly [number, number][]): Resolved {
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
