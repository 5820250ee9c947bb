// Session-based k-nearest neighbours (SKNN; Jannach & Ludewig 2017, the recency-weighted "V-SKNN"
// variant): the training sequences are the sessions. An example's history is compared with every
// session that shares an item with it (via the inverted index, never all sessions):
//   sim(h, s) = sum over distinct items i in both of w_i / sqrt(|h| |s|),
// with w_i the linear recency weight of i's last position in h (the last item weighs 1) and |.| the
// number of distinct items. The `neighbours` most similar sessions (ties: the lower user index) vote
// for each of their items with their similarity. The user's own training sequence is never a
// neighbour (it is a prefix of the history: it would only vote for excluded items).
import type { Dataset } from '../data/dataset.js';
import type { Csr } from '../data/splits.js';
import type { Engine } from '../engine/engine.js';
import { SparseScores } from './candidate-ranking.js';
import { CandidateRecommender, recencyWeights, type RowContext } from './candidate-recommender.js';
import { distinctPerRow, invert, topIndices } from './train-index.js';

export interface SknnOptions {
  /** Sessions that vote (default 100). */
  neighbours?: number;
}

export class SessionKnnRecommender extends CandidateRecommender {
  readonly name: string;
  private readonly neighbours: number;
  private sessions: Csr = { offsets: new Int32Array(1), ids: new Int32Array(0) };
  private byItem: Csr = { offsets: new Int32Array(1), ids: new Int32Array(0) };
  private sims = new SparseScores(0);
  private readonly weights = new Map<number, number>();

  constructor(engine?: Engine, options: SknnOptions = {}) {
    super(engine);
    this.neighbours = options.neighbours ?? 100;
    this.name = options.neighbours === undefined ? 'sknn' : `sknn(k=${this.neighbours})`;
  }

  protected fit(ds: Dataset): void {
    this.sessions = distinctPerRow(ds.split.train);
    this.byItem = invert(this.sessions, ds.items.count);
    this.sims = new SparseScores(ds.users.count);
  }

  scoreRow(row: RowContext, acc: SparseScores): void {
    const w = recencyWeights(row.history, this.weights);
    if (w.size === 0) return;
    const { sessions, byItem, sims } = this;
    sims.clear();
    for (const [item, weight] of w)
      for (let p = byItem.offsets[item]; p < byItem.offsets[item + 1]; p++) {
        const s = byItem.ids[p];
        if (s !== row.user) sims.add(s, weight);
      }
    const found = sims.touched();
    const values = new Float64Array(found.length);
    for (let p = 0; p < found.length; p++) {
      const s = found[p];
      values[p] = sims.values[s] / Math.sqrt(w.size * (sessions.offsets[s + 1] - sessions.offsets[s]));
    }
    for (const p of topIndices(found, values, this.neighbours)) {
      const s = found[p];
      for (let q = sessions.offsets[s]; q < sessions.offsets[s + 1]; q++) acc.add(sessions.ids[q], values[p]);
    }
    sims.clear();
  }
}
