// Item-item co-occurrence kNN (item-based collaborative filtering, Sarwar et al. 2001; Linden et al.
// 2003): two items are similar when the same users bought both in the training split,
//   sim(i, j) = co(i, j) / sqrt(n_i n_j)   (cosine of the binary user columns),
// keeping each item's `neighbours` most similar items (ties: the lower id). An example scores item j
// as sum over distinct history items i of w_i sim(i, j), w_i the linear recency weight of i's last
// position (the last item weighs 1).
import type { Dataset } from '../data/dataset.js';
import type { Engine } from '../engine/engine.js';
import type { ProgressFn } from '../util/progress.js';
import { SparseScores } from './candidate-ranking.js';
import { CandidateRecommender, recencyWeights, type RowContext } from './candidate-recommender.js';
import { distinctPerRow, invert, topIndices } from './train-index.js';

export interface ItemKnnOptions {
  /** Neighbours kept per item (default 100). */
  neighbours?: number;
}

export class ItemKnnRecommender extends CandidateRecommender {
  readonly name: string;
  private readonly neighbours: number;
  private similar = { offsets: new Int32Array(1), ids: new Int32Array(0), sims: new Float64Array(0) };
  private readonly weights = new Map<number, number>();

  constructor(engine?: Engine, options: ItemKnnOptions = {}) {
    super(engine);
    this.neighbours = options.neighbours ?? 100;
    this.name = options.neighbours === undefined ? 'itemknn' : `itemknn(k=${this.neighbours})`;
  }

  protected fit(ds: Dataset, progress?: ProgressFn): void {
    const N = ds.items.count;
    const baskets = distinctPerRow(ds.split.train);
    const byItem = invert(baskets, N);
    const co = new SparseScores(N);
    const offsets = new Int32Array(N + 1);
    const ids: number[] = [];
    const sims: number[] = [];
    for (let i = 0; i < N; i++) {
      const ni = byItem.offsets[i + 1] - byItem.offsets[i];
      for (let p = byItem.offsets[i]; p < byItem.offsets[i + 1]; p++) {
        const u = byItem.ids[p];
        for (let q = baskets.offsets[u]; q < baskets.offsets[u + 1]; q++) if (baskets.ids[q] !== i) co.add(baskets.ids[q], 1);
      }
      const found = co.touched();
      const values = new Float64Array(found.length);
      for (let p = 0; p < found.length; p++) {
        const j = found[p];
        values[p] = co.values[j] / Math.sqrt(ni * (byItem.offsets[j + 1] - byItem.offsets[j]));
      }
      for (const p of topIndices(found, values, this.neighbours)) {
        ids.push(found[p]);
        sims.push(values[p]);
      }
      offsets[i + 1] = ids.length;
      co.clear();
      if ((i & 4095) === 4095) progress?.({ phase: 'item-kNN similarities', done: i + 1, total: N, unit: 'rows' });
    }
    this.similar = { offsets, ids: Int32Array.from(ids), sims: Float64Array.from(sims) };
  }

  scoreRow(row: RowContext, acc: SparseScores): void {
    const { offsets, ids, sims } = this.similar;
    for (const [item, weight] of recencyWeights(row.history, this.weights))
      for (let p = offsets[item]; p < offsets[item + 1]; p++) acc.add(ids[p], weight * sims[p]);
  }
}
