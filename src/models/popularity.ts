// Most popular: ranks items by their purchase count in the training split (ties: the lower id).
// Scores go through the native engine as a per-item bias, so history exclusion and exact ranks are
// the same machinery as every other model's.
import { defaultEngine, type Engine } from '../engine/engine.js';
import type { ItemTable } from '../engine/item-table.js';
import type { Dataset } from '../data/dataset.js';
import type { ExampleSet } from '../tasks/examples.js';
import { rankWithEngine } from './engine-ranking.js';
import type { Ranking, RecommendOptions, Recommender } from './recommender.js';

/** Purchase counts per item in the training split (integers, exact in float32 below 2^24). */
export function trainPopularity(ds: Dataset): Float32Array<ArrayBuffer> {
  const counts = new Float32Array(ds.items.count);
  for (const id of ds.split.train.ids) counts[id]++;
  return counts;
}

export class PopularityRecommender implements Recommender {
  readonly name = 'pop';
  readonly usesCritique = false;
  readonly answers = 'computed';
  private table: ItemTable | null = null;
  private counts = new Float32Array(0);

  constructor(private readonly engine: Engine = defaultEngine()) {}

  async prepare(examples: ExampleSet): Promise<void> {
    const ds = examples.dataset;
    this.counts = trainPopularity(ds);
    // A one-dimensional table of zeros: every score is the bias, the training count.
    this.table = await this.engine.createTable(new Float32Array(ds.items.count), { dim: 1 });
  }

  async recommend(examples: ExampleSet, options: RecommendOptions): Promise<Ranking> {
    if (!this.table) throw new Error('internal: PopularityRecommender.prepare() was not called');
    return rankWithEngine(this.table, new Float32Array(examples.length), examples, { ...options, bias: this.counts });
  }

  dispose(): void {
    this.table?.dispose();
    this.table = null;
  }
}
