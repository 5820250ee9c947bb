// Ranking metrics from exact target ranks (0-based: the number of items that beat the target), the
// one home of ranking for the library and eval. One rule everywhere: a target without a rank (-1 from
// the engine: excluded with the history, or absent from a ranked list; Infinity per example) is a
// miss: it counts in n and adds 0 to every mean.
import type { Csr } from '../data/splits.js';
import { expectInteger, expectTypedArray } from '../engine/validate.js';

export interface RankingMetrics {
  /** Share of rows whose target ranks in the top k. */
  recall: number;
  /** Mean of 1 / log2(rank + 2) for rank < k, else 0 (one relevant item: IDCG = 1). */
  ndcg: number;
  /** Mean of 1 / (rank + 1) over the full ranking (not cut at k). */
  mrr: number;
  /** Rows, the unranked ones included. */
  n: number;
  /** Rows without a rank (rank -1: the target was excluded, or there was none): misses, in n. */
  unranked: number;
}

export function rankingMetrics(targetRank: Int32Array, k: number): RankingMetrics {
  expectTypedArray(targetRank, Int32Array, 'targetRank');
  expectInteger(k, 'k', 1);
  const n = targetRank.length;
  const ranks = new Float64Array(n);
  let unranked = 0;
  for (let i = 0; i < n; i++) {
    const rank = targetRank[i];
    if (rank < -1) throw new RangeError(`Expected targetRank to hold ranks >= 0 or -1 (none) but targetRank[${i}] is ${rank}`);
    if (rank === -1) unranked++;
    ranks[i] = rank === -1 ? Infinity : rank;
  }
  const scores = rankingScores(ranks, k);
  const mean = (x: Float64Array) => x.reduce((a, b) => a + b, 0) / n;
  // A mean over no rows is undefined: NaN, with n = 0 saying why.
  return { recall: mean(scores.recall), ndcg: mean(scores.ndcg), mrr: mean(scores.rr), n, unranked };
}

/** Per-example scores, kept per example for bootstrap intervals, paired tests and exact shard merging; means are taken at report time. */
export interface RankingScores {
  k: number;
  /** 0-based rank of the target, Infinity when it was not ranked. */
  ranks: Float64Array;
  /** 1 when rank < k. */
  recall: Float64Array;
  /** 1 / log2(rank + 2) when rank < k (one relevant item, so IDCG = 1). */
  ndcg: Float64Array;
  /** 1 / (rank + 1), over the full ranking. */
  rr: Float64Array;
}

export function rankingScores(ranks: Float64Array, k: number): RankingScores {
  const n = ranks.length;
  const out: RankingScores = { k, ranks, recall: new Float64Array(n), ndcg: new Float64Array(n), rr: new Float64Array(n) };
  for (let i = 0; i < n; i++) {
    const r = ranks[i];
    if (!(r >= 0)) throw new RangeError(`Expected ranks >= 0 or Infinity but rank ${i} is ${r}`);
    out.rr[i] = 1 / (r + 1);
    if (r < k) {
      out.recall[i] = 1;
      out.ndcg[i] = 1 / Math.log2(r + 2);
    }
  }
  return out;
}

export interface ListRanking {
  ranks: Float64Array;
  /** Repeated ids dropped from lists (the first occurrence counts). */
  duplicates: number;
  /** Listed ids removed as part of the history. */
  excludedFromLists: number;
}

/**
 * Ranks of targets in given ranked lists (CSR of item ids, best first). Negative entries stand for
 * ids the dataset does not know: they hold their place (a slot spent on a wrong item) but never
 * match. Excluded items are removed before ranking; a repeated id counts at its first place.
 */
export function ranksFromLists(lists: Csr, targets: Int32Array, exclude: Csr): ListRanking {
  const rows = targets.length;
  const ranks = new Float64Array(rows).fill(Infinity);
  let duplicates = 0;
  let excludedFromLists = 0;
  const seen = new Set<number>();
  const skip = new Set<number>();
  for (let r = 0; r < rows; r++) {
    seen.clear();
    skip.clear();
    for (let p = exclude.offsets[r]; p < exclude.offsets[r + 1]; p++) skip.add(exclude.ids[p]);
    let position = 0;
    for (let p = lists.offsets[r]; p < lists.offsets[r + 1]; p++) {
      const id = lists.ids[p];
      if (id < 0) {
        position++;
        continue;
      }
      if (seen.has(id)) {
        duplicates++;
        continue;
      }
      seen.add(id);
      if (skip.has(id)) {
        excludedFromLists++;
        continue;
      }
      if (id === targets[r] && ranks[r] === Infinity) ranks[r] = position;
      position++;
    }
  }
  return { ranks, duplicates, excludedFromLists };
}
