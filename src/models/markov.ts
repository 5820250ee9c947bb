// First-order Markov chain: the next item after the history's last item, scored by how often that
// transition occurs in the training sequences (consecutive pairs, repeats included). Items never seen
// after the last item fall back to training popularity (the two-tier order of candidate-ranking.ts).
import type { Dataset } from '../data/dataset.js';
import type { SparseScores } from './candidate-ranking.js';
import { CandidateRecommender, type RowContext } from './candidate-recommender.js';

export class MarkovRecommender extends CandidateRecommender {
  readonly name = 'markov';
  /** CSR by source item: successor ids (ascending) and transition counts. */
  private next = { offsets: new Int32Array(1), ids: new Int32Array(0), counts: new Float64Array(0) };

  protected fit(ds: Dataset): void {
    const N = ds.items.count;
    const { offsets: uo, ids: seq } = ds.split.train;
    // Counting sort of the pairs by source, then per source sort successors and merge repeats.
    const degree = new Int32Array(N + 1);
    for (let u = 0; u + 1 < uo.length; u++) for (let p = uo[u] + 1; p < uo[u + 1]; p++) degree[seq[p - 1] + 1]++;
    for (let i = 0; i < N; i++) degree[i + 1] += degree[i];
    const fill = degree.slice(0, N);
    const dst = new Int32Array(degree[N]);
    for (let u = 0; u + 1 < uo.length; u++) for (let p = uo[u] + 1; p < uo[u + 1]; p++) dst[fill[seq[p - 1]]++] = seq[p];
    const offsets = new Int32Array(N + 1);
    const ids = new Int32Array(dst.length);
    const counts = new Float64Array(dst.length);
    let o = 0;
    for (let i = 0; i < N; i++) {
      const row = dst.subarray(degree[i], degree[i + 1]).sort();
      for (let p = 0; p < row.length; p++) {
        if (p > 0 && row[p] === row[p - 1]) counts[o - 1]++;
        else {
          ids[o] = row[p];
          counts[o++] = 1;
        }
      }
      offsets[i + 1] = o;
    }
    this.next = { offsets, ids: ids.slice(0, o), counts: counts.slice(0, o) };
  }

  scoreRow(row: RowContext, acc: SparseScores): void {
    const h = row.history;
    if (h.length === 0) return;
    const last = h[h.length - 1];
    const { offsets, ids, counts } = this.next;
    for (let p = offsets[last]; p < offsets[last + 1]; p++) acc.add(ids[p], counts[p]);
  }
}
