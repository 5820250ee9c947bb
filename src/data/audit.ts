// The leakage audit (`regen-bench data audit D`, and a line in every eval report): per evaluation
// example (test or valid split), the ways its target can leak into what a model sees or learns from.
//
//   repeat_target          the target is in the user's own history (an earlier purchase of the same item)
//   critique_names_target  the critique steering to the target (shown in tasks 2 and 3) names the
//                          target's title or id
//   narrative_names_target per narrative kind: the user's narrative names the target's title or id.
//                          The item narratives (purchase reason, explanation, endorsement) describe the
//                          target by design: they are references, never inputs. The user narratives
//                          (summaries, profile) are written over the whole history, the target
//                          included: a model that reads them as input sees the target
//   sequence_in_train      the example's sequence (history, then target) occurs as a contiguous run in
//                          another user's training sequence (the first N-2 purchases)
//   sequence_equals_train  ... and is that user's whole training sequence (identical sequences)
//   target_in_future_train (global-temporal) another user bought the target, in the training split,
//                          after the example's target time: training holds purchases from its future
//   target_only_in_future  ... and every training purchase of the target by others is after that
//                          time: the model can know the item only from the future
//   unknown_time           examples whose target time is unknown (the temporal checks skip them)
//
// "Names the title": the target's normalised title (src/data/titles.ts) occurs whole, on word
// boundaries, in the normalised text. "Names the id": the id occurs as a whole word, case-insensitive
// (ids of 6+ letters and digits with a letter: a numeric id such as "12" is not searched for).
// Counts are per example, so chunks and shards add up; the flags of a split are computed once per
// dataset and split.
import { ITEM_NARRATIVES, NARRATIVE_KINDS, NARRATIVE_NAMES, type Dataset, type NarrativeKind } from './dataset.js';
import { normalizeTitle } from './titles.js';
import type { EvalSplit } from './splits.js';

export const LEAK_FLAGS = [
  'repeat_target',
  'critique_names_target',
  'sequence_in_train',
  'sequence_equals_train',
  'target_in_future_train',
  'target_only_in_future',
  'unknown_time',
] as const;
export type LeakFlag = (typeof LEAK_FLAGS)[number];

/** The audit of examples: per flag, the examples it holds for; per narrative kind, those naming the target. */
export interface LeakageCounts extends Record<LeakFlag, number> {
  examples: number;
  narrative_names_target: Record<NarrativeKind, number>;
}

export function emptyLeakage(): LeakageCounts {
  return {
    examples: 0,
    ...(Object.fromEntries(LEAK_FLAGS.map((f) => [f, 0])) as Record<LeakFlag, number>),
    narrative_names_target: Object.fromEntries(NARRATIVE_KINDS.map((k) => [k, 0])) as Record<NarrativeKind, number>,
  };
}

export function addLeakage(a: LeakageCounts, b: LeakageCounts): LeakageCounts {
  a.examples += b.examples;
  for (const f of LEAK_FLAGS) a[f] += b[f];
  for (const k of NARRATIVE_KINDS) a.narrative_names_target[k] += b.narrative_names_target[k];
  return a;
}

/** Per-example flags of a split: bit i of flags is LEAK_FLAGS[i]; bit j of narratives is NARRATIVE_KINDS[j]. */
export interface LeakageFlags {
  flags: Uint8Array;
  narratives: Uint8Array;
}

const bit = (f: LeakFlag) => 1 << LEAK_FLAGS.indexOf(f);
const idLike = (id: string) => id.length >= 6 && /^[A-Za-z0-9]+$/.test(id) && /[A-Za-z]/.test(id);

/** Whether a text names an item: its normalised title whole, or its id as a word. */
export function namesItem(text: string, title: string | null, id: string | null): boolean {
  return itemNamer(title, id)(text);
}

const WORD_CHAR = /[a-z0-9]/;

/**
 * namesItem for one item, its title normalised once: the audit asks it of the critique and six
 * narratives of every example.
 */
function itemNamer(title: string | null, id: string | null): (text: string) => boolean {
  const l = id && idLike(id) ? id.toLowerCase() : null;
  const norm = title ? normalizeTitle(title) : '';
  const first = norm ? norm.split(' ', 1)[0] : '';
  const needle = ` ${norm} `;
  return (text) => {
    const lower = text.toLowerCase();
    if (l) {
      let at = lower.indexOf(l);
      while (at >= 0) {
        const before = at === 0 ? '' : lower[at - 1];
        const after = lower[at + l.length] ?? '';
        if (!WORD_CHAR.test(before) && !WORD_CHAR.test(after)) return true;
        at = lower.indexOf(l, at + 1);
      }
    }
    // Quick test on the title's first word before normalising the whole text.
    if (!norm || !lower.includes(first)) return false;
    return ` ${normalizeTitle(text)} `.includes(needle);
  };
}

/**
 * Indices 0..n-1 ordered by (major, minor), ties by index: two stable counting sorts (minor, then
 * major), linear in n + range, where a comparison sort of Office's training pairs took 0.4 s.
 */
function sortByKey(n: number, minor: (i: number) => number, major: (i: number) => number, range: number): Int32Array {
  const pass = (from: Int32Array, key: (i: number) => number): Int32Array => {
    const start = new Int32Array(range + 1);
    for (let j = 0; j < n; j++) start[key(from[j]) + 1]++;
    for (let v = 0; v < range; v++) start[v + 1] += start[v];
    const to = new Int32Array(n);
    for (let j = 0; j < n; j++) to[start[key(from[j])]++] = from[j];
    return to;
  };
  const identity = new Int32Array(n);
  for (let i = 0; i < n; i++) identity[i] = i;
  return pass(pass(identity, minor), major);
}

/**
 * Examples whose sequence (history, then target) is a contiguous run of another user's training
 * sequence: candidates from the posting list of the sequence's rarest adjacent pair, checked item by item.
 */
function sequencesInTrain(ds: Dataset, rows: EvalSplit, out: Uint8Array): void {
  const train = ds.split.train;
  const users = ds.users.count;
  // Adjacent pairs of training sequences: key a * N + b, with the (user, position) of a.
  const N = ds.items.count;
  let pairs = 0;
  for (let u = 0; u < users; u++) pairs += Math.max(0, train.offsets[u + 1] - train.offsets[u] - 1);
  const keys = new Float64Array(pairs);
  const at = new Int32Array(pairs); // index into train.ids of a
  let p = 0;
  for (let u = 0; u < users; u++)
    for (let q = train.offsets[u]; q + 1 < train.offsets[u + 1]; q++) {
      keys[p] = train.ids[q] * N + train.ids[q + 1];
      at[p++] = q;
    }
  const order = sortByKey(pairs, (p) => train.ids[at[p] + 1], (p) => train.ids[at[p]], N);
  const sortedKeys = Float64Array.from(order, (i) => keys[i]);
  const range = (key: number): [number, number] => {
    let lo = 0;
    let hi = pairs;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sortedKeys[mid] < key) lo = mid + 1;
      else hi = mid;
    }
    let end = lo;
    while (end < pairs && sortedKeys[end] === key) end++;
    return [lo, end];
  };
  // Owner of each train.ids index.
  const owner = new Int32Array(train.ids.length);
  for (let u = 0; u < users; u++) owner.fill(u, train.offsets[u], train.offsets[u + 1]);
  const seq: number[] = [];
  for (let r = 0; r < rows.users.length; r++) {
    seq.length = 0;
    for (let q = rows.history.offsets[r]; q < rows.history.offsets[r + 1]; q++) seq.push(rows.history.ids[q]);
    seq.push(rows.targets[r]);
    if (seq.length < 2) continue;
    // The rarest adjacent pair of the sequence.
    let best: [number, number] | null = null;
    let bestAt = 0;
    for (let j = 0; j + 1 < seq.length; j++) {
      const rg = range(seq[j] * N + seq[j + 1]);
      if (!best || rg[1] - rg[0] < best[1] - best[0]) {
        best = rg;
        bestAt = j;
      }
      if (best[1] === best[0]) break;
    }
    const self = rows.users[r];
    for (let s = best![0]; s < best![1]; s++) {
      const q = at[order[s]];
      const u = owner[q];
      if (u === self) continue;
      const start = q - bestAt;
      if (start < train.offsets[u] || start + seq.length > train.offsets[u + 1]) continue;
      let same = true;
      for (let j = 0; j < seq.length && same; j++) same = train.ids[start + j] === seq[j];
      if (!same) continue;
      out[r] |= bit('sequence_in_train');
      if (start === train.offsets[u] && seq.length === train.offsets[u + 1] - train.offsets[u]) {
        out[r] |= bit('sequence_equals_train');
        break;
      }
    }
  }
}

/**
 * Global-temporal: per item the two earliest and two latest training purchases (time, user), so that
 * "other users' purchases of the target" excludes the example's own user in O(1).
 */
function temporal(ds: Dataset, rows: EvalSplit, out: Uint8Array): void {
  const N = ds.items.count;
  const minT = new Float64Array(2 * N).fill(Infinity);
  const minU = new Int32Array(2 * N).fill(-1);
  const maxT = new Float64Array(2 * N).fill(-Infinity);
  const maxU = new Int32Array(2 * N).fill(-1);
  const { offsets } = ds.users;
  const trainEnd = (u: number) => Math.max(offsets[u], offsets[u + 1] - 2);
  for (let u = 0; u < ds.users.count; u++)
    for (let e = offsets[u]; e < trainEnd(u); e++) {
      const t = ds.events.time[e];
      if (!Number.isFinite(t)) continue;
      const it = ds.events.item[e];
      // Keep the two earliest purchases by distinct users, and the two latest.
      if (t < minT[2 * it] && minU[2 * it] !== u) {
        minT[2 * it + 1] = minT[2 * it];
        minU[2 * it + 1] = minU[2 * it];
        minT[2 * it] = t;
        minU[2 * it] = u;
      } else if (minU[2 * it] === u) minT[2 * it] = Math.min(minT[2 * it], t);
      else if (t < minT[2 * it + 1]) {
        minT[2 * it + 1] = t;
        minU[2 * it + 1] = u;
      }
      if (t > maxT[2 * it] && maxU[2 * it] !== u) {
        maxT[2 * it + 1] = maxT[2 * it];
        maxU[2 * it + 1] = maxU[2 * it];
        maxT[2 * it] = t;
        maxU[2 * it] = u;
      } else if (maxU[2 * it] === u) maxT[2 * it] = Math.max(maxT[2 * it], t);
      else if (t > maxT[2 * it + 1]) {
        maxT[2 * it + 1] = t;
        maxU[2 * it + 1] = u;
      }
    }
  for (let r = 0; r < rows.users.length; r++) {
    const time = ds.events.time[rows.events[r]];
    if (!Number.isFinite(time)) {
      out[r] |= bit('unknown_time');
      continue;
    }
    const it = rows.targets[r];
    const u = rows.users[r];
    const earliest = minU[2 * it] !== u ? minT[2 * it] : minT[2 * it + 1];
    const latest = maxU[2 * it] !== u ? maxT[2 * it] : maxT[2 * it + 1];
    if (latest > time) out[r] |= bit('target_in_future_train');
    if (Number.isFinite(earliest) && earliest > time) out[r] |= bit('target_only_in_future');
  }
}

const cache = new WeakMap<Dataset, Map<string, LeakageFlags>>();

/** The flags of every example of a split (computed once per dataset and split). */
export function leakageFlags(ds: Dataset, split: 'test' | 'valid'): LeakageFlags {
  let byDs = cache.get(ds);
  if (!byDs) cache.set(ds, (byDs = new Map()));
  const hit = byDs.get(split);
  if (hit) return hit;
  const rows = ds.split[split];
  const n = rows.users.length;
  const flags = new Uint8Array(n);
  const narratives = new Uint8Array(n);
  for (let r = 0; r < n; r++) {
    const target = rows.targets[r];
    for (let q = rows.history.offsets[r]; q < rows.history.offsets[r + 1]; q++)
      if (rows.history.ids[q] === target) {
        flags[r] |= bit('repeat_target');
        break;
      }
    const names = itemNamer(ds.items.title.get(target), ds.items.asin.get(target));
    const critique = ds.events.critique.get(rows.events[r]);
    if (critique && names(critique)) flags[r] |= bit('critique_names_target');
    // Narratives describe the user's last purchase: the test target (valid targets are not their subject).
    if (split === 'test')
      for (let j = 0; j < NARRATIVE_KINDS.length; j++) {
        const text = ds.users.narratives[NARRATIVE_KINDS[j]].get(rows.users[r]);
        if (text && names(text)) narratives[r] |= 1 << j;
      }
  }
  sequencesInTrain(ds, rows, flags);
  temporal(ds, rows, flags);
  const out = { flags, narratives };
  byDs.set(split, out);
  return out;
}

/** The counts over examples [start, end) of a split. */
export function leakageCounts(ds: Dataset, split: 'test' | 'valid', start: number, end: number): LeakageCounts {
  const { flags, narratives } = leakageFlags(ds, split);
  const c = emptyLeakage();
  c.examples = end - start;
  for (let r = start; r < end; r++) {
    const f = flags[r];
    if (f) LEAK_FLAGS.forEach((name, i) => (c[name] += (f >> i) & 1));
    const m = narratives[r];
    if (m) NARRATIVE_KINDS.forEach((kind, j) => (c.narrative_names_target[kind] += (m >> j) & 1));
  }
  return c;
}

/** Examples (user ids) of each flag, the first few: what `data audit` shows. */
export function leakageSamples(ds: Dataset, split: 'test' | 'valid', count = 3): Record<string, string[]> {
  const { flags, narratives } = leakageFlags(ds, split);
  const rows = ds.split[split];
  const out: Record<string, string[]> = {};
  const add = (key: string, r: number) => {
    const list = (out[key] ??= []);
    if (list.length < count) list.push(ds.users.reviewerId.get(rows.users[r]) ?? String(rows.users[r]));
  };
  for (let r = 0; r < flags.length; r++) {
    LEAK_FLAGS.forEach((name, i) => (flags[r] >> i) & 1 && add(name, r));
    NARRATIVE_KINDS.forEach((kind, j) => (narratives[r] >> j) & 1 && add(`narrative_names_target.${kind}`, r));
  }
  return out;
}

export interface AuditReport {
  dataset: { name: string; key: string };
  split: 'test' | 'valid';
  counts: LeakageCounts;
  /** The first few user ids of each finding. */
  samples: Record<string, string[]>;
  seconds: number;
}

/** The audit of a whole split (`regen-bench data audit`). */
export function auditLeakage(ds: Dataset, split: 'test' | 'valid' = 'test'): AuditReport {
  const started = performance.now();
  const counts = leakageCounts(ds, split, 0, ds.split[split].users.length);
  return { dataset: { name: ds.meta.name, key: ds.meta.key }, split, counts, samples: leakageSamples(ds, split), seconds: (performance.now() - started) / 1000 };
}

const WHAT: Record<string, string> = {
  repeat_target: "the target is in the user's own history (eval counts it as a miss: excluded with the history)",
  critique_names_target: 'the critique steering to the target (shown in tasks 2 and 3) names its title or id',
  sequence_in_train: "the sequence (history, then target) is a contiguous run of another user's training sequence",
  sequence_equals_train: "... and is that user's whole training sequence",
  target_in_future_train: "another user's training purchase of the target is later than the target's time",
  target_only_in_future: "every other user's training purchase of the target is later than the target's time",
  unknown_time: 'the target has no time (the temporal checks skip it)',
};

export function formatAudit(a: AuditReport): string {
  const c = a.counts;
  const n = (x: number) => x.toLocaleString('en-US');
  const pct = (x: number) => (c.examples ? `${((100 * x) / c.examples).toFixed(1)}%` : 'n/a');
  const sample = (key: string) => (a.samples[key]?.length ? `  e.g. users ${a.samples[key].join(', ')}` : '');
  const out = [`leakage audit of ${a.dataset.name} (${a.dataset.key.slice(0, 16)}), ${a.split} split: ${n(c.examples)} examples (${a.seconds.toFixed(1)} s)`, ''];
  for (const f of LEAK_FLAGS) out.push(`${f.padEnd(24)} ${n(c[f]).padStart(9)} ${pct(c[f]).padStart(6)}  ${WHAT[f]}${sample(f)}`);
  out.push('', 'narratives naming the target (title or id):');
  for (const k of NARRATIVE_KINDS) {
    const item = ITEM_NARRATIVES.includes(k);
    out.push(
      `  ${NARRATIVE_NAMES[k].padEnd(28)} ${n(c.narrative_names_target[k]).padStart(9)} ${pct(c.narrative_names_target[k]).padStart(6)}  ${item ? 'describes the target by design: a reference, never an input' : 'written over the whole history: a leak if a model reads it'}${sample(`narrative_names_target.${k}`)}`,
    );
  }
  if (a.split !== 'test') out.push('  (narratives describe the last purchase, the test target: not checked on the valid split)');
  return out.join('\n');
}
