// Checks a native search result against the float64 reference, allowing only the rounding that
// float32 arithmetic explains. Used by `regen-bench selftest` and the test suite.
import type { SearchOptions, SearchResult } from '../item-table.js';
import { ranksBefore, referenceScores, referenceSearch } from './reference.js';

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
