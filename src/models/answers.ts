// Answer hygiene: how a model's ranked lists were written, counted per example and summed. Counts are
// over list entries (as the model wrote them, before anything is dropped), except short_lists, which
// counts lists:
//   entries          every entry of every list
//   resolved_id      an item id (or a title holding exactly one id)
//   resolved_title   an exact normalised catalogue title of one item
//   resolved_fuzzy   a title that matched one item above the fuzzy threshold
//   ambiguous        a title of several items (exact duplicates in the catalogue, or fuzzy near-ties)
//   unresolved       an unknown id, or a title that matches no item (an invented product)
//   duplicates       an entry naming an item an earlier entry of the same list named
//   history          an entry (first of its item) naming an item of the user's history (already bought)
//   short_lists      lists with fewer than k rankable items: distinct items, outside the history when
//                    it is excluded (a missing prediction line is an empty list)
// plus ambiguous_with_target (ambiguous entries whose items include the target: an upper bound on what
// a generous reading would have credited), lines (lists counted), and per kind the examples with at
// least one such entry and the sum of the per-example rates (count / entries), so that parts, chunks
// and shards add up exactly.
import type { Csr } from '../data/splits.js';
import type { ExampleSet } from '../tasks/examples.js';
import { answerEntries as answerEntriesOf, HOW } from './title-resolver.js';

export const ANSWER_FLAWS = ['unresolved', 'ambiguous', 'duplicates', 'history'] as const;
export type AnswerFlaw = (typeof ANSWER_FLAWS)[number];

export interface AnswerCounts {
  lines: number;
  entries: number;
  resolved_id: number;
  resolved_title: number;
  resolved_fuzzy: number;
  ambiguous: number;
  unresolved: number;
  duplicates: number;
  history: number;
  short_lists: number;
  ambiguous_with_target: number;
  /** Per flaw: examples whose list has at least one such entry. */
  examples_with: Record<AnswerFlaw, number>;
  /** Per flaw: the sum over examples of count / entries (0 for an empty list); the mean per example is this / lines. */
  rate_sums: Record<AnswerFlaw, number>;
}

export function emptyAnswerCounts(): AnswerCounts {
  const zero = () => ({ unresolved: 0, ambiguous: 0, duplicates: 0, history: 0 });
  return {
    lines: 0,
    entries: 0,
    resolved_id: 0,
    resolved_title: 0,
    resolved_fuzzy: 0,
    ambiguous: 0,
    unresolved: 0,
    duplicates: 0,
    history: 0,
    short_lists: 0,
    ambiguous_with_target: 0,
    examples_with: zero(),
    rate_sums: zero(),
  };
}

/** Adds b into a (counts are additive over examples). */
export function addAnswerCounts(a: AnswerCounts, b: AnswerCounts): AnswerCounts {
  for (const key of Object.keys(a) as (keyof AnswerCounts)[]) {
    if (key === 'examples_with' || key === 'rate_sums') for (const f of ANSWER_FLAWS) a[key][f] += b[key][f];
    else a[key] += b[key];
  }
  return a;
}

/**
 * The hygiene of ranked lists over examples: `lists` (CSR, one list per example, entries as written:
 * item ids, -1 where none resolved), `how` (per entry its HOW code; absent: every id an id, every -1
 * unresolved), `ambiguousWithTarget` (per example, ambiguous entries whose candidates hold the target).
 */
export function countAnswers(
  examples: ExampleSet,
  lists: Csr,
  k: number,
  excludeHistory: boolean,
  how?: Uint8Array,
  ambiguousWithTarget?: ArrayLike<number>,
): AnswerCounts {
  const c = emptyAnswerCounts();
  const seen = new Set<number>();
  const history = new Set<number>();
  for (let i = 0; i < examples.length; i++) {
    seen.clear();
    history.clear();
    for (const id of examples.historyOf(i)) history.add(id);
    const n = lists.offsets[i + 1] - lists.offsets[i];
    const flaws = { unresolved: 0, ambiguous: 0, duplicates: 0, history: 0 };
    let rankable = 0;
    for (let p = lists.offsets[i]; p < lists.offsets[i + 1]; p++) {
      const id = lists.ids[p];
      const h = how ? how[p] : id >= 0 ? HOW.id : HOW.unresolved;
      if (h === HOW.id) c.resolved_id++;
      else if (h === HOW.title) c.resolved_title++;
      else if (h === HOW.fuzzy) c.resolved_fuzzy++;
      else if (h === HOW.ambiguous) flaws.ambiguous++;
      else flaws.unresolved++;
      if (id < 0) continue;
      if (seen.has(id)) {
        flaws.duplicates++;
        continue;
      }
      seen.add(id);
      if (history.has(id)) {
        flaws.history++;
        if (excludeHistory) continue;
      }
      rankable++;
    }
    c.lines++;
    c.entries += n;
    if (rankable < k) c.short_lists++;
    c.ambiguous_with_target += ambiguousWithTarget?.[i] ?? 0;
    for (const f of ANSWER_FLAWS) {
      c[f] += flaws[f];
      if (flaws[f] > 0) c.examples_with[f]++;
      if (n > 0) c.rate_sums[f] += flaws[f] / n;
    }
  }
  return c;
}

/** The hygiene of a computed model's top-k lists (examples x k ids, -1 padded): ids only. */
export function countTopLists(examples: ExampleSet, top: Int32Array, k: number, excludeHistory: boolean): AnswerCounts {
  const offsets = new Int32Array(examples.length + 1);
  const ids: number[] = [];
  for (let i = 0; i < examples.length; i++) {
    for (let j = 0; j < k; j++) if (top[i * k + j] >= 0) ids.push(top[i * k + j]);
    offsets[i + 1] = ids.length;
  }
  return countAnswers(examples, { offsets, ids: Int32Array.from(ids) }, k, excludeHistory);
}

/** What a predictions line names its answers with. */
export type AnswerForm = 'items' | 'titles' | 'text';

/**
 * The answers a predictions line gives by name: "titles" (an array of strings) or "text" (free text,
 * one entry per line or numbered item; see answerEntries). null when the line has neither. Entries that
 * are not strings are kept as unresolved answers (the count says so).
 */
export function spokenAnswers(rec: { titles?: unknown; text?: unknown }): { form: 'titles' | 'text'; entries: string[]; nonStrings: number } | { error: string } | null {
  if (rec.titles !== undefined) {
    if (!Array.isArray(rec.titles)) return { error: '"titles" is not an array of product titles' };
    let nonStrings = 0;
    const entries = rec.titles.map((t) => {
      if (typeof t === 'string') return t;
      nonStrings++;
      return '';
    });
    return { form: 'titles', entries, nonStrings };
  }
  if (rec.text !== undefined) {
    if (typeof rec.text !== 'string') return { error: '"text" is not a string' };
    return { form: 'text', entries: answerEntriesOf(rec.text), nonStrings: 0 };
  }
  return null;
}
