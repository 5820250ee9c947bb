// Evaluation: a model's rankings and narratives on a set of examples become per-example scores (an
// EvalPart). Parts of consecutive example ranges merge by concatenation, so chunks (for resuming)
// and shards (for many machines) give exactly the single-run numbers; the report is computed from
// the merged part (see report.ts).
import type { NarrativeKind } from '../data/dataset.js';
import type { ProgressFn } from '../util/progress.js';
import { Bleu, BLEU_STATS, type BleuSettings } from '../metrics/text/bleu.js';
import { Rouge, ROUGE_STATS, type RougeSettings } from '../metrics/text/rouge.js';
import { computeStatsWith, type TextPair } from '../metrics/text/score.js';
import { semanticSimilarity, type SemSimOptions } from '../metrics/text/semsim.js';
import type { Recommender } from '../models/recommender.js';
import type { Narrator } from '../models/template-narrator.js';
import type { ExampleSet } from '../tasks/examples.js';

/** Everything that determines the numbers; the signature is made from it. */
export interface EvalSettings {
  tool: string;
  dataset: { name: string; key: string };
  split: 'valid' | 'test';
  task: 1 | 2 | 3;
  /** Whether critiques were shown (false: the paper's "Hist -> ID (+ Narrative)" row). */
  critiques: boolean;
  k: number;
  excludeHistory: boolean;
  model: string;
  narrator: string | null;
  /** The BLEU metric's settings (Bleu.fromSettings rebuilds it). */
  bleu: BleuSettings;
  /** The ROUGE metric's settings (new Rouge(settings) rebuilds it). */
  rouge: RougeSettings;
  /** The sentence encoder, or null with the reason there is none. */
  semsim: { model: string | null; reason?: string };
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
 */
export const PART_VERSION = 2;

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
  progress?: ProgressFn;
}

/** Appends without spreading (arrays of a million entries overflow the argument limit). */
function append<T>(into: T[], from: readonly T[]): void {
  for (const x of from) into.push(x);
}

function addNotes(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
}

/** Scores one chunk of examples (a slice of the full set). */
async function evaluateChunk(examples: ExampleSet, model: Recommender, narrator: Narrator | null, options: EvaluateOptions): Promise<EvalPart> {
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
  };
  if (kinds.length === 0) return part;

  const generated = narrator ? narrator.narrate(examples, ranking.top, ranking.k, kinds) : null;
  for (const kind of kinds) {
    const hyps: (string | null)[] = model.narratives ? model.narratives(examples, kind) : generated ? generated[kind] : new Array(n).fill(null);
    const pairs: TextPair[] = [];
    const rows: number[] = [];
    let missing = 0;
    for (let i = 0; i < n; i++) {
      const ref = examples.narrative(i, kind);
      if (ref === null) continue;
      if (hyps[i] === null) missing++;
      pairs.push({ hyp: hyps[i] ?? '', refs: [ref] });
      rows.push(i);
    }
    const stats = await computeStatsWith(pairs, Bleu.fromSettings(settings.bleu), new Rouge(settings.rouge));
    let semsim: number[] | null = null;
    if (settings.semsim.model && options.semsim && pairs.length)
      semsim = Array.from((await semanticSimilarity(pairs.map((p) => p.hyp), pairs.map((p) => p.refs), { ...options.semsim, model: settings.semsim.model })).scores);
    part.text[kind] = { pairs: pairs.length, rows, bleu: Array.from(stats.bleu), rouge: Array.from(stats.rouge), semsim, missing };
    const without = n - pairs.length;
    if (without) addNotes(part.notes, { [`examples without a reference ${kind} (not scored)`]: without });
    if (missing) addNotes(part.notes, { [`examples without a predicted ${kind} (scored as empty text)`]: missing });
  }
  return part;
}

/** Evaluates a model on examples, chunk by chunk (reusing chunks in options.done), into one part. */
export async function evaluate(examples: ExampleSet, model: Recommender, narrator: Narrator | null, options: EvaluateOptions): Promise<EvalPart> {
  const chunkRows = options.chunkRows ?? 8192;
  const parts: EvalPart[] = [];
  for (let start = 0; start < examples.length; start += chunkRows) {
    const end = Math.min(examples.length, start + chunkRows);
    let part = options.done?.get(examples.base + start);
    if (!part || part.end !== examples.base + end) {
      part = await evaluateChunk(examples.slice(start, end), model, narrator, options);
      options.onChunk?.(part);
    }
    parts.push(part);
    options.progress?.({ phase: `evaluating ${examples.label}`, done: end, total: examples.length, unit: 'rows' });
  }
  if (parts.length === 0) return { ...emptyPart(options.settings, examples.base), total: options.total ?? examples.base };
  return mergeParts(parts);
}

function emptyPart(settings: EvalSettings, start: number): EvalPart {
  return { format: 'regen-bench-eval-part', version: PART_VERSION, settings, start, end: start, total: -1, users: [], ranks: [], top1: [], repeatTargets: 0, text: {}, notes: {} };
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
      throw new MergeError(`${name} was computed with other settings than ${first.name}; parts of one evaluation share dataset, task, k, model and metric settings`);
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
  for (const { p } of order) {
    const offset = out.users.length;
    out.end = p.end;
    append(out.users, p.users);
    append(out.ranks, p.ranks);
    append(out.top1, p.top1);
    out.repeatTargets += p.repeatTargets;
    addNotes(out.notes, p.notes);
    for (const [kind, t] of Object.entries(p.text) as [NarrativeKind, TextPart][]) {
      const into = (out.text[kind] ??= { pairs: 0, rows: [], bleu: [], rouge: [], semsim: t.semsim ? [] : null, missing: 0 });
      into.pairs += t.pairs;
      append(into.rows, t.rows.map((r) => r + offset));
      append(into.bleu, t.bleu);
      append(into.rouge, t.rouge);
      if (into.semsim && t.semsim) append(into.semsim, t.semsim);
      else into.semsim = null;
      into.missing += t.missing;
    }
  }
  return out;
}

function checkFormat(p: EvalPart, name: string): void {
  if (p.format !== 'regen-bench-eval-part') throw new MergeError(`${name} is not a regen-bench eval part (format ${p.format})`);
  if (p.version !== PART_VERSION)
    throw new MergeError(
      `${name} is a version ${p.version} eval part; this regen-bench writes version ${PART_VERSION}` +
        (p.version === 1 ? ' (version 1 kept a repeat-purchase target rankable; the whole history is excluded now): evaluate again' : ''),
    );
}

/** Sanity of a part's format and arrays (parts are read back from disk). */
export function checkPart(part: EvalPart, name: string): void {
  checkFormat(part, name);
  const n = part.end - part.start;
  if (part.users.length !== n || part.ranks.length !== n || part.top1.length !== n)
    throw new MergeError(`${name}: holds ${part.users.length} users and ${part.ranks.length} ranks for examples ${part.start}..${part.end - 1}`);
  if (!Number.isInteger(part.repeatTargets) || part.repeatTargets < 0 || part.repeatTargets > n)
    throw new MergeError(`${name}: repeatTargets ${part.repeatTargets} is not a count of its ${n} examples`);
  const T = part.settings.rouge.types.length;
  for (const [kind, t] of Object.entries(part.text) as [string, TextPart][])
    if (t.bleu.length !== t.pairs * BLEU_STATS || t.rouge.length !== t.pairs * T * ROUGE_STATS || t.rows.length !== t.pairs)
      throw new MergeError(`${name}: the ${kind} statistics do not match its ${t.pairs} pairs`);
}
