// The shared shape of the sparse sequential baselines (Markov, SKNN, item-kNN): fit on the training
// split, score each example's history into a sparse accumulator, rank exactly with popularity
// back-off (see candidate-ranking.ts). Critique-aware fusion reuses a base model's row scores.
import type { Dataset } from '../data/dataset.js';
import type { Csr } from '../data/splits.js';
import type { Engine } from '../engine/engine.js';
import type { ExampleSet } from '../tasks/examples.js';
import type { ProgressFn } from '../util/progress.js';
import { BackoffRanker, CandidateBuilder, SparseScores, type Candidates } from './candidate-ranking.js';
import { trainPopularity } from './popularity.js';
import type { Ranking, RecommendOptions, Recommender } from './recommender.js';

/** One example as the models see it. */
export interface RowContext {
  /** Item ids before the target, oldest first. */
  history: Int32Array;
  /** The dataset user index (models skip the user's own training sequence). */
  user: number;
}

/** Rows to score: an ExampleSet, or a subset of a split built for tuning. */
export interface RowSource {
  readonly length: number;
  readonly users: Int32Array;
  historyOf(i: number): Int32Array;
}

/** A subset of a split's rows as a RowSource with targets (for tuning on valid). */
export function subsetRows(split: { users: Int32Array; targets: Int32Array; history: Csr }, rows: readonly number[]): RowSource & { targets: Int32Array; history: Csr } {
  const offsets = new Int32Array(rows.length + 1);
  for (let i = 0; i < rows.length; i++) offsets[i + 1] = offsets[i] + split.history.offsets[rows[i] + 1] - split.history.offsets[rows[i]];
  const ids = new Int32Array(offsets[rows.length]);
  for (let i = 0; i < rows.length; i++) ids.set(split.history.ids.subarray(split.history.offsets[rows[i]], split.history.offsets[rows[i] + 1]), offsets[i]);
  const history = { offsets, ids };
  return {
    length: rows.length,
    users: Int32Array.from(rows, (r) => split.users[r]),
    targets: Int32Array.from(rows, (r) => split.targets[r]),
    history,
    historyOf: (i: number) => ids.subarray(offsets[i], offsets[i + 1]),
  };
}

/** Linear recency weights: the last of L items weighs 1, the first 1/L (later repeats win). */
export function recencyWeights(history: Int32Array, into: Map<number, number>): Map<number, number> {
  into.clear();
  const L = history.length;
  for (let p = 0; p < L; p++) into.set(history[p], (p + 1) / L);
  return into;
}

export abstract class CandidateRecommender implements Recommender {
  abstract readonly name: string;
  readonly usesCritique: boolean = false;
  readonly answers = 'computed';
  private rankerValue: BackoffRanker | null = null;
  private fitted: Dataset | null = null;
  private acc: SparseScores | null = null;

  constructor(protected readonly engine?: Engine) {}

  /** Learns from the training split of `ds` (deterministic). */
  protected abstract fit(ds: Dataset, progress?: ProgressFn): void;

  /** Adds this model's positive scores for one row into acc (clear on entry). */
  abstract scoreRow(row: RowContext, acc: SparseScores): void;

  get ranker(): BackoffRanker {
    if (!this.rankerValue) throw new Error(`internal: ${this.name}.prepare() was not called`);
    return this.rankerValue;
  }

  async prepare(examples: ExampleSet | { dataset: Dataset }, progress?: ProgressFn): Promise<void> {
    const ds = examples.dataset;
    if (this.fitted === ds) return;
    this.rankerValue?.dispose();
    this.rankerValue = await BackoffRanker.create(trainPopularity(ds), this.engine);
    this.acc = new SparseScores(ds.items.count);
    this.fit(ds, progress);
    this.fitted = ds;
  }

  /** Per row, the items with a positive score (CSR); `onRows` hears the rows done now and then. */
  candidates(rows: RowSource, onRows?: (done: number) => void): Candidates {
    const acc = this.acc;
    if (!acc) throw new Error(`internal: ${this.name}.prepare() was not called`);
    const out = new CandidateBuilder();
    for (let i = 0; i < rows.length; i++) {
      acc.clear();
      this.scoreRow({ history: rows.historyOf(i), user: rows.users[i] }, acc);
      out.pushScores(acc);
      if (onRows && (i & 1023) === 1023) onRows(i + 1);
    }
    onRows?.(rows.length);
    acc.clear();
    return out.build();
  }

  async recommend(examples: ExampleSet, options: RecommendOptions): Promise<Ranking> {
    return this.ranker.rank(examples, this.candidates(examples), options);
  }

  dispose(): void {
    this.rankerValue?.dispose();
    this.rankerValue = null;
    this.fitted = null;
  }
}
