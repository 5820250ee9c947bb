// Ranking metrics from exact target ranks (0-based: the number of items that beat the target).
import { expectInteger, expectTypedArray } from '../engine/validate.js';

export interface RankingMetrics {
  /** Share of rows whose target ranks in the top k. */
  recall: number;
  /** Mean of 1 / log2(rank + 2) for rank < k, else 0 (one relevant item: IDCG = 1). */
  ndcg: number;
  /** Mean of 1 / (rank + 1) over the full ranking (not cut at k). */
  mrr: number;
  /** Rows with a rank (rank >= 0). */
  n: number;
  /** Rows without one (rank -1: no target, or the target was excluded); not in the means. */
  skipped: number;
}

export function rankingMetrics(targetRank: Int32Array, k: number): RankingMetrics {
  expectTypedArray(targetRank, Int32Array, 'targetRank');
  expectInteger(k, 'k', 1);
  let hits = 0;
  let ndcg = 0;
  let rr = 0;
  let n = 0;
  let skipped = 0;
  for (let i = 0; i < targetRank.length; i++) {
    const rank = targetRank[i];
    if (rank === -1) {
      skipped++;
      continue;
    }
    if (rank < 0) throw new RangeError(`Expected targetRank to hold ranks >= 0 or -1 (none) but targetRank[${i}] is ${rank}`);
    n++;
    rr += 1 / (rank + 1);
    if (rank < k) {
      hits++;
      ndcg += 1 / Math.log2(rank + 2);
    }
  }
  // A mean over no rows is undefined: NaN, with n = 0 saying why.
  return n === 0
    ? { recall: NaN, ndcg: NaN, mrr: NaN, n, skipped }
    : { recall: hits / n, ndcg: ndcg / n, mrr: rr / n, n, skipped };
}
