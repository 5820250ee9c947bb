// Index structures over the training split shared by the neighbourhood baselines: each user's
// distinct items, and the inverted index item -> users. Plain CSR, built in linear time.
import type { Csr } from '../data/splits.js';

/** Per row, its distinct ids in ascending order. */
export function distinctPerRow(rows: Csr): Csr {
  const n = rows.offsets.length - 1;
  const offsets = new Int32Array(n + 1);
  const ids = new Int32Array(rows.ids.length);
  let o = 0;
  for (let r = 0; r < n; r++) {
    const row = rows.ids.slice(rows.offsets[r], rows.offsets[r + 1]).sort();
    for (let p = 0; p < row.length; p++) if (p === 0 || row[p] !== row[p - 1]) ids[o++] = row[p];
    offsets[r + 1] = o;
  }
  return { offsets, ids: ids.slice(0, o) };
}

/** The transpose of a CSR of ids in [0, count): for each id, the rows holding it (ascending). */
export function invert(rows: Csr, count: number): Csr {
  const offsets = new Int32Array(count + 1);
  for (const id of rows.ids) offsets[id + 1]++;
  for (let i = 0; i < count; i++) offsets[i + 1] += offsets[i];
  const fill = offsets.slice(0, count);
  const ids = new Int32Array(rows.ids.length);
  const n = rows.offsets.length - 1;
  for (let r = 0; r < n; r++) for (let p = rows.offsets[r]; p < rows.offsets[r + 1]; p++) ids[fill[rows.ids[p]]++] = r;
  return { offsets, ids };
}

/**
 * The `k` best of n entries under a strict order `better`, best first, without sorting them all:
 * a sorted buffer of at most k entries with binary insertion (rows hold thousands of entries and
 * need ten or a hundred).
 */
export function selectBest(n: number, better: (a: number, b: number) => boolean, k: number): number[] {
  const out: number[] = [];
  if (k <= 0) return out;
  for (let p = 0; p < n; p++) {
    if (out.length === k && !better(p, out[k - 1])) continue;
    let lo = 0;
    let hi = out.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (better(out[mid], p)) lo = mid + 1;
      else hi = mid;
    }
    out.splice(lo, 0, p);
    if (out.length > k) out.pop();
  }
  return out;
}

/** Indices of the `k` largest values (ties: the lower id), best first. */
export function topIndices(ids: ArrayLike<number>, values: ArrayLike<number>, k: number): number[] {
  return selectBest(ids.length, (p, q) => values[p] > values[q] || (values[p] === values[q] && ids[p] < ids[q]), k);
}
