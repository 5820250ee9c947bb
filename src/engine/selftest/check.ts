// Checks a native search result against the float64 reference, allowing only the rounding that
// float32 arithmetic explains. Used by `regen-bench selftest` and the test suite.
import type { CrossEntropyOptions, SearchOptions, SearchResult } from '../item-table.js';
import { ranksBefore, referenceCrossEntropy, referenceScores, referenceSearch } from './reference.js';

const U = 2 ** -24; // float32 unit roundoff

export interface CheckOptions {
  /** Scores must match the reference exactly (inputs chosen so float32 arithmetic is exact). */
  exact?: boolean;
  /** Stop after this many problems (default 20). */
  maxProblems?: number;
}

/**
 * Returns the problems found (empty when the result is right). Per row, the score tolerance is the
 * classic bound for a float32 dot product accumulated in order, (dim + 2) u max_n(sum_j |q_j e_nj| + |bias_n|):
 * a top-k entry may differ from the reference order only where reference scores lie within twice that.
 */
export function checkSearch(
  items: Float32Array,
  dim: number,
  queries: Float32Array,
  options: SearchOptions,
  result: SearchResult,
  check: CheckOptions = {},
): string[] {
  const problems: string[] = [];
  const limit = check.maxProblems ?? 20;
  const report = (msg: string) => {
    if (problems.length < limit) problems.push(msg);
  };
  const rows = queries.length / dim;
  const count = items.length / dim;
  const k = options.k;
  const ref = referenceSearch(items, dim, queries, options);

  for (let b = 0; b < rows && problems.length < limit; b++) {
    const scores = referenceScores(items, dim, queries, b, options.bias);
    let magnitude = 0;
    for (let n = 0; n < count; n++) {
      let m = options.bias ? Math.abs(options.bias[n]) : 0;
      for (let j = 0; j < dim; j++) m += Math.abs(queries[b * dim + j] * items[n * dim + j]);
      if (m > magnitude) magnitude = m;
    }
    const tol = check.exact ? 0 : Number.isFinite(magnitude) ? (dim + 2) * U * magnitude : Infinity;
    const close = (a: number, r: number, t: number) =>
      Object.is(a, r) || a === r || (Number.isNaN(a) && Number.isNaN(r)) || (Number.isFinite(r) && Math.abs(a - r) <= t);
    const excluded = new Set<number>();
    if (options.exclude)
      for (let p = options.exclude.offsets[b]; p < options.exclude.offsets[b + 1]; p++) excluded.add(options.exclude.ids[p]);
    const where = `row ${b}`;

    // Top-k: distinct live ids, padded at the end only, each a valid j-th best up to tolerance,
    // ordered by the engine's own scores with ties broken by the lower id.
    const seen = new Set<number>();
    const expectedFilled = ref.ids.subarray(b * k, (b + 1) * k).filter((id) => id >= 0).length;
    let filled = 0;
    for (let j = 0; j < k; j++) {
      const id = result.ids[b * k + j];
      const s = result.scores[b * k + j];
      if (id === -1) {
        if (s !== -Infinity) report(`${where}: padding at position ${j} has score ${s}, expected -Infinity`);
        continue;
      }
      filled++;
      if (j > 0 && result.ids[b * k + j - 1] === -1) report(`${where}: id ${id} at position ${j} follows padding`);
      if (id < 0 || id >= count) {
        report(`${where}: id ${id} at position ${j} is not an item`);
        continue;
      }
      if (seen.has(id)) report(`${where}: id ${id} appears twice in the top-k`);
      seen.add(id);
      if (excluded.has(id)) report(`${where}: excluded id ${id} is in the top-k`);
      if (Number.isNaN(scores[id])) report(`${where}: id ${id} with a NaN score is in the top-k`);
      if (!close(s, scores[id], tol)) report(`${where}: score of id ${id} is ${s}, reference ${scores[id]} (tolerance ${tol})`);
      const want = ref.scores[b * k + j];
      // Exact inputs leave no rounding to hide behind: ties must go to the lower id, as in the reference.
      if (check.exact && id !== ref.ids[b * k + j]) report(`${where}: position ${j} holds id ${id}, reference id ${ref.ids[b * k + j]} (score ${want})`);
      if (!close(scores[id], want, 2 * tol))
        report(`${where}: position ${j} holds id ${id} (reference score ${scores[id]}), expected a score of ${want} (id ${ref.ids[b * k + j]})`);
      if (j > 0 && result.ids[b * k + j - 1] >= 0) {
        const ps = result.scores[b * k + j - 1];
        const pid = result.ids[b * k + j - 1];
        if (!ranksBefore(ps, pid, s, id)) report(`${where}: positions ${j - 1} and ${j} are out of order (${ps}, id ${pid}) then (${s}, id ${id})`);
      }
    }
    if (filled !== expectedFilled) report(`${where}: ${filled} items returned, expected ${expectedFilled}`);

    // logZ: score error plus the exp approximation and float32 summation (well under 1e-5).
    const lz = result.logZ[b];
    const rlz = ref.logZ[b];
    if (!close(lz, rlz, tol + 1e-5 + 1e-6 * Math.abs(rlz))) report(`${where}: logZ ${lz}, reference ${rlz}`);

    if (options.targets && result.targetRank && result.targetLogProb) {
      const t = options.targets[b];
      const rank = result.targetRank[b];
      if (ref.targetRank[b] < 0) {
        if (rank !== -1) report(`${where}: target rank ${rank}, expected -1 (no target or excluded)`);
      } else {
        // Items certainly ahead of the target, and items possibly ahead within tolerance.
        const ts = scores[t];
        let lo = 0;
        let hi = 0;
        for (let n = 0; n < count; n++) {
          if (n === t || excluded.has(n) || Number.isNaN(scores[n])) continue;
          if (Number.isNaN(ts)) {
            lo++;
            hi++;
          } else {
            if (scores[n] > ts + 2 * tol || (tol === 0 && ranksBefore(scores[n], n, ts, t))) lo++;
            if (scores[n] >= ts - 2 * tol && (tol > 0 || ranksBefore(scores[n], n, ts, t))) hi++;
          }
        }
        if (rank < lo || rank > hi) report(`${where}: target ${t} rank ${rank}, reference ${ref.targetRank[b]} (allowed ${lo}..${hi})`);
        // Exact, whatever the rounding: the rank agrees with the engine's own top-k.
        const pos = Array.from(result.ids.subarray(b * k, (b + 1) * k)).indexOf(t);
        if (pos >= 0 && pos !== rank) report(`${where}: target ${t} is at top-k position ${pos} but its rank is ${rank}`);
        if (pos < 0 && rank >= 0 && rank < k && rank < filled) report(`${where}: target ${t} has rank ${rank} < k but is not in the top-k`);
      }
      const lp = result.targetLogProb[b];
      const rlp = ref.targetLogProb[b];
      if (!close(lp, rlp, 2 * tol + 1e-5 + 1e-6 * Math.abs(rlp))) report(`${where}: target log-probability ${lp}, reference ${rlp}`);
    }
  }
  return problems;
}

export interface CrossEntropyCheckOptions {
  /** Relative rounding applied to G before the gradient products (0 when they run in float32). */
  gRounding?: number;
  /** Relative error of the exp the kernels use for p beyond the default polynomial's (bf16 CPU tables: 7.5e-5). */
  expError?: number;
  /** Stop after this many problems (default 20). */
  maxProblems?: number;
}

/**
 * Checks ItemTable.crossEntropy's loss and gradients against the float64 reference. `grads` holds
 * what the call added to zero-filled gradItems / gradBias (either may be absent). Tolerances follow
 * the float32 error analysis, per value:
 *   - scores: tau_b = (dim + 2) u max_i (sum_j |q_bj e_ij| + |bias_i|), as in checkSearch;
 *   - loss (logZ - s_t): 2 tau_b + 1e-5 + 1e-6 |logZ_b| (logZ's exp polynomial and float32 sums);
 *   - p_bi = exp(x), x = s_bi - logZ_b: the engine's exponent is off by at most e = eta_b + 2u |x|,
 *     eta_b = 2 tau_b + 1e-5 + 1e-6 |logZ_b| + 3e-7 (score and logZ errors, the exp2 polynomial's
 *     2.1e-7, roundings), so its p lies in [exp(x - e), exp(min(0, x + e))]: |dp| ~ p e for small e;
 *     |dG_bi| <= |w_b| |dp_bi| + u (|G_bi| + |w_b|) (+ gRounding |G_bi|);
 *   - each gradient value: the sum of its terms' |dG| times |e| (or |q|, or 1), plus (n + 2) u times
 *     the sum of the terms' magnitudes for float32 accumulation over n terms (n = items for dQ, rows
 *     for dE and dBias).
 * NaN must match NaN and infinities must match exactly.
 */
export function checkCrossEntropy(
  items: Float32Array,
  dim: number,
  queries: Float32Array,
  targets: Int32Array,
  options: CrossEntropyOptions,
  result: { loss: Float32Array; gradQueries: Float32Array },
  grads: { gradItems?: Float32Array; gradBias?: Float32Array },
  check: CrossEntropyCheckOptions = {},
): string[] {
  const problems: string[] = [];
  const limit = check.maxProblems ?? 20;
  const report = (msg: string) => {
    if (problems.length < limit) problems.push(msg);
  };
  const close = (a: number, r: number, t: number) =>
    Object.is(a, r) || a === r || (Number.isNaN(a) && Number.isNaN(r)) || (Number.isFinite(r) && Math.abs(a - r) <= t);
  const rows = queries.length / dim;
  const count = items.length / dim;
  const ref = referenceCrossEntropy(items, dim, queries, targets, options);
  // Error terms: a zero factor contributes nothing (0 x Infinity would make a bound NaN).
  const mul = (a: number, b: number) => (a === 0 || b === 0 ? 0 : a * b);
  const gRound = check.gRounding ?? 0;

  // Per contributing row: |dG_bi| bounds.
  const dG: (Float64Array | null)[] = [];
  for (let b = 0; b < rows; b++) {
    const g = ref.g[b];
    if (!g) {
      dG.push(null);
      continue;
    }
    let magnitude = 0;
    const x = new Float64Array(count); // s_bi - logZ_b = log p_bi
    for (let n = 0; n < count; n++) {
      let m = options.bias ? Math.abs(options.bias[n]) : 0;
      let sn = options.bias ? options.bias[n] : 0;
      for (let j = 0; j < dim; j++) {
        m += Math.abs(queries[b * dim + j] * items[n * dim + j]);
        sn += queries[b * dim + j] * items[n * dim + j];
      }
      if (m > magnitude) magnitude = m;
      x[n] = sn - ref.logZ[b];
    }
    const tau = (dim + 2) * U * magnitude;
    const eta = 2 * tau + 1e-5 + 1e-6 * Math.abs(ref.logZ[b]) + 3e-7 + (check.expError ?? 0);
    const w = options.rowWeights ? options.rowWeights[b] : 1;
    const excluded = new Set<number>();
    if (options.exclude)
      for (let q = options.exclude.offsets[b]; q < options.exclude.offsets[b + 1]; q++) excluded.add(options.exclude.ids[q]);
    const d = new Float64Array(count);
    for (let n = 0; n < count; n++) {
      if (excluded.has(n)) continue; // G is exactly 0 there (whatever the item's score)
      if (Number.isNaN(g[n])) {
        d[n] = NaN;
        continue;
      }
      const p = g[n] / w + (n === targets[b] ? 1 : 0);
      // The engine's p lies in [exp(x - e), exp(min(0, x + e))] (it clamps the exponent at 0):
      // about p e for small e, anything in [0, 1] once the scores' own rounding exceeds 1 (logits ~1e30).
      const e = eta + 2 * U * Math.abs(x[n]);
      const dp = p === 0 && x[n] === -Infinity ? 0 : Math.max(Math.exp(Math.min(0, x[n] + e)) - p, p - Math.exp(x[n] - e));
      d[n] = Math.abs(w) * dp + U * (Math.abs(g[n]) + Math.abs(w)) + gRound * Math.abs(g[n]);
    }
    dG.push(d);
  }

  // Loss.
  for (let b = 0; b < rows; b++) {
    let magnitude = 0;
    if (targets[b] >= 0)
      for (let n = 0; n < count; n++) {
        let m = options.bias ? Math.abs(options.bias[n]) : 0;
        for (let j = 0; j < dim; j++) m += Math.abs(queries[b * dim + j] * items[n * dim + j]);
        if (m > magnitude) magnitude = m;
      }
    const tau = Number.isFinite(magnitude) ? (dim + 2) * U * magnitude : Infinity;
    const r = ref.loss[b];
    if (!close(result.loss[b], r, 2 * tau + 1e-5 + 1e-6 * Math.abs(ref.logZ[b])))
      report(`row ${b}: loss ${result.loss[b]}, reference ${r}`);
  }

  // dQ.
  for (let b = 0; b < rows && problems.length < limit; b++) {
    const g = ref.g[b];
    const d = dG[b];
    for (let j = 0; j < dim; j++) {
      let err = 0;
      let size = 0;
      if (g && d)
        for (let n = 0; n < count; n++) {
          const e = Math.abs(items[n * dim + j]);
          err += mul(d[n], e);
          size += mul(Math.abs(g[n]), e);
        }
      const tol = err + (count + 2) * U * size;
      const a = result.gradQueries[b * dim + j];
      const r = ref.gradQueries[b * dim + j];
      if (!close(a, r, tol)) report(`gradQueries[${b}][${j}] is ${a}, reference ${r} (tolerance ${tol})`);
    }
  }

  // dE and dBias.
  if (grads.gradItems || grads.gradBias)
    for (let n = 0; n < count && problems.length < limit; n++) {
      let berr = 0;
      let bsize = 0;
      for (let b = 0; b < rows; b++) {
        const g = ref.g[b];
        const d = dG[b];
        if (!g || !d) continue;
        berr += d[n];
        bsize += Math.abs(g[n]);
      }
      if (grads.gradBias) {
        const tol = berr + (rows + 2) * U * bsize;
        if (!close(grads.gradBias[n], ref.gradBias[n], tol))
          report(`gradBias[${n}] is ${grads.gradBias[n]}, reference ${ref.gradBias[n]} (tolerance ${tol})`);
      }
      if (grads.gradItems)
        for (let j = 0; j < dim; j++) {
          let err = 0;
          let size = 0;
          for (let b = 0; b < rows; b++) {
            const g = ref.g[b];
            const d = dG[b];
            if (!g || !d) continue;
            const q = Math.abs(queries[b * dim + j]);
            err += mul(d[n], q);
            size += mul(Math.abs(g[n]), q);
          }
          const tol = err + (rows + 2) * U * size;
          const a = grads.gradItems[n * dim + j];
          const r = ref.gradItems[n * dim + j];
          if (!close(a, r, tol)) report(`gradItems[${n}][${j}] is ${a}, reference ${r} (tolerance ${tol})`);
        }
    }
  return problems;
}
