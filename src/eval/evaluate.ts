// Evaluation: a model's rankings and narratives on a set of examples become per-example scores (an
// EvalPart). Parts of consecutive example ranges merge by concatenation, so chunks (for resuming)
// and shards (for many machines) give exactly the single-run numbers; the report is computed from
// the merged part (see report.ts).
import type { NarrativeKind } from '../data/dataset.js';
import type { ProgressFn } from '../util/progress.js';
import { Bleu, BLEU_STATS, type BleuSettings } from '../metrics/text/bleu.js';
import { Rouge, ROUGE_STATS, type RougeSettings } from '../metrics/text/rouge.js';
import { startStatsWith, type TextPair } from '../metrics/text/score.js';
import { semanticSimilarity, type SemSimOptions } from '../metrics/text/semsim.js';
import type { Recommender } from '../models/recommender.js';
import type { Narrator } from '../models/template-narrator.js';
import type { ExampleSet } from '../tasks/examples.js';
import { countTopLists, type AnswerCounts } from '../models/answers.js';
import { mergeAnswers } from './answers.js';
import { mentionCodes } from './consistency.js';
import { addLeakage, emptyLeakage as emptyLeakageCounts, leakageCounts, type LeakageCounts } from '../data/audit.js';
import type { InputFile } from '../data/report.js';
import { mergeInputs } from './input-problems.js';
import { preview } from '../util/json.js';

/** Everything that determines the numbers; the signature is made from it. */
export interface EvalSettings {
  tool: string;
  dataset: { name: string; key: string };
  split: 'valid' | 'test';
  task: 1 | 2 | 3;
  /** Whether critiques were shown (false: the paper's "Hist -> ID (+ Narrative)" row). */
  critiques: boolean;
  /** The ranked lists' length: the largest cut-off. */
  k: number;
  /**
   * The cut-offs of Recall@k and NDCG@k, ascending, when there are several (`--k 5,10,20`); absent for
   * one cut-off (k), so that one-k settings, signatures and resumable chunks stay as they were.
   */
  cutoffs?: number[];
  excludeHistory: boolean;
  model: string;
  narrator: string | null;
  /** The BLEU metric's settings (Bleu.fromSettings rebuilds it). */
  bleu: BleuSettings;
  /** The ROUGE metric's settings (new Rouge(settings) rebuilds it). */
  rouge: RougeSettings;
  /** The sentence encoder (and its weights' sha256 when known), or null with the reason there is none. */
  semsim: { model: string | null; sha256?: string; reason?: string };
  /**
   * Every file the model's answers were read from (predictions, embeddings, id lists), by role: its
   * name and content hash. Parts, chunks and reports of different contents never mix.
   */
  inputs: Record<string, { file: string; sha256: string }>;
  ci: { samples: number; confidence: number; seed: number };
  backend: string;
}

export interface TextPart {
  /** Examples with a reference narrative of this kind (the pairs scored, in example order). */
  pairs: number;
  /** Example index (within the part) of each pair. */
  rows: number[];
  /** pairs x 10 BLEU statistics (sacrebleu's sufficient statistics). */
  bleu: number[];
  /** pairs x 3T ROUGE statistics [matches, prediction count, target count] per type. */
  rouge: number[];
  /** Per pair cosine similarity, or null without an encoder. */
  semsim: number[] | null;
  /** Pairs whose hypothesis was missing (scored as an empty text). */
  missing: number;
}

/**
 * The part format's version. 2: the whole history is excluded (a repeat-purchase target is a miss)
 * and parts count repeat targets; version 1 parts (the target kept rankable) are not mixed in.
 * 3: the settings name every input file by content hash, and parts carry their input problems.
 */
export const PART_VERSION = 3;

/** Per-example results for examples [start, end) of `total`. */
export interface EvalPart {
  format: 'regen-bench-eval-part';
  version: typeof PART_VERSION;
  settings: EvalSettings;
  start: number;
  end: number;
  total: number;
  /** The example's user id, for aligning two systems in `compare`. */
  users: string[];
  /** 0-based target ranks; null where the target was not ranked. */
  ranks: (number | null)[];
  /** The model's first pick per example (-1 for none). */
  top1: number[];
  /**
   * Examples whose target is in their own history (repeat purchases). With history exclusion the
   * target is excluded with the history, so these are misses; reports say how many.
   */
  repeatTargets: number;
  text: Partial<Record<NarrativeKind, TextPart>>;
  /** Counted oddities of the input, summed over parts. */
  notes: Record<string, number>;
  /** Answer hygiene of the model's lists (src/models/answers.ts), summed over parts. */
  answers?: AnswerCounts;
  /** Per kind, per text pair: whether the narrative names the recommended item and the target (src/eval/consistency.ts). */
  mentions?: Partial<Record<NarrativeKind, number[]>>;
  /** Tasks 2 and 3: the examples (indices in the part) whose target has a critique in the data, shown or not. */
  critiqued?: number[];
  /** The leakage audit of the part's examples (src/data/audit.ts), summed over parts. */
  leakage?: LeakageCounts;
  /** The files read and what was wrong with them (the same for every chunk and shard of a run: kept once). */
  inputs: InputFile[];
}

export interface EvaluateOptions {
  settings: EvalSettings;
  /** Narrative kinds to score (task 3 on the test split). */
  kinds: readonly NarrativeKind[];
  semsim?: SemSimOptions | null;
  /** Size of the full example set the parts belong to (default: this set's base + length). */
  total?: number;
  /** Examples per chunk (default 8192): progress and resuming go by chunk. */
  chunkRows?: number;
  /** Chunks already computed (from an interrupted run), by start index. */
  done?: Map<number, EvalPart>;
  /** Called with each newly computed chunk (to save it). */
  onChunk?: (part: EvalPart) => void;
  /** The files the run read, with their problems (stored in every part). */
  inputs?: InputFile[];
  progress?: ProgressFn;
}

/** The cut-offs of Recall@k and NDCG@k an evaluation reports, ascending. */
export function cutoffsOf(s: Pick<EvalSettings, 'k' | 'cutoffs'>): number[] {
  return s.cutoffs ?? [s.k];
}

function addNotes(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
}

/**
 * What one row's chunk leaves for the next row of the same examples (task 3's two rows differ only in
 * whether critiques are shown): where a narrative is the same text, its statistics (the reference is
 * the same too) and, with the same first pick, its mention code are the first row's.
 */
interface RowChunk {
  top: Int32Array;
  k: number;
  kinds: Map<NarrativeKind, { hyps: readonly (string | null)[]; stats: Promise<{ bleu: Int32Array; rouge: Int32Array }>; codes: number[] }>;
}

/** The reference narratives of a chunk's examples, per kind: read once for every row. */
type ChunkRefs = Map<NarrativeKind, { rows: number[]; refs: string[] }>;

function chunkRefs(examples: ExampleSet, kind: NarrativeKind, cache: ChunkRefs): { rows: number[]; refs: string[] } {
  let r = cache.get(kind);
  if (!r) {
    r = { rows: [], refs: [] };
    for (let i = 0; i < examples.length; i++) {
      const ref = examples.narrative(i, kind);
      if (ref === null) continue;
      r.rows.push(i);
      r.refs.push(ref);
    }
    cache.set(kind, r);
  }
  return r;
}

/** A typed array as a plain array (parts are JSON); a plain loop: Array.from took a second at Office scale. */
function toArray(a: Int32Array): number[] {
  const out = new Array<number>(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i];
  return out;
}

/** Never an unhandled rejection for a promise awaited later (its error surfaces where it is awaited). */
function later<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

/**
 * Scores one chunk of examples (a slice of the full set). The text statistics are computed off this
 * thread: `part` settles when they are in. `previous` is another row's chunk of the same examples.
 */
async function evaluateChunk(
  examples: ExampleSet,
  model: Recommender,
  narrator: Narrator | null,
  options: EvaluateOptions,
  refsCache: ChunkRefs,
  previous: RowChunk | null,
): Promise<{ part: Promise<EvalPart>; made: RowChunk | null }> {
  const { settings, kinds } = options;
  const ranking = await model.recommend(examples, { k: settings.k, excludeHistory: settings.excludeHistory });
  const n = examples.length;
  const part: EvalPart = {
    format: 'regen-bench-eval-part',
    version: PART_VERSION,
    settings,
    start: examples.base,
    end: examples.base + n,
    total: options.total ?? examples.base + n,
    users: Array.from({ length: n }, (_, i) => examples.dataset.users.reviewerId.get(examples.users[i]) ?? String(examples.users[i])),
    ranks: Array.from(ranking.ranks, (r) => (Number.isFinite(r) ? r : null)),
    top1: Array.from({ length: n }, (_, i) => ranking.top[i * ranking.k]),
    repeatTargets: examples.repeatTargets(),
    text: {},
    notes: { ...ranking.notes },
    answers: ranking.answers ?? countTopLists(examples, ranking.top, ranking.k, settings.excludeHistory),
    leakage: leakageCounts(examples.dataset, examples.split, examples.base, examples.base + n),
    ...(examples.task !== 1 ? { critiqued: Array.from({ length: n }, (_, i) => i).filter((i) => examples.hasCritique(i)) } : {}),
    inputs: options.inputs ?? [],
  };
  if (kinds.length === 0) return { part: Promise.resolve(part), made: null };

  const made: RowChunk = { top: ranking.top, k: ranking.k, kinds: new Map() };
  const generated = narrator ? await narrator.narrate(examples, ranking.top, ranking.k, kinds) : null;
  const texts: { kind: NarrativeKind; rows: number[]; stats: Promise<{ bleu: Int32Array; rouge: Int32Array }>; semsim: number[] | null; missing: number }[] = [];
  for (const kind of kinds) {
    const hyps: (string | null)[] = model.narratives ? model.narratives(examples, kind) : generated ? generated[kind] : new Array(n).fill(null);
    const { rows, refs } = chunkRefs(examples, kind, refsCache);
    const before = previous?.kinds.get(kind);
    // The pairs to score: every pair, or those whose narrative differs from the other row's.
    const todo: TextPair[] = [];
    const fresh: number[] = [];
    let missing = 0;
    for (let p = 0; p < rows.length; p++) {
      const h = hyps[rows[p]];
      if (h === null) missing++;
      if (before && (before.hyps[rows[p]] ?? '') === (h ?? '')) continue;
      todo.push({ hyp: h ?? '', refs: [refs[p]] });
      fresh.push(p);
    }
    const computed = startStatsWith(todo, Bleu.fromSettings(settings.bleu), new Rouge(settings.rouge), {
      where: (q, which) => `the ${which === 'hyp' ? 'predicted' : 'reference'} ${kind} of user ${preview(part.users[rows[fresh[q]]])}`,
    });
    const stats = later(
      before && fresh.length < rows.length
        ? Promise.all([before.stats, computed]).then(([old, now]) => mixStats(old, now, fresh, rows.length))
        : computed.then(({ bleu, rouge }) => ({ bleu, rouge })),
    );
    let semsim: number[] | null = null;
    if (settings.semsim.model && options.semsim && rows.length)
      semsim = Array.from((await semanticSimilarity(rows.map((i) => hyps[i] ?? ''), refs.map((r) => [r]), { ...options.semsim, model: settings.semsim.model })).scores);
    const codes = mentionCodes(examples, rows, hyps, ranking.top, ranking.k, before ? { ...before, top: previous!.top, k: previous!.k } : undefined);
    made.kinds.set(kind, { hyps, stats, codes });
    texts.push({ kind, rows, stats, semsim, missing });
    (part.mentions ??= {})[kind] = codes;
    const without = n - rows.length;
    if (without) addNotes(part.notes, { [`examples without a reference ${kind} (not scored)`]: without });
    if (missing) addNotes(part.notes, { [`examples without a predicted ${kind} (scored as empty text)`]: missing });
  }
  const done = Promise.all(texts.map((t) => t.stats)).then((all) => {
    texts.forEach((t, j) => {
      part.text[t.kind] = { pairs: t.rows.length, rows: t.rows, bleu: toArray(all[j].bleu), rouge: toArray(all[j].rouge), semsim: t.semsim, missing: t.missing };
    });
    return part;
  });
  return { part: later(done), made };
}

/** The statistics of every pair: those computed now at `fresh` (pair indices, ascending), the other row's elsewhere. */
function mixStats(old: { bleu: Int32Array; rouge: Int32Array }, now: { bleu: Int32Array; rouge: Int32Array }, fresh: readonly number[], pairs: number): { bleu: Int32Array; rouge: Int32Array } {
  const bleu = old.bleu.slice();
  const rouge = old.rouge.slice();
  const rw = pairs ? rouge.length / pairs : 0;
  fresh.forEach((p, q) => {
    bleu.set(now.bleu.subarray(q * BLEU_STATS, (q + 1) * BLEU_STATS), p * BLEU_STATS);
    rouge.set(now.rouge.subarray(q * rw, (q + 1) * rw), p * rw);
  });
  return { bleu, rouge };
}

/** Evaluates a model on examples, chunk by chunk (reusing chunks in options.done), into one part. */
export async function evaluate(examples: ExampleSet, model: Recommender, narrator: Narrator | null, options: EvaluateOptions): Promise<EvalPart> {
  return (await evaluateRows([examples], model, narrator, [options]))[0];
}

/**
 * Evaluates several rows of the same examples (task 3 without and with critiques), chunk by chunk and
 * row by row within a chunk: a narrative one row repeats from the row before is not scored twice. One
 * part per row, each exactly what `evaluate` gives for that row alone.
 */
export async function evaluateRows(rows: readonly ExampleSet[], model: Recommender, narrator: Narrator | null, options: readonly EvaluateOptions[]): Promise<EvalPart[]> {
  const first = rows[0];
  for (const set of rows)
    if (set.length !== first.length || set.base !== first.base || set.dataset !== first.dataset || set.task !== first.task || set.split !== first.split)
      throw new RangeError('evaluateRows: the rows are not the same examples');
  const parts: EvalPart[][] = rows.map(() => []);
  // Said at once: a chunk of a large model can take a while before its first count.
  rows.forEach((set, r) => options[r].progress?.({ phase: `evaluating ${set.label}`, done: 0, total: set.length, unit: 'rows' }));
  // One chunk's statistics are computed while the next chunk is narrated: settled one chunk behind.
  let behind: Promise<void> = Promise.resolve();
  try {
    for (let start = 0; start < first.length; start += options[0].chunkRows ?? 8192) {
      const end = Math.min(first.length, start + (options[0].chunkRows ?? 8192));
      const refsCache: ChunkRefs = new Map();
      let previous: RowChunk | null = null;
      const chunk: { part: Promise<EvalPart>; fresh: boolean }[] = [];
      for (let r = 0; r < rows.length; r++) {
        const kept = options[r].done?.get(first.base + start);
        if (kept && kept.end === first.base + end) {
          chunk.push({ part: Promise.resolve(kept), fresh: false });
          previous = null;
          options[r].progress?.({ phase: `evaluating ${rows[r].label}`, done: end, total: rows[r].length, unit: 'rows' });
          continue;
        }
        const { part, made } = await evaluateChunk(rows[r].slice(start, end), model, narrator, options[r], refsCache, previous);
        chunk.push({ part, fresh: true });
        previous = made;
        // Counted when ranked and narrated: the statistics follow within one chunk.
        options[r].progress?.({ phase: `evaluating ${rows[r].label}`, done: end, total: rows[r].length, unit: 'rows' });
      }
      await behind;
      behind = later(
        Promise.all(chunk.map((c) => c.part)).then((done) => {
          done.forEach((part, r) => {
            if (chunk[r].fresh) options[r].onChunk?.(part);
            parts[r].push(part);
          });
        }),
      );
    }
    await behind;
  } catch (e) {
    // The chunks already scored are saved before the error surfaces (an interrupted run resumes from them).
    await behind.catch(() => {});
    throw e;
  }
  return rows.map((set, r) => {
    const o = options[r];
    if (parts[r].length === 0) return { ...emptyPart(o.settings, set.base), total: o.total ?? set.base, inputs: o.inputs ?? [] };
    return mergeParts(parts[r]);
  });
}

function emptyPart(settings: EvalSettings, start: number): EvalPart {
  return { format: 'regen-bench-eval-part', version: PART_VERSION, settings, start, end: start, total: -1, users: [], ranks: [], top1: [], repeatTargets: 0, text: {}, notes: {}, inputs: [] };
}

export class MergeError extends Error {
  override name = 'MergeError';
}

/**
 * Concatenates parts of consecutive example ranges computed with the same settings (in any input
 * order: they are sorted by start). Gaps, overlaps and mixed settings are errors naming the parts.
 */
export function mergeParts(parts: readonly EvalPart[], names: readonly string[] = []): EvalPart {
  if (parts.length === 0) throw new MergeError('nothing to merge');
  const order = parts.map((p, i) => ({ p, name: names[i] ?? `part ${i + 1}` })).sort((a, b) => a.p.start - b.p.start);
  const first = order[0];
  const settings = JSON.stringify(first.p.settings);
  for (const { p, name } of order) {
    checkFormat(p, name);
    if (JSON.stringify(p.settings) !== settings)
      throw new MergeError(
        `${name} was computed with other settings than ${first.name} (${settingsDiff(first.p.settings, p.settings).join('; ')}); ` +
          `parts of one evaluation share dataset, inputs, task, k, model and metric settings`,
      );
  }
  for (let i = 1; i < order.length; i++)
    if (order[i].p.start !== order[i - 1].p.end)
      throw new MergeError(
        order[i].p.start > order[i - 1].p.end
          ? `examples ${order[i - 1].p.end}..${order[i].p.start - 1} are in no part (between ${order[i - 1].name} and ${order[i].name})`
          : `${order[i - 1].name} and ${order[i].name} overlap (examples ${order[i].p.start}..${order[i - 1].p.end - 1})`,
      );
  const out = emptyPart(first.p.settings, first.p.start);
  out.total = first.p.total;
  const answers = mergeAnswers(order.map(({ p }) => p));
  if (answers) out.answers = answers;
  if (order.every(({ p }) => p.leakage)) out.leakage = order.reduce((acc, { p }) => addLeakage(acc, p.leakage!), emptyLeakageCounts());
  // Arrays are gathered per field and joined once at the end: pushing millions of statistics one by
  // one cost seconds at Office scale. A field some part lacks (critiqued, semsim, mention codes of an
  // older part) is left out, as before.
  // A preallocated copy loop: concat(...lists) of number arrays took ~8 s at Office scale (profiled).
  const join = <T>(lists: T[][]): T[] => {
    let n = 0;
    for (const l of lists) n += l.length;
    const all = new Array<T>(n);
    let at = 0;
    for (const l of lists) for (let i = 0; i < l.length; i++) all[at++] = l[i];
    return all;
  };
  const users: string[][] = [];
  const ranks: (number | null)[][] = [];
  const top1: number[][] = [];
  let critiqued: number[][] | null = [];
  const kinds = new Map<NarrativeKind, { rows: number[][]; bleu: number[][]; rouge: number[][]; semsim: number[][] | null; mentions: number[][] | null; pairs: number; missing: number }>();
  let offset = 0;
  for (const { p } of order) {
    out.end = p.end;
    users.push(p.users);
    ranks.push(p.ranks);
    top1.push(p.top1);
    if (p.critiqued && critiqued) {
      const shift = offset;
      critiqued.push(shift ? p.critiqued.map((r) => r + shift) : p.critiqued);
    } else critiqued = null;
    out.repeatTargets += p.repeatTargets;
    addNotes(out.notes, p.notes);
    out.inputs = mergeInputs([out.inputs, p.inputs]);
    for (const [kind, t] of Object.entries(p.text) as [NarrativeKind, TextPart][]) {
      let into = kinds.get(kind);
      if (!into) kinds.set(kind, (into = { rows: [], bleu: [], rouge: [], semsim: t.semsim ? [] : null, mentions: [], pairs: 0, missing: 0 }));
      const shift = offset;
      into.rows.push(shift ? t.rows.map((r) => r + shift) : t.rows);
      into.bleu.push(t.bleu);
      into.rouge.push(t.rouge);
      if (into.semsim && t.semsim) into.semsim.push(t.semsim);
      else into.semsim = null;
      // Mention codes travel with their pairs; a part without them (an older one) leaves the kind without.
      const codes = p.mentions?.[kind];
      if (codes && into.mentions) into.mentions.push(codes);
      else into.mentions = null;
      into.pairs += t.pairs;
      into.missing += t.missing;
    }
    offset += p.users.length;
  }
  out.users = join(users);
  out.ranks = join(ranks);
  out.top1 = join(top1);
  if (critiqued) out.critiqued = join(critiqued);
  for (const [kind, k] of kinds) {
    out.text[kind] = { pairs: k.pairs, rows: join(k.rows), bleu: join(k.bleu), rouge: join(k.rouge), semsim: k.semsim ? join(k.semsim) : null, missing: k.missing };
    if (k.mentions) (out.mentions ??= {})[kind] = join(k.mentions);
  }
  return out;
}

/**
 * The fields in which two settings differ, as "inputs.predictions.sha256 (1a2b3c4d… vs 9f8e7d6c…)":
 * what merge, compare and a resumed eval name when they refuse to mix.
 */
export function settingsDiff(a: unknown, b: unknown, at = ''): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  const isObj = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === 'object' && !Array.isArray(x);
  if (isObj(a) && isObj(b)) {
    const out: string[] = [];
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) out.push(...settingsDiff(a[k], b[k], at ? `${at}.${k}` : k));
    return out;
  }
  const show = (x: unknown, from = 0) => {
    const t = x === undefined ? 'absent' : typeof x === 'string' ? x : JSON.stringify(x);
    const cut = t.slice(from);
    return `${from > 0 ? '…' : ''}${cut.length > 24 ? `${cut.slice(0, 20)}…` : cut}`;
  };
  // Two long strings (signatures, hashes): shown from a little before where they part.
  let from = 0;
  if (typeof a === 'string' && typeof b === 'string' && (a.length > 24 || b.length > 24)) {
    while (from < a.length && a[from] === b[from]) from++;
    const field = Math.max(a.lastIndexOf('|', from), a.lastIndexOf(',', from));
    from = field >= 0 && from - field <= 20 ? field + 1 : from > 12 ? from - 6 : 0;
  }
  return [`${at || 'settings'} (${show(a, from)} vs ${show(b, from)})`];
}

function checkFormat(p: EvalPart, name: string): void {
  if (p.format !== 'regen-bench-eval-part') throw new MergeError(`${name} is not a regen-bench eval part (format ${p.format})`);
  if (p.version !== PART_VERSION)
    throw new MergeError(
      `${name} is a version ${p.version} eval part; this regen-bench writes version ${PART_VERSION}` +
        (p.version === 1
          ? ' (version 1 kept a repeat-purchase target rankable; the whole history is excluded now): evaluate again'
          : p.version === 2
            ? ' (version 2 parts do not name their input files by content hash, so they cannot be checked against others): evaluate again'
            : ''),
    );
}

/** Sanity of a part's format, settings and arrays (parts are read back from disk, and may have been edited). */
export function checkPart(part: EvalPart, name: string): void {
  const bad = (what: string) => new MergeError(`${name}: ${what}; not an eval part regen-bench wrote (write it again with eval --out)`);
  if (part === null || typeof part !== 'object' || Array.isArray(part)) throw bad('not a JSON object');
  checkFormat(part, name);
  const s = part.settings as Partial<EvalSettings> | undefined;
  const isInt = (x: unknown, lo: number, hi = Number.MAX_SAFE_INTEGER) => typeof x === 'number' && Number.isInteger(x) && x >= lo && x <= hi;
  if (!s || typeof s !== 'object') throw bad('no settings');
  if (!s.dataset || typeof s.dataset.key !== 'string' || typeof s.dataset.name !== 'string') throw bad('settings.dataset is not {name, key}');
  if (s.task !== 1 && s.task !== 2 && s.task !== 3) throw bad(`settings.task is ${preview(s.task)}`);
  if (!isInt(s.k, 1)) throw bad(`settings.k is ${preview(s.k)}`);
  if (s.cutoffs !== undefined && !(Array.isArray(s.cutoffs) && s.cutoffs.length > 1 && s.cutoffs.every((c, i) => isInt(c, 1) && (i === 0 || c > s.cutoffs![i - 1])) && s.cutoffs.at(-1) === s.k))
    throw bad(`settings.cutoffs is ${preview(s.cutoffs)} (expected several ascending cut-offs ending at k)`);
  if (!s.bleu || typeof s.bleu.signature !== 'string') throw bad('settings.bleu has no signature');
  if (!s.rouge || !Array.isArray(s.rouge.types) || s.rouge.types.some((t) => typeof t !== 'string')) throw bad('settings.rouge.types is not a list of ROUGE types');
  if (!s.ci || !isInt(s.ci.samples, 1) || !(typeof s.ci.confidence === 'number' && s.ci.confidence > 0 && s.ci.confidence < 1) || !isInt(s.ci.seed, 0))
    throw bad('settings.ci is not {samples, confidence, seed}');
  if (!s.semsim || typeof s.semsim !== 'object') throw bad('settings.semsim is missing');
  if (!s.inputs || typeof s.inputs !== 'object') throw bad('settings.inputs is missing');
  if (!isInt(part.start, 0) || !isInt(part.end, part.start) || !isInt(part.total, part.end)) throw bad(`examples ${preview(part.start)}..${preview(part.end)} of ${preview(part.total)} is not a range`);
  const n = part.end - part.start;
  if (!Array.isArray(part.users) || !Array.isArray(part.ranks) || !Array.isArray(part.top1) || part.users.length !== n || part.ranks.length !== n || part.top1.length !== n)
    throw new MergeError(`${name}: holds ${preview(part.users?.length)} users and ${preview(part.ranks?.length)} ranks for examples ${part.start}..${part.end - 1}`);
  if (part.users.some((u) => typeof u !== 'string')) throw bad('users holds a value that is not a user id');
  if (part.ranks.some((r) => r !== null && !isInt(r, 0))) throw bad('ranks holds a value that is neither a rank nor null');
  if (part.top1.some((t) => !isInt(t, -1))) throw bad('top1 holds a value that is not an item id');
  if (!Number.isInteger(part.repeatTargets) || part.repeatTargets < 0 || part.repeatTargets > n)
    throw new MergeError(`${name}: repeatTargets ${part.repeatTargets} is not a count of its ${n} examples`);
  if (!part.notes || typeof part.notes !== 'object' || Object.values(part.notes).some((v) => typeof v !== 'number')) throw bad('notes is not an object of counts');
  if (!Array.isArray(part.inputs)) throw new MergeError(`${name}: has no list of its input files`);
  if (!part.text || typeof part.text !== 'object') throw bad('text is missing');
  const T = s.rouge.types.length;
  const numbers = (a: unknown, len: number) => Array.isArray(a) && a.length === len && a.every((x) => typeof x === 'number');
  for (const [kind, t] of Object.entries(part.text) as [string, TextPart][]) {
    if (!t || !isInt(t.pairs, 0, n) || !numbers(t.bleu, t.pairs * BLEU_STATS) || !numbers(t.rouge, t.pairs * T * ROUGE_STATS) || !numbers(t.rows, t.pairs))
      throw new MergeError(`${name}: the ${kind} statistics do not match its ${preview(t?.pairs)} pairs`);
    if (t.rows.some((r) => !isInt(r, 0, n - 1))) throw bad(`the ${kind} rows are not examples of the part`);
    if (t.semsim !== null && !numbers(t.semsim, t.pairs)) throw bad(`the ${kind} semantic similarities do not match its pairs`);
  }
}
