// Seeded inputs for checking the engine: random, tied, special-valued, awkwardly sized.
// `regen-bench selftest` and the test suite both draw from here.
import { rng } from '../../util/random.js';
import type { CrossEntropyOptions, SearchOptions } from '../item-table.js';

export interface CaseSpec {
  name: string;
  count: number;
  dim: number;
  rows: number;
  k: number;
  /** Excluded ids per row (0: no exclusion), or 'all' to exclude every item from every row. */
  exclude?: number | 'all';
  targets?: boolean;
  bias?: boolean;
  /**
   * 'float': uniform in [-1, 1); 'ints': integers in [-3, 3] and 'bits': 0 or 1, so float32
   * arithmetic is exact and ties abound ('bits': nearly every score ties with many others);
   * 'large': uniform in [-1e15, 1e15), so scores reach 1e30 (float32 holds 3.4e38).
   */
  values?: 'float' | 'ints' | 'bits' | 'large';
  /** Plant +-Infinity and NaN in the data (with 'ints'). */
  special?: boolean;
}

export interface Case {
  spec: CaseSpec;
  items: Float32Array;
  queries: Float32Array;
  options: SearchOptions;
  /** Whether float32 results must equal the float64 reference exactly. */
  exact: boolean;
}

export function makeCase(spec: CaseSpec, seed: number): Case {
  const r = rng(seed);
  const ints = spec.values === 'ints' || spec.values === 'bits';
  const value =
    spec.values === 'bits'
      ? () => (r() < 0.5 ? 0 : 1)
      : ints
        ? () => Math.floor(r() * 7) - 3
        : spec.values === 'large'
          ? () => (r() * 2 - 1) * 1e15
          : () => r() * 2 - 1;
  const items = Float32Array.from({ length: spec.count * spec.dim }, value);
  const queries = Float32Array.from({ length: spec.rows * spec.dim }, value);
  const options: SearchOptions = { k: spec.k };
  if (spec.bias) options.bias = Float32Array.from({ length: spec.count }, ints ? () => Math.floor(r() * 5) - 2 : () => r() - 0.5);
  if (spec.special) {
    // An item of all +Infinity, one NaN item value, a query of -Infinity entries, a NaN bias.
    const inf = Math.floor(r() * spec.count);
    items.fill(Infinity, inf * spec.dim, inf * spec.dim + 1);
    items[Math.floor(r() * items.length)] = NaN;
    if (spec.rows > 1) queries.fill(-Infinity, spec.dim, spec.dim + 1);
    if (options.bias) options.bias[Math.floor(r() * spec.count)] = -Infinity;
    if (options.bias && spec.count > 2) options.bias[Math.floor(r() * spec.count)] = NaN;
  }
  if (spec.exclude) {
    const offsets = new Int32Array(spec.rows + 1);
    const ids: number[] = [];
    for (let b = 0; b < spec.rows; b++) {
      if (spec.exclude === 'all') for (let n = 0; n < spec.count; n++) ids.push(n);
      else for (let j = 0; j < spec.exclude; j++) ids.push(Math.floor(r() * spec.count)); // duplicates allowed
      offsets[b + 1] = ids.length;
    }
    options.exclude = { offsets, ids: Int32Array.from(ids) };
  }
  if (spec.targets) {
    options.targets = Int32Array.from({ length: spec.rows }, (_, b) => {
      if (b % 7 === 3) return -1; // some rows without a target
      if (b % 5 === 2 && options.exclude && options.exclude.offsets[b + 1] > options.exclude.offsets[b])
        return options.exclude.ids[options.exclude.offsets[b]]; // an excluded target
      return Math.floor(r() * spec.count);
    });
  }
  return { spec, items, queries, options, exact: ints };
}

/** Inputs with sizes chosen to hit every tiling edge: below, at and past tile and block sizes. */
export const CHECK_CASES: CaseSpec[] = [
  { name: 'random, exclusions, targets, bias', count: 1000, dim: 64, rows: 40, k: 10, exclude: 50, targets: true, bias: true },
  { name: 'one item', count: 1, dim: 8, rows: 3, k: 1, targets: true },
  { name: 'k > items', count: 5, dim: 3, rows: 4, k: 9, exclude: 2, targets: true },
  { name: 'dim 1', count: 777, dim: 1, rows: 17, k: 5, targets: true },
  { name: 'dim 257, items not a multiple of any tile', count: 1037, dim: 257, rows: 33, k: 12, exclude: 20, targets: true },
  { name: 'one query row', count: 2003, dim: 31, rows: 1, k: 25, exclude: 10, targets: true, bias: true },
  { name: 'many ties (small integers)', count: 901, dim: 5, rows: 50, k: 20, exclude: 30, targets: true, bias: true, values: 'ints' },
  { name: 'nearly all scores tied (0/1 values)', count: 3001, dim: 2, rows: 35, k: 40, exclude: 30, targets: true, values: 'bits' },
  // k <= 16 keeps top-k in sorted lists on AVX-512 (k > 16 in heaps): ties at the list's width and inside it.
  { name: 'many ties, k = 16', count: 901, dim: 5, rows: 50, k: 16, exclude: 30, targets: true, bias: true, values: 'ints' },
  { name: 'nearly all scores tied, k = 11', count: 3001, dim: 2, rows: 35, k: 11, exclude: 30, targets: true, values: 'bits' },
  { name: 'infinities and NaN', count: 300, dim: 4, rows: 21, k: 8, exclude: 5, targets: true, bias: true, values: 'ints', special: true },
  { name: 'every item excluded', count: 40, dim: 6, rows: 9, k: 3, exclude: 'all', targets: true },
  // Scores near 1e30: the log-sum-exp must stay finite (an fma of score x log2(e) - max overflowed exp2 on the GPU).
  { name: 'large scores (near 1e30)', count: 1000, dim: 16, rows: 40, k: 10, exclude: 10, targets: true, bias: true, values: 'large' },
  { name: 'spans several units and threads', count: 20000, dim: 8, rows: 18, k: 30, exclude: 40, targets: true, values: 'ints' },
  // 5 to 8 rows (4 to 8 in bf16) score two items per AVX-512 vector, with code for d = 64 and
  // other common sizes: an odd item count leaves the table's last item alone in its pair.
  { name: 'a few rows, two items per vector, d = 64, odd item count', count: 2001, dim: 64, rows: 7, k: 10, exclude: 25, targets: true, bias: true },
  { name: 'a few rows, infinities and NaN', count: 301, dim: 32, rows: 6, k: 8, exclude: 5, targets: true, bias: true, values: 'ints', special: true },
  // The bf16 row-block kernels have code for d = 32, 64, 128 and 256 (the item rows at constant
  // offsets), one block of 16 rows or blocks of 32.
  { name: 'd = 32, two row blocks', count: 1999, dim: 32, rows: 37, k: 10, exclude: 15, targets: true, bias: true },
  { name: 'd = 128, one block of 16 rows', count: 2003, dim: 128, rows: 13, k: 10, exclude: 15, targets: true },
  { name: 'd = 256, 16 rows', count: 1001, dim: 256, rows: 16, k: 10, exclude: 15, targets: true, bias: true },
];

/**
 * Sizes that matter to the CUDA backend (64-row blocks, 128-item tiles, item splits, 65,536-row
 * chunks, k up to 256, exclusion lists sorted on the device up to 256 ids): more rows than one
 * block, many splits, the largest k, long exclusion lists, several chunks.
 */
export const GPU_CHECK_CASES: CaseSpec[] = [
  { name: 'rows over several blocks, many splits', count: 50021, dim: 40, rows: 131, k: 100, exclude: 60, targets: true, bias: true },
  { name: 'largest GPU k', count: 3000, dim: 16, rows: 70, k: 256, exclude: 10, targets: true, values: 'ints' },
  { name: 'k > items, one tile', count: 100, dim: 33, rows: 65, k: 200, exclude: 3, targets: true },
  { name: 'long unsorted exclusion lists (sorted on the host)', count: 5000, dim: 16, rows: 70, k: 20, exclude: 400, targets: true, bias: true },
  { name: 'rows over several chunks', count: 300, dim: 8, rows: 70001, k: 5, exclude: 4, targets: true, bias: true },
];

/** Inputs for checking ItemTable.crossEntropy (the test suite and `regen-bench selftest --gpu`). */
export interface XentCaseSpec {
  name: string;
  count: number;
  dim: number;
  rows: number;
  /** Excluded ids per row; 'allButOne': every item but item 0; 'all': every item. */
  exclude?: number | 'allButOne' | 'all';
  bias?: boolean;
  /** Row weights in [-0.5, 2) with some zeros. */
  weights?: boolean;
  /** Every 7th row ignored (target -1). */
  ignored?: boolean;
  /** Targets drawn from 3 items only, so rows share targets. */
  repeated?: boolean;
  /** Every 5th row's target is one of its excluded items (loss +Infinity). */
  excludedTargets?: boolean;
  /** 'float': uniform in [-1, 1); 'ints': integers in [-3, 3]; 'large': scores near +-1e30. */
  values?: 'float' | 'ints' | 'large';
  /** Plant a NaN in one item and an Infinity in another (as search()'s special case). */
  special?: boolean;
}

export interface XentCase {
  spec: XentCaseSpec;
  items: Float32Array;
  queries: Float32Array;
  targets: Int32Array;
  options: CrossEntropyOptions;
}

export function makeXentCase(spec: XentCaseSpec, seed: number): XentCase {
  const r = rng(seed);
  // 'large': items and queries of magnitude ~1e15, so scores reach ~1e30 (float32 holds 3.4e38).
  const value =
    spec.values === 'ints' ? () => Math.floor(r() * 7) - 3 : spec.values === 'large' ? () => (r() * 2 - 1) * 1e15 : () => r() * 2 - 1;
  const items = Float32Array.from({ length: spec.count * spec.dim }, value);
  const queries = Float32Array.from({ length: spec.rows * spec.dim }, value);
  const options: CrossEntropyOptions = {};
  if (spec.bias) options.bias = Float32Array.from({ length: spec.count }, () => r() - 0.5);
  if (spec.weights) options.rowWeights = Float32Array.from({ length: spec.rows }, (_, b) => (b % 6 === 4 ? 0 : r() * 2.5 - 0.5));
  if (spec.special) {
    items[Math.floor(r() * spec.count) * spec.dim] = NaN;
    items[Math.floor(r() * spec.count) * spec.dim + spec.dim - 1] = Infinity;
  }
  const excludedOf: number[][] = [];
  if (spec.exclude) {
    const offsets = new Int32Array(spec.rows + 1);
    const ids: number[] = [];
    for (let b = 0; b < spec.rows; b++) {
      const row: number[] = [];
      if (spec.exclude === 'all' || spec.exclude === 'allButOne') for (let n = spec.exclude === 'all' ? 0 : 1; n < spec.count; n++) row.push(n);
      else for (let j = 0; j < spec.exclude; j++) row.push(Math.floor(r() * spec.count)); // duplicates allowed
      // Long rows in a shuffled order: the engine sorts them.
      for (let i = row.length - 1; i > 0; i--) {
        const j = Math.floor(r() * (i + 1));
        [row[i], row[j]] = [row[j], row[i]];
      }
      excludedOf.push(row);
      ids.push(...row);
      offsets[b + 1] = ids.length;
    }
    options.exclude = { offsets, ids: Int32Array.from(ids) };
  }
  const pool = spec.repeated ? [0, 1, 2].map(() => Math.floor(r() * spec.count)) : null;
  const targets = Int32Array.from({ length: spec.rows }, (_, b) => {
    if (spec.ignored && b % 7 === 3) return -1;
    if (spec.excludedTargets && b % 5 === 2 && excludedOf[b]?.length) return excludedOf[b][0];
    return pool ? pool[Math.floor(r() * pool.length)] : Math.floor(r() * spec.count);
  });
  return { spec, items, queries, targets, options };
}

/** Sizes and special rows for crossEntropy: tile and block edges, ignored, weighted, excluded. */
export const XENT_CHECK_CASES: XentCaseSpec[] = [
  { name: 'random, exclusions, bias, weights, ignored rows', count: 1000, dim: 64, rows: 40, exclude: 30, bias: true, weights: true, ignored: true },
  { name: 'one item (N = 1)', count: 1, dim: 8, rows: 3 },
  { name: 'dim 257, N not a multiple of any tile', count: 1037, dim: 257, rows: 33, exclude: 20, bias: true },
  { name: 'dim 1', count: 777, dim: 1, rows: 17, ignored: true },
  { name: 'one query row (B = 1)', count: 2003, dim: 31, rows: 1, exclude: 10, bias: true },
  { name: 'repeated targets', count: 500, dim: 16, rows: 45, repeated: true, weights: true },
  { name: 'excluded targets (loss +Infinity)', count: 600, dim: 12, rows: 30, exclude: 8, excludedTargets: true, ignored: true },
  { name: 'every item but one excluded', count: 50, dim: 6, rows: 12, exclude: 'allButOne', bias: true },
  { name: 'every item excluded', count: 40, dim: 6, rows: 9, exclude: 'all', ignored: true },
  { name: 'large logits (scores near 1e30)', count: 300, dim: 8, rows: 20, values: 'large' },
  { name: 'small integers (ties)', count: 901, dim: 5, rows: 50, exclude: 30, bias: true, values: 'ints', weights: true },
  { name: 'NaN and Infinity in items', count: 300, dim: 4, rows: 21, exclude: 5, values: 'ints', special: true },
  { name: 'spans many units and threads', count: 20000, dim: 8, rows: 50, exclude: 40, bias: true, ignored: true },
];
