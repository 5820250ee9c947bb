// Narrative-item consistency: does a narrative name the item the model recommended, the target item,
// both, or neither? And the text metrics split by whether the recommended item was the target
// (JSON `text_by_hit`): the paper's "the loss is primarily due to errors in decoding the item",
// measured.
//
// The rule: an item's naming words are the normalised words (NFKC, lower case, letters and digits) of
// its title, its brand and its leaf category, without stopwords. A narrative names the item when it
// holds (a) every word of the item's brand (the brand field, else the title's first word) and a word
// of its leaf category ("the Belcore business envelopes"), or (b) words carrying at least
// MENTION_THRESHOLD of the item's naming weight, each word weighted by its inverse document frequency
// over the catalogue's titles, idf(w) = ln(1 + N / df(w)) (a product line weighs more than "black").
// Checked on the synthetic demo's reference narratives, which name their own item by construction
// (README "Narrative-item consistency": how often the rule finds the target in them, and how often an
// item of the same category or a random item).
//
// Per narrative pair a code: bit 0 names the recommended item, bit 1 names the target. Stored per pair
// in the part (aligned with the text pairs), so chunks and shards merge by concatenation.
import { categoryPath } from '../data/categories.js';
import { NARRATIVE_NAMES, type Dataset, type NarrativeKind } from '../data/dataset.js';
import { Bleu, BLEU_STATS } from '../metrics/text/bleu.js';
import { Rouge } from '../metrics/text/rouge.js';
import { normalizeTitle } from '../models/title-resolver.js';
import type { ExampleSet } from '../tasks/examples.js';
import type { EvalPart, TextPart } from './evaluate.js';

export const MENTION_THRESHOLD = 0.5;
export const MENTION = { recommended: 1, target: 2 } as const;

const STOPWORDS = new Set(
  ('a an the and or of to in on for with by from at as is it its this that these those be are was were you your our their they them ' +
    'i my me we he she his her so very just more most than then also into out up all any each per pack count set piece pieces').split(' '),
);

/** The naming words of a text: its normalised words without stopwords, in order (repeats kept). */
export const namingWords = (text: string) => normalizeTitle(text).split(' ').filter((w) => w && !STOPWORDS.has(w));
const words = namingWords;

const ASCII = /^[\x00-\x7f]*$/;

/**
 * The distinct naming words of a text: new Set(words(text)), in one pass over ASCII text (letters and
 * digits are [a-z0-9] there, as in normalizeTitle). Every narrative of an eval is split: seconds at Office scale.
 */
export function wordSet(text: string): Set<string> {
  if (!ASCII.test(text)) return new Set(words(text));
  const lower = text.toLowerCase();
  const out = new Set<string>();
  let start = -1;
  for (let i = 0; i <= lower.length; i++) {
    const c = i < lower.length ? lower.charCodeAt(i) : 32;
    if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57)) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      const w = lower.slice(start, i);
      if (!STOPWORDS.has(w)) out.add(w);
      start = -1;
    }
  }
  return out;
}

/** The naming words of every item (with idf weights) for one dataset. */
export class ItemMentions {
  private readonly weights = new Map<string, number>();
  private readonly cache = new Map<number, { words: string[]; total: number; brand: string[]; type: string[] }>();
  private readonly fallback: number;

  constructor(readonly dataset: Dataset) {
    const df = new Map<string, number>();
    const n = dataset.items.count;
    for (let i = 0; i < n; i++) for (const w of new Set(words(dataset.items.title.get(i) ?? ''))) df.set(w, (df.get(w) ?? 0) + 1);
    for (const [w, d] of df) this.weights.set(w, Math.log(1 + n / d));
    this.fallback = Math.log(1 + n);
  }

  private weight(w: string): number {
    return this.weights.get(w) ?? this.fallback;
  }

  /** An item's distinct naming words, their total weight, its brand words and its product-type (leaf category) words. */
  naming(item: number): { words: string[]; total: number; brand: string[]; type: string[] } {
    let e = this.cache.get(item);
    if (!e) {
      const ds = this.dataset;
      const leaf = ds.items.category[item] >= 0 ? (categoryPath(ds.categories, ds.items.category[item]).filter(Boolean).pop() ?? '') : '';
      const title = words(ds.items.title.get(item) ?? '');
      // The brand field, else the title's first word (Amazon titles lead with the brand: "Pilot G2 ...").
      const brand = words(ds.items.brand.get(item) ?? '');
      const brandWords = brand.length ? brand : title.slice(0, 1);
      const type = words(leaf);
      const ws = [...new Set([...title, ...brand, ...type])];
      e = { words: ws, total: ws.reduce((a, w) => a + this.weight(w), 0), brand: brandWords, type };
      this.cache.set(item, e);
    }
    return e;
  }

  /** The share of the item's naming weight that a text's words cover (0..1). */
  score(item: number, textWords: ReadonlySet<string>): number {
    const { words: ws, total } = this.naming(item);
    if (total === 0) return 0;
    let hit = 0;
    for (const w of ws) if (textWords.has(w)) hit += this.weight(w);
    return hit / total;
  }

  /**
   * Whether a text names the item: it holds the item's brand and a word of its product type (leaf
   * category; "the Belcore business envelopes"), or words carrying MENTION_THRESHOLD of its naming weight.
   */
  names(item: number, textWords: ReadonlySet<string>): boolean {
    if (item < 0) return false;
    const e = this.naming(item);
    if (e.brand.length && e.type.length && e.brand.every((w) => textWords.has(w)) && e.type.some((w) => textWords.has(w))) return true;
    return this.score(item, textWords) >= MENTION_THRESHOLD;
  }
}

const perDataset = new WeakMap<Dataset, ItemMentions>();

export function itemMentions(ds: Dataset): ItemMentions {
  let m = perDataset.get(ds);
  if (!m) perDataset.set(ds, (m = new ItemMentions(ds)));
  return m;
}

/**
 * Per scored pair (example rows[p]): MENTION bits for the recommended item (top[i * k]) and the target.
 * `before`: another row's codes for the same pairs, reused where the text and the first pick are the same.
 */
export function mentionCodes(
  examples: ExampleSet,
  rows: readonly number[],
  hyps: readonly (string | null)[],
  top: Int32Array,
  k: number,
  before?: { hyps: readonly (string | null)[]; codes: readonly number[]; top: Int32Array; k: number },
): number[] {
  const m = itemMentions(examples.dataset);
  // Narrators repeat themselves (a template, a popular item): each distinct text is split once.
  const seen = new Map<string, Set<string>>();
  return rows.map((i, p) => {
    const text = hyps[i];
    if (!text) return 0;
    if (before && before.hyps[i] === text && before.top[i * before.k] === top[i * k]) return before.codes[p];
    let ws = seen.get(text);
    if (!ws) {
      ws = wordSet(text);
      if (seen.size < 100_000) seen.set(text, ws);
    }
    return (m.names(top[i * k], ws) ? MENTION.recommended : 0) | (m.names(examples.targets[i], ws) ? MENTION.target : 0);
  });
}

// ---------------------------------------------------------------------------------------------
// Reports

export interface MentionSplit {
  n: number;
  recommended_only: number;
  target_only: number;
  both: number;
  neither: number;
}

export interface KindConsistency {
  pairs: number;
  /** Pairs whose recommended item is the target (rank 0). */
  hits: number;
  all: MentionSplit;
  hit: MentionSplit;
  miss: MentionSplit;
}

const emptySplit = (): MentionSplit => ({ n: 0, recommended_only: 0, target_only: 0, both: 0, neither: 0 });

function tally(s: MentionSplit, code: number): void {
  s.n++;
  if (code === 3) s.both++;
  else if (code === MENTION.recommended) s.recommended_only++;
  else if (code === MENTION.target) s.target_only++;
  else s.neither++;
}

/** Whether example `row` of the part recommended its target first (rank 0). */
const isHit = (part: EvalPart, row: number) => part.ranks[row] === 0;

export function consistencyOf(part: EvalPart): Record<string, KindConsistency> | undefined {
  if (!part.mentions) return undefined;
  const out: Record<string, KindConsistency> = {};
  for (const [kind, t] of Object.entries(part.text) as [NarrativeKind, TextPart][]) {
    const codes = part.mentions[kind];
    if (!codes || codes.length !== t.pairs) continue;
    const c: KindConsistency = { pairs: t.pairs, hits: 0, all: emptySplit(), hit: emptySplit(), miss: emptySplit() };
    t.rows.forEach((row, p) => {
      const hit = isHit(part, row);
      if (hit) c.hits++;
      tally(c.all, codes[p]);
      tally(hit ? c.hit : c.miss, codes[p]);
    });
    out[NARRATIVE_NAMES[kind]] = c;
  }
  return out;
}

export interface TextSplit {
  n: number;
  bleu: number;
  rouge1: number;
  rouge2: number;
  rougeL: number;
  rougeLsum: number;
  semsim: number | null;
}

/** Text metrics over the pairs whose recommended item was the target (hit) and the others (miss). */
export function textByHit(part: EvalPart): Record<string, { hit: TextSplit; miss: TextSplit }> {
  const s = part.settings;
  const bleu = Bleu.fromSettings(s.bleu);
  const rouge = new Rouge(s.rouge);
  const stats = rouge.types.length * 3;
  const out: Record<string, { hit: TextSplit; miss: TextSplit }> = {};
  for (const [kind, t] of Object.entries(part.text) as [NarrativeKind, TextPart][]) {
    const split = (want: boolean): TextSplit => {
      const picked: number[] = [];
      for (let p = 0; p < t.rows.length; p++) if (isHit(part, t.rows[p]) === want) picked.push(p);
      const r = new Float64Array(picked.length * stats);
      let sem = 0;
      picked.forEach((p, j) => {
        for (let c = 0; c < stats; c++) r[j * stats + c] = t.rouge[p * stats + c];
        if (t.semsim) sem += t.semsim[p];
      });
      const n = picked.length;
      const means = rouge.means(r, n);
      return {
        n,
        bleu: n ? bleu.corpus(t.bleu, n, (i) => picked[i]).score : NaN,
        rouge1: means.rouge1?.fmeasure ?? NaN,
        rouge2: means.rouge2?.fmeasure ?? NaN,
        rougeL: means.rougeL?.fmeasure ?? NaN,
        rougeLsum: means.rougeLsum?.fmeasure ?? NaN,
        semsim: t.semsim && n ? sem / n : null,
      };
    };
    out[NARRATIVE_NAMES[kind]] = { hit: split(true), miss: split(false) };
  }
  return out;
}

const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');
const f3 = (x: number | null) => (x !== null && Number.isFinite(x) ? x.toFixed(3) : 'n/a');
const pct = (a: number, b: number) => (b ? `${((100 * a) / b).toFixed(1)}%` : 'n/a');

export function consistencyMarkdown(rows: readonly { row: string; textByHit?: Record<string, { hit: TextSplit; miss: TextSplit }>; consistency?: Record<string, KindConsistency> }[]): string[] {
  const out: string[] = [];
  for (const r of rows) {
    if (!r.textByHit || Object.keys(r.textByHit).length === 0) continue;
    out.push('', `## Narratives by item hit: ${r.row} (hit: the recommended item is the target)`, '');
    out.push('| Narrative | hit n | hit BLEU | hit ROUGE-L | hit SemSim | miss n | miss BLEU | miss ROUGE-L | miss SemSim | names target (miss) | names recommended (miss) | names neither (miss) |');
    out.push('|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const [kind, { hit, miss }] of Object.entries(r.textByHit)) {
      const c = r.consistency?.[kind]?.miss;
      const named = c ? [pct(c.target_only + c.both, c.n), pct(c.recommended_only + c.both, c.n), pct(c.neither, c.n)] : ['n/a', 'n/a', 'n/a'];
      out.push(`| ${kind} | ${hit.n.toLocaleString('en-US')} | ${f2(hit.bleu)} | ${f3(hit.rougeL)} | ${f3(hit.semsim)} | ${miss.n.toLocaleString('en-US')} | ${f2(miss.bleu)} | ${f3(miss.rougeL)} | ${f3(miss.semsim)} | ${named.join(' | ')} |`);
    }
  }
  return out;
}
