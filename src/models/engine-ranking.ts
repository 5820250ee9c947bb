// Full ranking with the native engine: one query vector per example against an item table, history
// excluded, exact target ranks and the top-k, in chunks (progress; bounded memory).
import type { ProgressFn } from '../util/progress.js';
import type { ItemTable } from '../engine/item-table.js';
import type { ExampleSet } from '../tasks/examples.js';
import type { Ranking } from './recommender.js';

const CHUNK_ROWS = 4096;

export async function rankWithEngine(
  table: ItemTable,
  /** examples x dim, row-major, in example order. */
  queries: Float32Array,
  examples: ExampleSet,
  options: { k: number; excludeHistory: boolean; bias?: Float32Array; progress?: ProgressFn },
): Promise<Ranking> {
  const n = examples.length;
  const { k } = options;
  const exclude = examples.exclusions(options.excludeHistory);
  const ranks = new Float64Array(n);
  const top = new Int32Array(n * k);
  for (let start = 0; start < n; start += CHUNK_ROWS) {
    const end = Math.min(n, start + CHUNK_ROWS);
    const offsets = exclude.offsets.slice(start, end + 1);
    const r = await table.search(queries.subarray(start * table.dim, end * table.dim), {
      k,
      targets: examples.targets.subarray(start, end),
      // Offsets index the full ids array: rows of this chunk read their slice of it in place.
      exclude: { offsets, ids: exclude.ids },
      bias: options.bias,
      logZ: false, // ranks and lists only
    });
    for (let i = 0; i < end - start; i++) ranks[start + i] = r.targetRank[i] < 0 ? Infinity : r.targetRank[i];
    top.set(r.ids, start * k);
    options.progress?.({ phase: 'ranking', done: end, total: n, unit: 'rows' });
  }
  return { ranks, top, k, notes: {} };
}
