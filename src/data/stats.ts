// Dataset statistics: the paper's Table 4 row (users, items, items per user) and critique coverage,
// plus what a researcher checks before trusting a split (lengths, repeats, narrative coverage).
import { NARRATIVE_KINDS, type Dataset, type NarrativeKind } from './dataset.js';

export interface DatasetStats {
  name: string;
  key: string;
  users: number;
  /** Distinct items that occur in the sequences (Table 4's "items"). */
  items: number;
  /** Items in the vocabulary (can exceed `items` when the source lists items nobody bought). */
  vocabulary: number;
  events: number;
  itemsPerUser: number;
  length: { min: number; median: number; max: number };
  /** Adjacent purchase pairs (events - users). */
  pairs: number;
  /** Pairs sharing at least four category levels (where REGEN puts critiques). */
  critiqueSlots: number;
  /** Pairs with a critique text. */
  critiques: number;
  /** Critiques on pairs that share fewer than four levels (or whose items lack a category). */
  critiquesOutsideSlots: number;
  /** Purchases of an item the user bought before. */
  repeats: number;
  /** Test targets that are also in the user's history (excluding the history hides them). */
  testTargetsInHistory: number;
  split: { trainEvents: number; validRows: number; testRows: number };
  narratives: Record<NarrativeKind, number>;
  itemsWithTitle: number;
  itemsWithCategory: number;
  eventsWithRating: number;
  eventsWithTime: number;
}

export function datasetStats(ds: Dataset): DatasetStats {
  const { users, events, items } = ds;
  const seen = new Uint8Array(items.count);
  let distinct = 0;
  for (let e = 0; e < events.count; e++)
    if (!seen[events.item[e]]) {
      seen[events.item[e]] = 1;
      distinct++;
    }
  const lengths = new Int32Array(users.count);
  for (let u = 0; u < users.count; u++) lengths[u] = users.offsets[u + 1] - users.offsets[u];
  const sorted = lengths.slice().sort();

  let slots = 0;
  let critiques = 0;
  let outside = 0;
  for (let e = 0; e < events.count; e++) {
    if (events.critiqueSlot[e]) slots++;
    if (!events.critique.isNull(e)) {
      critiques++;
      if (!events.critiqueSlot[e]) outside++;
    }
  }
  // Repeats: an item seen earlier in the same user (a per-user stamp array avoids clearing a set).
  const stamp = new Int32Array(items.count).fill(-1);
  let repeats = 0;
  for (let u = 0; u < users.count; u++)
    for (let e = users.offsets[u]; e < users.offsets[u + 1]; e++) {
      const it = events.item[e];
      if (stamp[it] === u) repeats++;
      stamp[it] = u;
    }
  const split = ds.split;
  let inHistory = 0;
  for (let r = 0; r < split.test.targets.length; r++) {
    const h = split.test.history;
    for (let k = h.offsets[r]; k < h.offsets[r + 1]; k++)
      if (h.ids[k] === split.test.targets[r]) {
        inHistory++;
        break;
      }
  }
  const narratives = {} as Record<NarrativeKind, number>;
  for (const kind of NARRATIVE_KINDS) {
    let n = 0;
    for (let u = 0; u < users.count; u++) if (!users.narratives[kind].isNull(u)) n++;
    narratives[kind] = n;
  }
  let withTitle = 0;
  let withCategory = 0;
  for (let i = 0; i < items.count; i++) {
    if (!items.title.isNull(i)) withTitle++;
    if (items.category[i] >= 0) withCategory++;
  }
  let rated = 0;
  let timed = 0;
  for (let e = 0; e < events.count; e++) {
    if (events.rating[e] > 0) rated++;
    if (!Number.isNaN(events.time[e])) timed++;
  }
  return {
    name: ds.meta.name,
    key: ds.meta.key,
    users: users.count,
    items: distinct,
    vocabulary: items.count,
    events: events.count,
    itemsPerUser: users.count ? events.count / users.count : 0,
    length: { min: sorted[0] ?? 0, median: sorted[sorted.length >> 1] ?? 0, max: sorted[sorted.length - 1] ?? 0 },
    pairs: events.count - users.count,
    critiqueSlots: slots,
    critiques,
    critiquesOutsideSlots: outside,
    repeats,
    testTargetsInHistory: inHistory,
    split: { trainEvents: split.train.ids.length, validRows: split.valid.targets.length, testRows: split.test.targets.length },
    narratives,
    itemsWithTitle: withTitle,
    itemsWithCategory: withCategory,
    eventsWithRating: rated,
    eventsWithTime: timed,
  };
}

const n = (x: number) => x.toLocaleString('en-US');
const pct = (a: number, b: number) => (b ? `${((100 * a) / b).toFixed(1)}%` : '-');

export function formatStats(s: DatasetStats): string {
  const row = [s.name, n(s.users), n(s.items), s.itemsPerUser.toFixed(2)];
  const widths = [Math.max(7, s.name.length), 11, 9, 10];
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const out = [
    line(['dataset', 'users', 'items', 'items/user']),
    line(row),
    '',
    `critique coverage: ${pct(s.critiques, s.pairs)} of ${n(s.pairs)} adjacent pairs have a critique (${n(s.critiques)}); ` +
      `${pct(s.critiqueSlots, s.pairs)} share >= 4 category levels (${n(s.critiqueSlots)} slots)` +
      (s.critiquesOutsideSlots ? `; ${n(s.critiquesOutsideSlots)} critiques sit outside a slot` : ''),
    `narratives: ${Object.entries(s.narratives)
      .map(([k, v]) => `${k} ${pct(v, s.users)}`)
      .join(', ')}`,
    `sequence length: min ${s.length.min}, median ${s.length.median}, max ${s.length.max}; repeated purchases ${pct(s.repeats, s.events)}`,
    `leave-one-out: ${n(s.split.trainEvents)} train purchases, ${n(s.split.validRows)} valid rows, ${n(s.split.testRows)} test rows ` +
      `(${pct(s.testTargetsInHistory, s.split.testRows)} of test targets also appear in their history)`,
    `items: ${pct(s.itemsWithTitle, s.vocabulary)} with a title, ${pct(s.itemsWithCategory, s.vocabulary)} with a category` +
      (s.vocabulary !== s.items ? `; vocabulary ${n(s.vocabulary)} (${n(s.vocabulary - s.items)} never bought)` : '') +
      `; purchases: ${pct(s.eventsWithRating, s.events)} rated, ${pct(s.eventsWithTime, s.events)} timed`,
    `dataset key: ${s.key.slice(0, 16)}`,
  ];
  return out.join('\n');
}
