// Ranking metrics per example, from 0-based target ranks (Infinity where the target was not ranked,
// e.g. missing from a predictions list). Kept per example for bootstrap intervals, paired tests and
// exact shard merging; means are taken at report time.
import type { Csr } from '../data/splits.js';

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

/**
 * The items to exclude per example: its whole history (earlier purchases), as S3Rec/RecBole's
 * full-ranking protocol and LUMEN generation do. Nothing about the target decides what is excluded:
 * when the target is itself a repeat purchase (in its history), it is excluded too and the example
 * is a miss (rank Infinity); `repeatTargets` counts those so reports can say so. Returns an empty
 * exclusion per row when `excludeHistory` is false.
 */
export function exclusionLists(history: Csr, excludeHistory: boolean): Csr {
  const rows = history.offsets.length - 1;
  if (!excludeHistory) return { offsets: new Int32Array(rows + 1), ids: new Int32Array(0) };
  return { offsets: history.offsets, ids: history.ids };
}

/** Examples whose target is in their own history (repeat purchases). */
export function repeatTargets(history: Csr, targets: Int32Array): number {
  let n = 0;
  for (let r = 0; r < targets.length; r++) {
    for (let p = history.offsets[r]; p < history.offsets[r + 1]; p++)
      if (history.ids[p] === targets[r]) {
        n++;
        break;
      }
  }
  return n;
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
