// The synthetic REGEN generator. Users are independent given the seed (user u draws from its own random
// stream), so the output is the same bytes for the same seed whatever the machine, and a long run can
// resume at the last user it flushed. Sizes are exact: the presets' users, items and items per user
// are Table 4's (every catalogue item is bought at least once: user u < items starts with item u of a
// shuffled catalogue).
//
// Sequences: each user has a few product types of interest. A transition stays inside the previous
// item's product type (sharing >= 4 category levels) with the preset's critique share (17.6% Office,
// 18.6% Clothing) and then carries a critique naming what distinguishes the next item (another color,
// size, point, brand, sub-type, feature, price band, or the same item again); otherwise it moves to
// another product type (< 4 shared levels) and carries the sentinel.
import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';

import type { ProgressFn } from '../../util/progress.js';
import { REGEN_CATEGORY_SEPARATOR } from '../regen.js';
import { REGEN_SCHEMA_DEFAULTS } from '../regen-schema.js';
import { writeFileAtomic } from '../../util/files.js';
import { Catalogue, mix, Rand, synthReviewerId, MAX_DIMS, NONE } from './catalogue.js';
import { critiqueText, drawRating, narratives, review, type ChangeKind, type Transition } from './text.js';
import { CLOTHING, OFFICE } from './vocab.js';

/** Bumped when the output for a given seed changes. */
export const SYNTH_VERSION = 2;

export interface SynthConfig {
  preset: string;
  domain: 'office' | 'clothing';
  users: number;
  items: number;
  itemsPerUser: number;
  /** Share of adjacent pairs inside one product type (and so critiqued). */
  critiqueShare: number;
  minLength: number;
  seed: number;
}

export const PRESETS = {
  demo: { domain: 'office', users: 3000, items: 1500, itemsPerUser: 7.86, critiqueShare: 0.176, minLength: 5 },
  office: { domain: 'office', users: 89_489, items: 27_887, itemsPerUser: 7.86, critiqueShare: 0.176, minLength: 5 },
  clothing: { domain: 'clothing', users: 1_168_735, items: 376_847, itemsPerUser: 9.21, critiqueShare: 0.186, minLength: 5 },
} as const satisfies Record<string, Omit<SynthConfig, 'preset' | 'seed'>>;

export type PresetName = keyof typeof PRESETS;

export function synthConfig(preset: PresetName, seed: number, overrides: Partial<Omit<SynthConfig, 'preset' | 'seed'>> = {}): SynthConfig {
  const p = PRESETS[preset];
  if (!p) throw new RangeError(`Expected a preset among ${Object.keys(PRESETS).join(', ')} but received ${JSON.stringify(preset)}`);
  return { preset, seed, ...p, ...overrides };
}

/**
 * A preset scaled down (or up) by `scale`: users and items multiplied, items per user and critique
 * share kept. For quick runs of commands written for a full preset (the README test sets
 * REGEN_BENCH_SYNTH_SCALE); the sizes are in the config, so resumes and dataset keys tell them apart.
 */
export function scaledSynthConfig(preset: PresetName, seed: number, scale: number): SynthConfig {
  if (!(scale > 0) || !Number.isFinite(scale)) throw new RangeError(`Expected a scale > 0 but received ${scale}`);
  const p = PRESETS[preset];
  if (!p) throw new RangeError(`Expected a preset among ${Object.keys(PRESETS).join(', ')} but received ${JSON.stringify(preset)}`);
  if (scale === 1) return synthConfig(preset, seed);
  return synthConfig(preset, seed, { users: Math.max(10, Math.round(p.users * scale)), items: Math.max(10, Math.round(p.items * scale)) });
}

/** The sentinel written where a pair has no critique (the schema map's first default). */
export const SYNTH_SENTINEL = REGEN_SCHEMA_DEFAULTS.critiqueSentinels[0];

/** Sequence lengths summing exactly to round(users x itemsPerUser), each >= minLength. */
export function sequenceLengths(cfg: SynthConfig): Int32Array {
  const r = new Rand(mix(cfg.seed, 0x1e9));
  const total = Math.round(cfg.users * cfg.itemsPerUser);
  if (total < cfg.users * cfg.minLength)
    throw new RangeError(`itemsPerUser ${cfg.itemsPerUser} is below the minimum length ${cfg.minLength}`);
  const extraMean = cfg.itemsPerUser - cfg.minLength;
  const lengths = new Int32Array(cfg.users);
  let sum = 0;
  for (let u = 0; u < cfg.users; u++) {
    // A geometric tail (most users near the minimum, a few long histories), capped.
    const mean = r.chance(0.85) ? extraMean * 0.6 : extraMean * 3.27;
    const p = 1 / (1 + mean);
    const extra = Math.min(200, Math.floor(Math.log(1 - r.next()) / Math.log(1 - p)));
    lengths[u] = cfg.minLength + extra;
    sum += lengths[u];
  }
  // Exact total: add or remove single purchases at random users.
  while (sum !== total) {
    const u = r.int(cfg.users);
    if (sum < total) {
      lengths[u]++;
      sum++;
    } else if (lengths[u] > cfg.minLength) {
      lengths[u]--;
      sum--;
    }
  }
  return lengths;
}

/** One REGEN user record, as in the release (purchase_history without the last purchase). */
export interface RegenRecord {
  reviewer_id: string;
  purchase_history: Record<string, unknown>[];
  user: Record<string, unknown>;
  last_purchase: Record<string, unknown>;
}

const DAY = 86_400;
const T_START = Date.UTC(2010, 0, 1) / 1000;
const T_END = Date.UTC(2018, 9, 1) / 1000;

export class SyntheticGenerator {
  readonly catalogue: Catalogue;
  readonly lengths: Int32Array;
  /** Shuffled catalogue order: user u < items starts with firstItems[u]. */
  private readonly firstItems: Int32Array;

  constructor(readonly config: SynthConfig) {
    if (config.users < 1 || config.items < 1) throw new RangeError('a synthetic dataset needs at least one user and one item');
    if (config.users < config.items) throw new RangeError(`users (${config.users}) must be at least items (${config.items}) so that every item is bought`);
    this.catalogue = new Catalogue(config.domain === 'office' ? OFFICE : CLOTHING, config.items, config.seed);
    this.lengths = sequenceLengths(config);
    const r = new Rand(mix(config.seed, 0xf1));
    this.firstItems = Int32Array.from(r.shuffle(Array.from({ length: config.items }, (_, i) => i)));
  }

  get totalEvents(): number {
    return this.lengths.reduce((a, b) => a + b, 0);
  }

  /** A similar next item (same product type) and what the critique says. */
  private similar(r: Rand, prev: number): { item: number; t: Transition } {
    const cat = this.catalogue;
    const T = cat.types[cat.type[prev]];
    const [fs, fe] = cat.familyItems(prev);
    const kinds: [ChangeKind, number][] = [
      ['variant', fe - fs > 1 ? 0.45 : 0],
      ['brand', 0.14],
      ['leaf', T.leaves.length > 1 ? 0.1 : 0],
      ['feature', T.features.length > 1 ? 0.08 : 0],
      ['cheaper', 0.08],
      ['premium', 0.05],
      ['repeat', 0.06],
    ];
    for (let attempt = 0; attempt < 4; attempt++) {
      let x = r.next() * kinds.reduce((a, k) => a + k[1], 0);
      let kind: ChangeKind = 'repeat';
      for (const [k, w] of kinds) if ((x -= w) < 0) {
        kind = k;
        break;
      }
      if (kind === 'repeat') {
        const noun = cat.noun(prev);
        return { item: prev, t: { kind, newValue: noun, oldValue: noun } };
      }
      if (kind === 'variant') {
        // Another variant of the same family, differing in one dim (the critique names its new value).
        const dimsUsed = T.dims.slice(0, MAX_DIMS).map((_, k) => k).filter((k) => cat.dimValueOf(prev, k) !== NONE);
        const k = dimsUsed[r.int(dimsUsed.length)];
        const cands: number[] = [];
        for (let i = fs; i < fe; i++) if (cat.dimValueOf(i, k) !== cat.dimValueOf(prev, k)) cands.push(i);
        if (cands.length === 0) continue;
        const exact = cands.filter((i) => dimsUsed.every((j) => j === k || cat.dimValueOf(i, j) === cat.dimValueOf(prev, j)));
        const item = r.pick(exact.length ? exact : cands);
        return {
          item,
          t: { kind, dim: T.dims[k], newValue: cat.dimText(item, k)!, oldValue: cat.dimText(prev, k)!, newIndex: cat.dimValueOf(item, k), oldIndex: cat.dimValueOf(prev, k) },
        };
      }
      // Other kinds: draw items of the type by popularity until one differs in the right way.
      for (let tries = 0; tries < 40; tries++) {
        const item = cat.sampleFromType(r, cat.type[prev]);
        if (item === prev) continue;
        switch (kind) {
          case 'brand':
            if (cat.brand[item] !== cat.brand[prev]) return { item, t: { kind, newValue: cat.brandText(item), oldValue: cat.brandText(prev) } };
            break;
          case 'leaf':
            if (cat.leaf[item] !== cat.leaf[prev]) return { item, t: { kind, newValue: cat.noun(item), oldValue: cat.noun(prev) } };
            break;
          case 'feature':
            if (cat.feature[item] !== cat.feature[prev]) return { item, t: { kind, newValue: cat.featureText(item), oldValue: cat.featureText(prev) } };
            break;
          case 'cheaper':
            if (cat.price[item] <= cat.price[prev] * 0.75)
              return { item, t: { kind, newValue: `$${Math.ceil(cat.price[item] + 0.01)}`, oldValue: `$${cat.price[prev].toFixed(2)}` } };
            break;
          case 'premium':
            if (cat.price[item] >= cat.price[prev] * 1.33)
              return { item, t: { kind, newValue: `$${Math.round(cat.price[item])}`, oldValue: `$${cat.price[prev].toFixed(2)}` } };
            break;
        }
      }
    }
    // Nothing of that kind nearby: the same item again (always possible, so the critique share holds).
    return { item: prev, t: { kind: 'repeat', newValue: cat.noun(prev), oldValue: cat.noun(prev) } };
  }

  private itemJson(item: number): Record<string, unknown> {
    const cat = this.catalogue;
    return {
      asin: cat.asin[item],
      title: cat.title[item],
      category: cat.noCategory[item] ? null : cat.categoryPath(item).join(REGEN_CATEGORY_SEPARATOR),
      price: cat.price[item],
    };
  }

  /** User u's record (deterministic in seed and u). */
  user(u: number): RegenRecord {
    const cfg = this.config;
    const cat = this.catalogue;
    const r = new Rand(mix(cfg.seed, 0x5eed0000 + u));
    const L = this.lengths[u];

    // Interests: the first item's type, plus 1-3 more (often from the same department).
    const first = u < cfg.items ? this.firstItems[u] : -1;
    const home = first >= 0 ? cat.type[first] : r.fromCumulative(cat.typeCum);
    const interests = [home];
    const extra = 1 + r.int(3);
    for (let i = 0; i < extra * 3 && interests.length < 1 + extra; i++) {
      const t = r.fromCumulative(cat.typeCum);
      const sameDept = cat.types[t].spec.path[0] === cat.types[home].spec.path[0];
      if (!interests.includes(t) && (sameDept || r.chance(0.4))) interests.push(t);
    }
    const favoriteUse = r.pick(cat.domain.uses);
    const profileWords: [string, string] = [r.pick(cat.domain.profiles[0]), r.pick(cat.domain.profiles[1])];

    const items: number[] = [];
    const transitions: (Transition | null)[] = [];
    const bought = new Set<number>();
    const pick = (t: number) => {
      // Two draws by popularity; keep the one in the user's price comfort (the cheaper) half the time.
      // Items bought before are mostly avoided (repeats happen, but rarely, as in Amazon 5-core data).
      let a = cat.sampleFromType(r, t);
      for (let k = 0; k < 3 && bought.has(a); k++) a = cat.sampleFromType(r, t);
      let b = cat.sampleFromType(r, t);
      for (let k = 0; k < 3 && bought.has(b); k++) b = cat.sampleFromType(r, t);
      const x = r.chance(0.5) ? (cat.price[a] <= cat.price[b] ? a : b) : a;
      bought.add(x);
      return x;
    };
    items.push(first >= 0 ? first : pick(home));
    transitions.push(null);
    for (let k = 1; k < L; k++) {
      const prev = items[k - 1];
      // Divided by the share of pairs whose two items both have a category path (2% of items lack one).
      if (r.chance(cfg.critiqueShare / 0.98 ** 2)) {
        const s = this.similar(r, prev);
        bought.add(s.item);
        items.push(s.item);
        // REGEN writes critiques only where both category paths are known and share 4 levels.
        transitions.push(cat.noCategory[prev] || cat.noCategory[s.item] ? null : s.t);
        continue;
      }
      // Another product type (shares fewer than four levels with the previous item).
      const others = interests.filter((t) => t !== cat.type[prev]);
      let t = others.length ? r.pick(others) : r.fromCumulative(cat.typeCum);
      if (t === cat.type[prev] || r.chance(0.08)) {
        do t = r.fromCumulative(cat.typeCum);
        while (t === cat.type[prev]);
      }
      items.push(pick(t));
      transitions.push(null);
    }

    // Times: a start in 2010-2017, gaps of days to months, all before Oct 2018; day resolution like Amazon's.
    const gaps = items.map(() => Math.floor(-Math.log(1 - r.next()) * 45));
    const span = gaps.reduce((a, b) => a + b, 0) * DAY;
    const start = T_START + r.next() * Math.max(0, T_END - T_START - span);
    const scale = span > T_END - T_START ? (T_END - T_START) / span : 1;
    let time = Math.floor(start / DAY) * DAY;

    const ratings: number[] = [];
    const purchases = items.map((item, k) => {
      if (k > 0) time += Math.floor(gaps[k] * scale) * DAY;
      const rating = drawRating(r, cat.quality[item]);
      ratings.push(rating);
      const rv = review(cat, item, rating, r);
      const t = transitions[k];
      const p: Record<string, unknown> = {
        item: this.itemJson(item),
        review: { summary: rv.summary, rating, text: rv.text, unix_time: time },
        critique: t ? critiqueText(t, cat.noun(items[k - 1]), r) : SYNTH_SENTINEL,
      };
      if (t) p.critique_scores = { quality: 3 + r.int(3), specificity: 2 + r.int(4), relevance: 3 + r.int(3) };
      return p;
    });

    const last = items[L - 1];
    const n = narratives(
      { cat, history: items, ratings, last, prev: L > 1 ? items[L - 2] : null, transition: transitions[L - 1], favoriteUse, profileWords },
      r,
    );
    const score = () => ({ veracity: 3 + r.int(3), personalization: 2 + r.int(4), persuasiveness: 2 + r.int(4) });
    const lastPurchase = purchases[L - 1];
    return {
      reviewer_id: synthReviewerId(cfg.seed, u),
      purchase_history: purchases.slice(0, L - 1),
      user: {
        profile: n.userProfile,
        short_summary: n.userSummaryBrief,
        long_summary: n.userSummaryLong,
        narrative_scores: { profile: score(), short_summary: score(), long_summary: score() },
      },
      last_purchase: {
        ...lastPurchase,
        purchase_reason: n.purchaseReason,
        purchase_reason_explanation: n.purchaseReasonExplanation,
        product_endorsement: n.productEndorsement,
        narrative_scores: { purchase_reason: score(), purchase_reason_explanation: score(), product_endorsement: score() },
      },
    };
  }

  *records(from = 0, to = this.config.users): Generator<RegenRecord> {
    for (let u = from; u < to; u++) yield this.user(u);
  }
}

export interface SynthResult {
  file: string;
  users: number;
  items: number;
  events: number;
  bytes: number;
  /** Users already on disk from an interrupted run. */
  resumedAt: number;
}

/** Where an interrupted run left off (next to the partial file). */
interface PartialState {
  version: number;
  preset: string;
  seed: number;
  config: SynthConfig;
  users: number;
  bytes: number;
}

/**
 * Writes `<outDir>/<preset>.jsonl` (REGEN's layout) in bounded memory: lines are appended to a
 * `.partial` file, flushed with a state file every few thousand users, and renamed when complete.
 * A run that finds the partial file and state of the same preset, seed and generator resumes there.
 */
export async function writeSynthetic(
  cfg: SynthConfig,
  outDir: string,
  opts: { progress?: ProgressFn; resume?: boolean; fileName?: string } = {},
): Promise<SynthResult> {
  mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, opts.fileName ?? `${cfg.preset}.jsonl`);
  const partial = path.join(outDir, `.${path.basename(file)}.partial`);
  const stateFile = `${partial}.json`;
  const gen = new SyntheticGenerator(cfg);

  let startUser = 0;
  let bytes = 0;
  if (opts.resume !== false && existsSync(partial) && existsSync(stateFile)) {
    try {
      const s = JSON.parse(readFileSync(stateFile, 'utf8')) as PartialState;
      if (s.version === SYNTH_VERSION && JSON.stringify(s.config) === JSON.stringify(cfg) && statSync(partial).size >= s.bytes) {
        startUser = s.users;
        bytes = s.bytes;
      }
    } catch {
      // unreadable state: start over
    }
  }
  const fd = openSync(partial, startUser > 0 ? 'r+' : 'w');
  const flushEvery = 2000;
  try {
    ftruncateSync(fd, bytes); // drop anything written after the last recorded state
    let buf = Buffer.allocUnsafe(1 << 22);
    let used = 0;
    const flush = (u: number) => {
      writeSync(fd, buf, 0, used, bytes);
      bytes += used;
      used = 0;
      writeFileAtomic(stateFile, JSON.stringify({ version: SYNTH_VERSION, preset: cfg.preset, seed: cfg.seed, config: cfg, users: u, bytes } satisfies PartialState));
    };
    for (let u = startUser; u < cfg.users; u++) {
      const line = JSON.stringify(gen.user(u)) + '\n';
      const need = Buffer.byteLength(line);
      if (used + need > buf.length) {
        if (used > 0) flush(u);
        if (need > buf.length) buf = Buffer.allocUnsafe(need * 2);
      }
      used += buf.write(line, used);
      if ((u + 1) % flushEvery === 0) {
        flush(u + 1);
        opts.progress?.({ phase: `synthesizing ${cfg.preset}`, done: u + 1, total: cfg.users, unit: 'users' });
        // Let timers and signals run between batches.
        if ((u + 1) % (flushEvery * 10) === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    }
    if (used > 0) flush(cfg.users);
  } finally {
    closeSync(fd);
  }
  renameSync(partial, file);
  rmSync(stateFile, { force: true });
  opts.progress?.({ phase: `synthesizing ${cfg.preset}`, done: cfg.users, total: cfg.users, unit: 'users' });
  return { file, users: cfg.users, items: cfg.items, events: gen.totalEvents, bytes, resumedAt: startUser };
}
