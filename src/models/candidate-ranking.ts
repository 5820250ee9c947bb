// Exact full ranking for models whose scores are sparse per example (Markov transitions, session and
// item neighbours, BM25 hits): a short candidate list per row with positive scores, and a popularity
// back-off for every other item.
//
// The engine's API scores rows against one shared item table (plus one per-item bias); it has no
// per-row sparse score vector, and these models cannot be written as dense queries x item vectors
// without approximating them (a transition matrix is not low-rank). So each model is defined as a
// two-tier order, which is what "back-off" means:
//   tier 1: the row's candidates, by (model score desc, back-off desc, item id asc);
//   tier 2: every other item, by (back-off desc, item id asc), ranked by the native engine (bias =
//           back-off on a table of zeros, so each score is the back-off exactly) with the history and
//           the candidates excluded.
// JavaScript touches only the candidates (tens to a few thousand per row), never all items; ranks
// are exact under this total order, and ties follow the engine's rule (lower id first) at the end.
//
// With history exclusion, the whole history is excluded from both tiers (ExampleSet.exclusions): a repeat
// purchase target is excluded with it and is a miss (rank Infinity), never re-recommended.
import type { Csr } from '../data/splits.js';
import { defaultEngine, type Engine } from '../engine/engine.js';
import type { ItemTable } from '../engine/item-table.js';
import type { ProgressFn } from '../util/progress.js';
import type { Ranking } from './recommender.js';
import { selectBest } from './train-index.js';

/** Per row, candidate item ids (unique within a row) with finite positive scores, as CSR. */
export interface Candidates {
  offsets: Int32Array;
  ids: Int32Array;
  scores: Float64Array;
}

/** The rows to rank: a target and a history per row (an ExampleSet, or a subset of one). */
export interface RankRows {
  targets: Int32Array;
  history: Csr;
}

const CHUNK_ROWS = 4096;

/**
 * A dense score accumulator over items that remembers which entries it touched, so a row costs
 * O(touched) to collect and to clear. One per model (reused row after row).
 */
export class SparseScores {
  readonly values: Float64Array;
  private readonly touchedIds: Int32Array;
  private readonly mark: Uint8Array;
  size = 0;

  constructor(readonly count: number) {
    this.values = new Float64Array(count);
    this.touchedIds = new Int32Array(count);
    this.mark = new Uint8Array(count);
  }

  add(item: number, value: number): void {
    if (!this.mark[item]) {
      this.mark[item] = 1;
      this.touchedIds[this.size++] = item;
    }
    this.values[item] += value;
  }

  /** Touched item ids (a view, valid until the next clear). */
  touched(): Int32Array {
    return this.touchedIds.subarray(0, this.size);
  }

  /** The largest value among touched items (0 when none is positive). */
  max(): number {
    let m = 0;
    for (let p = 0; p < this.size; p++) m = Math.max(m, this.values[this.touchedIds[p]]);
    return m;
  }

  clear(): void {
    for (let p = 0; p < this.size; p++) {
      const i = this.touchedIds[p];
      this.values[i] = 0;
      this.mark[i] = 0;
    }
    this.size = 0;
  }
}

/** Collects rows of candidates (items with a positive score) into CSR (typed buffers that grow). */
export class CandidateBuilder {
  private offsets: number[] = [0];
  private ids = new Int32Array(1 << 16);
  private scores = new Float64Array(1 << 16);
  private size = 0;

  private push(id: number, score: number): void {
    if (this.size === this.ids.length) {
      const ids = new Int32Array(this.size * 2);
      ids.set(this.ids);
      this.ids = ids;
      const scores = new Float64Array(this.size * 2);
      scores.set(this.scores);
      this.scores = scores;
    }
    this.ids[this.size] = id;
    this.scores[this.size++] = score;
  }

  /** Appends the positive entries of acc as the next row (acc is left as it is). */
  pushScores(acc: SparseScores): void {
    for (const i of acc.touched()) {
      const v = acc.values[i];
      if (v > 0 && Number.isFinite(v)) this.push(i, v);
    }
    this.offsets.push(this.size);
  }

  /** Appends a row from parallel lists (ids unique; entries without a finite positive score are dropped). */
  pushRow(ids: ArrayLike<number>, scores: ArrayLike<number>): void {
    for (let p = 0; p < ids.length; p++) if (scores[p] > 0 && Number.isFinite(scores[p])) this.push(ids[p], scores[p]);
    this.offsets.push(this.size);
  }

  build(): Candidates {
    return { offsets: Int32Array.from(this.offsets), ids: this.ids.slice(0, this.size), scores: this.scores.slice(0, this.size) };
  }
}

/**
 * Training popularity (purchase counts in the training split) as a back-off, and the zero table the
 * engine ranks it with. Counts are integers below 2^24, so the float32 bias holds them exactly.
 */
export class BackoffRanker {
  private constructor(
    private table: ItemTable | null,
    /** Per item: its back-off score (the engine's bias). */
    readonly backoff: Float32Array,
  ) {}

  static async create(backoff: Float32Array, engine: Engine = defaultEngine()): Promise<BackoffRanker> {
    // A one-dimensional table of zeros: every engine score is the bias.
    const table = await engine.createTable(new Float32Array(backoff.length), { dim: 1 });
    return new BackoffRanker(table, backoff);
  }

  get count(): number {
    return this.backoff.length;
  }

  /**
   * Full ranking of rows: exact target ranks (0-based) and the top-k under the two-tier order, with
   * each row's whole history excluded when excludeHistory is set (a target in it: rank Infinity).
   */
  async rank(rows: RankRows, candidates: Candidates, options: { k: number; excludeHistory: boolean; progress?: ProgressFn }): Promise<Ranking> {
    const table = this.table;
    if (!table) throw new Error('internal: BackoffRanker used after dispose()');
    const n = rows.targets.length;
    if (candidates.offsets.length !== n + 1) throw new Error(`internal: ${candidates.offsets.length - 1} candidate rows for ${n} rows`);
    const { k } = options;
    const ranks = new Float64Array(n);
    const top = new Int32Array(n * k).fill(-1);
    const stamp = new Int32Array(this.count).fill(-1);
    const b = this.backoff;
    let keptAt = new Int32Array(1024);
    const ordered: number[][] = [];
    for (let start = 0; start < n; start += CHUNK_ROWS) {
      const end = Math.min(n, start + CHUNK_ROWS);
      const rowsHere = end - start;
      // Exclusions for the engine: the history and every candidate.
      let size = 0;
      for (let r = start; r < end; r++) size += rows.history.offsets[r + 1] - rows.history.offsets[r] + candidates.offsets[r + 1] - candidates.offsets[r];
      const exOffsets = new Int32Array(rowsHere + 1);
      const exIds = new Int32Array(size);
      const targets = new Int32Array(rowsHere);
      let maxRow = 0;
      for (let r = start; r < end; r++) maxRow = Math.max(maxRow, candidates.offsets[r + 1] - candidates.offsets[r]);
      if (keptAt.length < maxRow) keptAt = new Int32Array(maxRow);
      let o = 0;
      ordered.length = 0;
      for (let r = start; r < end; r++) {
        const t = rows.targets[r];
        if (options.excludeHistory)
          for (let p = rows.history.offsets[r]; p < rows.history.offsets[r + 1]; p++) {
            const h = rows.history.ids[p];
            stamp[h] = r; // no history item enters tier 1
            exIds[o++] = h;
          }
        // A target in the history is excluded with it: a miss, whatever the scores (no engine target).
        const repeat = stamp[t] === r;
        // Tier 1: the candidates that are not in the history. Only the top k and the target's rank
        // are needed, so nothing is sorted: a linear count and a bounded selection.
        const a = candidates.offsets[r];
        const e = candidates.offsets[r + 1];
        let kept = 0;
        let targetAt = -1;
        for (let p = a; p < e; p++) {
          const id = candidates.ids[p];
          if (stamp[id] === r) continue;
          stamp[id] = r;
          keptAt[kept++] = p;
          exIds[o++] = id;
          if (id === t) targetAt = p;
        }
        const beats = (p: number, q: number) => {
          const sp = candidates.scores[p];
          const sq = candidates.scores[q];
          if (sp !== sq) return sp > sq;
          const ip = candidates.ids[p];
          const iq = candidates.ids[q];
          return b[ip] > b[iq] || (b[ip] === b[iq] && ip < iq);
        };
        ordered.push(selectBest(kept, (x, y) => beats(keptAt[x], keptAt[y]), k).map((x) => candidates.ids[keptAt[x]]));
        if (repeat) {
          ranks[r] = Infinity;
          targets[r - start] = -1;
        } else if (targetAt >= 0) {
          let ahead = 0;
          for (let x = 0; x < kept; x++) if (beats(keptAt[x], targetAt)) ahead++;
          ranks[r] = ahead;
          targets[r - start] = -1;
        } else {
          ranks[r] = kept; // plus the target's engine rank below
          targets[r - start] = t;
        }
        exOffsets[r - start + 1] = o;
      }
      const res = await table.search(new Float32Array(rowsHere), {
        k,
        targets,
        exclude: { offsets: exOffsets, ids: exIds.subarray(0, o) },
        bias: this.backoff,
        logZ: false, // ranks and lists only
      });
      for (let r = start; r < end; r++) {
        const i = r - start;
        if (targets[i] >= 0) ranks[r] = res.targetRank[i] < 0 ? Infinity : ranks[r] + res.targetRank[i];
        const best = ordered[i];
        let j = 0;
        for (; j < k && j < best.length; j++) top[r * k + j] = best[j];
        for (let q = 0; j < k && q < k; q++) {
          const id = res.ids[i * k + q];
          if (id < 0) break;
          top[r * k + j++] = id;
        }
      }
      options.progress?.({ phase: 'ranking', done: end, total: n, unit: 'rows' });
    }
    return { ranks, top, k, notes: {} };
  }

  /**
   * Target ranks only, for tuning: the same numbers as rank(), computed without an engine call per
   * setting from each row's back-off rank over all non-excluded items (popRanks, one engine call for
   * all settings): a non-candidate target is beaten by the kept candidates plus the non-candidates
   * that beat it on back-off, i.e. popRank minus the kept candidates that beat it on back-off.
   */
  targetRanks(rows: RankRows, candidates: Candidates, popRanks: Float64Array, excludeHistory: boolean): Float64Array {
    const n = rows.targets.length;
    const b = this.backoff;
    const out = new Float64Array(n);
    const stamp = new Int32Array(this.count).fill(-1);
    const beatsOnBackoff = (id: number, t: number) => b[id] > b[t] || (b[id] === b[t] && id < t);
    for (let r = 0; r < n; r++) {
      const t = rows.targets[r];
      if (excludeHistory) for (let p = rows.history.offsets[r]; p < rows.history.offsets[r + 1]; p++) stamp[rows.history.ids[p]] = r;
      const a = candidates.offsets[r];
      const e = candidates.offsets[r + 1];
      if (stamp[t] === r) {
        out[r] = Infinity; // a repeat target is excluded with the history: a miss
        continue;
      }
      let st = -1; // the target's tier-1 score, -1 when it is in tier 2
      for (let p = a; p < e; p++) if (candidates.ids[p] === t) st = candidates.scores[p];
      let kept = 0; // candidates other than the target that are not excluded
      let beat = 0; // of those, the ones that beat the target (tier 1 order, or back-off order)
      for (let p = a; p < e; p++) {
        const id = candidates.ids[p];
        if (id === t || stamp[id] === r) continue;
        stamp[id] = r;
        kept++;
        const s = candidates.scores[p];
        if (st >= 0 ? s > st || (s === st && beatsOnBackoff(id, t)) : beatsOnBackoff(id, t)) beat++;
      }
      // A candidate target is beaten by the candidates ahead of it; any other target by every kept
      // candidate and by the non-candidates ahead of it on back-off (its back-off rank minus the
      // kept candidates that were ahead of it there).
      out[r] = st >= 0 ? beat : popRanks[r] + kept - beat;
    }
    return out;
  }

  dispose(): void {
    this.table?.dispose();
    this.table = null;
  }
}
