// Most popular: ranks items by their purchase count in the training split (ties: the lower id).
// Scores go through the native engine as a per-item bias, so history exclusion and exact ranks are
// the same machinery as every other model's.
import { ItemTable } from '../engine/item-table.js';
import type { ExampleSet } from '../tasks/examples.js';
import { rankWithEngine } from './engine-ranking.js';
import type { Ranking, RecommendOptions, Recommender } from './recommender.js';

export class PopularityRecommender implements Recommender {
  readonly name = 'pop';
  readonly usesCritique = false;

  async recommend(examples: ExampleSet, options: RecommendOptions): Promise<Ranking> {
    const ds = examples.dataset;
    const counts = new Float32Array(ds.items.count);
    for (const id of ds.split.train.ids) counts[id]++;
    // A one-dimensional table of zeros: every score is the bias, the training count.
    const table = await ItemTable.create(new Float32Array(ds.items.count), { dim: 1, device: options.device });
    try {
      return await rankWithEngine(table, new Float32Array(examples.length), examples, { ...options, bias: counts });
    } finally {
      table.dispose();
    }
  }
}
