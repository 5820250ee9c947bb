// A plain float64 implementation of ItemTable.search, the yardstick the native kernels are
// checked against (tests and `regen-bench selftest`). Same semantics, no speed.
import type { SearchOptions } from '../item-table.js';

export interface ReferenceResult {
  ids: Int32Array;
  scores: Float64Array;
  logZ: Float64Array;
  targetRank: Int32Array;
  targetLogProb: Float64Array;
}

/**
 * Rounds every value to bfloat16 (round to nearest even, NaN kept), as a 'bf16' table does to its
 * items and queries: the reference for a bf16 search is the float64 search of the rounded inputs.
 */
export function roundToBf16(values: Float32Array): Float32Array {
  const out = new Float32Array(values);
  const bits = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < bits.length; i++) {
    const u = bits[i];
    if ((u & 0x7fffffff) > 0x7f800000) continue; // NaN
    bits[i] = (((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) << 16) >>> 0;
  }
  return out;
}

/** Row `row`'s score for every item, in float64 (NaN and infinities as IEEE arithmetic gives them). */
export function referenceScores(
  items: Float32Array,
  dim: number,
  queries: Float32Array,
  row: number,
  bias?: Float32Array,
): Float64Array {
  const count = items.length / dim;
  const out = new Float64Array(count);
  const q = queries.subarray(row * dim, (row + 1) * dim);
  for (let n = 0; n < count; n++) {
    let s = 0;
    const base = n * dim;
    for (let j = 0; j < dim; j++) s += q[j] * items[base + j];
    out[n] = bias ? s + bias[n] : s;
  }
  return out;
}

/** True when (sa, ia) ranks before (sb, ib): a higher score, or the same score and a lower id. */
export function ranksBefore(sa: number, ia: number, sb: number, ib: number): boolean {
  return sa > sb || (sa === sb && ia < ib);
}

export function referenceSearch(
  items: Float32Array,
  dim: number,
  queries: Float32Array,
  options: SearchOptions,
): ReferenceResult {
  const rows = queries.length / dim;
  const k = options.k;
  const out: ReferenceResult = {
    ids: new Int32Array(rows * k).fill(-1),
    scores: new Float64Array(rows * k).fill(-Infinity),
    logZ: new Float64Array(rows),
    targetRank: new Int32Array(rows),
    targetLogProb: new Float64Array(rows),
  };
  for (let b = 0; b < rows; b++) {
    const scores = referenceScores(items, dim, queries, b, options.bias);
    const excluded = new Set<number>();
    if (options.exclude) {
      const { offsets, ids } = options.exclude;
      for (let p = offsets[b]; p < offsets[b + 1]; p++) excluded.add(ids[p]);
    }
    const live: number[] = [];
    let nan = false;
    let max = -Infinity;
    for (let n = 0; n < scores.length; n++) {
      if (excluded.has(n)) continue;
      if (Number.isNaN(scores[n])) {
        nan = true;
        continue;
      }
      live.push(n);
      if (scores[n] > max) max = scores[n];
    }

    live.sort((x, y) => (ranksBefore(scores[x], x, scores[y], y) ? -1 : 1));
    for (let j = 0; j < Math.min(k, live.length); j++) {
      out.ids[b * k + j] = live[j];
      out.scores[b * k + j] = scores[live[j]];
    }

    let logZ: number;
    if (nan) logZ = NaN;
    else if (max === Infinity) logZ = Infinity;
    else if (max === -Infinity) logZ = -Infinity;
    else {
      let sum = 0;
      for (const n of live) sum += Math.exp(scores[n] - max);
      logZ = max + Math.log(sum);
    }
    out.logZ[b] = logZ;

    const t = options.targets ? options.targets[b] : -1;
    if (t < 0) {
      out.targetRank[b] = -1;
      out.targetLogProb[b] = NaN;
    } else if (excluded.has(t)) {
      out.targetRank[b] = -1;
      out.targetLogProb[b] = -Infinity;
    } else {
      const ts = scores[t];
      let rank = 0;
      // A NaN target is beaten by every non-NaN item; a NaN item never beats the target.
      for (const n of live) if (Number.isNaN(ts) || ranksBefore(scores[n], n, ts, t)) rank++;
      out.targetRank[b] = rank;
      out.targetLogProb[b] = ts - logZ;
    }
  }
  return out;
}

export interface ReferenceCrossEntropy {
  /** Per row: logZ - score(target); 0 for ignored rows, +Infinity for an excluded target. */
  loss: Float64Array;
  /** rows x dim. */
  gradQueries: Float64Array;
  /** count x dim (not accumulated: the gradient alone). */
  gradItems: Float64Array;
  /** count. */
  gradBias: Float64Array;
  /** Per row: G_b = w_b (p_b - onehot(target_b)) for the rows that contribute a gradient, else null. */
  g: (Float64Array | null)[];
  logZ: Float64Array;
}

/**
 * ItemTable.crossEntropy in plain float64 (any numeric arrays, so a finite-difference check can
 * perturb the inputs): loss_b = logZ_b - s_b,t over the non-excluded items, and the gradients of
 * sum_b w_b loss_b. Rows with target -1, weight 0 or loss +Infinity contribute no gradient; a NaN
 * loss makes G_b NaN for every item the row does not exclude. The products G E and G^T Q are
 * taken over every item and every contributing row, in IEEE arithmetic (0 x Infinity = NaN), as
 * the native kernels do.
 */
export function referenceCrossEntropy(
  items: ArrayLike<number>,
  dim: number,
  queries: ArrayLike<number>,
  targets: ArrayLike<number>,
  options: { exclude?: { offsets: ArrayLike<number>; ids: ArrayLike<number> }; bias?: ArrayLike<number>; rowWeights?: ArrayLike<number> } = {},
): ReferenceCrossEntropy {
  const rows = queries.length / dim;
  const count = items.length / dim;
  const out: ReferenceCrossEntropy = {
    loss: new Float64Array(rows),
    gradQueries: new Float64Array(rows * dim),
    gradItems: new Float64Array(count * dim),
    gradBias: new Float64Array(count),
    g: [],
    logZ: new Float64Array(rows),
  };
  const scores = new Float64Array(count);
  for (let b = 0; b < rows; b++) {
    out.g.push(null);
    const t = targets[b];
    if (t < 0) continue;
    for (let n = 0; n < count; n++) {
      let s = 0;
      for (let j = 0; j < dim; j++) s += queries[b * dim + j] * items[n * dim + j];
      scores[n] = options.bias ? s + options.bias[n] : s;
    }
    const excluded = new Set<number>();
    if (options.exclude)
      for (let p = options.exclude.offsets[b]; p < options.exclude.offsets[b + 1]; p++) excluded.add(options.exclude.ids[p]);
    let nan = false;
    let max = -Infinity;
    for (let n = 0; n < count; n++) {
      if (excluded.has(n)) continue;
      if (Number.isNaN(scores[n])) nan = true;
      else if (scores[n] > max) max = scores[n];
    }
    let logZ: number;
    if (nan) logZ = NaN;
    else if (max === Infinity) logZ = Infinity;
    else if (max === -Infinity) logZ = -Infinity;
    else {
      let sum = 0;
      for (let n = 0; n < count; n++) if (!excluded.has(n)) sum += Math.exp(scores[n] - max);
      logZ = max + Math.log(sum);
    }
    out.logZ[b] = logZ;
    const loss = excluded.has(t) ? Infinity : logZ - scores[t];
    out.loss[b] = loss;
    const w = options.rowWeights ? options.rowWeights[b] : 1;
    if (w === 0 || loss === Infinity) continue;
    const g = new Float64Array(count);
    for (let n = 0; n < count; n++) {
      if (excluded.has(n)) continue;
      g[n] = Number.isNaN(loss) ? NaN : w * (Math.exp(scores[n] - logZ) - (n === t ? 1 : 0));
    }
    out.g[b] = g;
    for (let n = 0; n < count; n++) {
      out.gradBias[n] += g[n];
      for (let j = 0; j < dim; j++) {
        out.gradQueries[b * dim + j] += g[n] * items[n * dim + j];
        out.gradItems[n * dim + j] += g[n] * queries[b * dim + j];
      }
    }
  }
  return out;
}
