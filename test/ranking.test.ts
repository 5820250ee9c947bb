import { describe, expect, it } from 'vitest';

import { rankingMetrics } from '../src/metrics/ranking.js';

describe('rankingMetrics', () => {
  it('computes recall, NDCG and MRR from 0-based ranks', () => {
    const ranks = Int32Array.from([0, 1, 9, 10, 99]);
    const m = rankingMetrics(ranks, 10);
    expect(m.n).toBe(5);
    expect(m.unranked).toBe(0);
    expect(m.recall).toBeCloseTo(3 / 5, 15);
    expect(m.ndcg).toBeCloseTo((1 + 1 / Math.log2(3) + 1 / Math.log2(11)) / 5, 15);
    expect(m.mrr).toBeCloseTo((1 + 1 / 2 + 1 / 10 + 1 / 11 + 1 / 100) / 5, 15);
  });

  it('cuts recall and NDCG at k but not MRR', () => {
    const ranks = Int32Array.from([0, 4]);
    const m1 = rankingMetrics(ranks, 1);
    const m5 = rankingMetrics(ranks, 5);
    expect([m1.recall, m5.recall]).toEqual([0.5, 1]);
    expect(m1.ndcg).toBeCloseTo(0.5, 15);
    expect(m5.ndcg).toBeCloseTo((1 + 1 / Math.log2(6)) / 2, 15);
    expect(m1.mrr).toBe(m5.mrr);
  });

  // Changed with issue 13: one meaning for an unranked target everywhere (eval always counted it as a miss).
  it('counts rows without a rank as misses, in n and in unranked', () => {
    const m = rankingMetrics(Int32Array.from([-1, 0, -1, 2]), 2);
    expect(m.n).toBe(4);
    expect(m.unranked).toBe(2);
    expect(m.recall).toBe(0.25);
    expect(m.mrr).toBeCloseTo((1 + 1 / 3) / 4, 15);
  });

  it('is NaN with n = 0 when there are no rows', () => {
    const m = rankingMetrics(new Int32Array(0), 10);
    expect(m.n).toBe(0);
    expect(Number.isNaN(m.recall) && Number.isNaN(m.ndcg) && Number.isNaN(m.mrr)).toBe(true);
  });

  it('rejects bad arguments', () => {
    expect(() => rankingMetrics([0, 1] as unknown as Int32Array, 10)).toThrow(TypeError);
    expect(() => rankingMetrics(new Int32Array(1), 0)).toThrow(RangeError);
    expect(() => rankingMetrics(Int32Array.from([0, -3]), 10)).toThrow(/targetRank\[1\] is -3/);
  });
});
