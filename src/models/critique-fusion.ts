// Critique-aware recommendation (tasks 2 and 3): a retriever scores items against the critique, a
// sequential model scores them against the history, and the two are fused per example:
//   fused(j) = (1 - w) seq(j) / max seq + w crit(j) / max crit      (each normalised to [0, 1])
// over the union of both models' candidates, with popularity back-off for every other item (the
// exact two-tier ranking of candidate-ranking.ts). Examples without a critique (82% of REGEN's, and
// all of task 1) are ranked by the sequential model alone, bit for bit.
//
// w is tuned on the valid split only: a grid of 21 values 0, 0.05, ..., 1, scored on the valid rows
// that carry a critique (the only rows w changes) by Recall@10, then NDCG@10, then MRR, the smaller
// w winning ties; deterministic. The chosen w is in the model name and so in every signature.
//
// Retrievers: BM25 over the item texts (title, brand, category path, description) with the critique
// as the query (negated stretches such as "not 0.7mm" dropped; its 200 best items are the critique's
// candidates), or a sentence encoder: the critique's embedding against the items' text embeddings,
// searched by the native engine (its top 100 items by cosine are the critique's candidates).

import { categoryPath } from '../data/categories.js';
import type { Dataset } from '../data/dataset.js';
import { defaultEngine, type Engine } from '../engine/engine.js';
import type { ItemTable } from '../engine/item-table.js';
import { cachedEmbeddings, DEFAULT_SEMSIM_MODEL, ModelUnavailableError, SentenceEncoder } from '../metrics/text/semsim.js';
import type { ExampleSet } from '../tasks/examples.js';
import { cacheDir as cacheFolder } from '../util/cache.js';
import { throttle, type ProgressFn } from '../util/progress.js';
import { Bm25Index, critiqueTerms, tokenize } from './bm25.js';
import { CandidateBuilder, SparseScores, type Candidates } from './candidate-ranking.js';
import { subsetRows, type CandidateRecommender } from './candidate-recommender.js';
import { selectBest } from './train-index.js';
import type { Ranking, RecommendOptions, Recommender } from './recommender.js';

export type CritiqueRetrieverName = 'bm25' | 'embedding';

/** An item's text for retrieval: title, brand, category path (root first), description. */
export function itemText(ds: Dataset, item: number): string {
  const parts = [ds.items.title.get(item), ds.items.brand.get(item)];
  if (ds.items.category[item] >= 0) parts.push(categoryPath(ds.categories, ds.items.category[item]).join(' '));
  parts.push(ds.items.description.get(item));
  return parts.filter((p): p is string => !!p).join(' . ');
}

export interface CritiqueRetriever {
  readonly name: string;
  /** `backoff`: the ranking's popularity, which breaks ties among equal critique scores. */
  prepare(ds: Dataset, progress?: ProgressFn, backoff?: Float32Array): Promise<void>;
  /**
   * Per critique, items with a positive score (none for a null critique). `base` (the sequential
   * model's candidates of the same rows) may be used to score those items too.
   */
  retrieve(critiques: readonly (string | null)[], base?: Candidates): Promise<Candidates>;
  dispose(): Promise<void>;
}

/**
 * Critique candidates from BM25: every base candidate the critique matches, plus the `depth` best
 * other matches in the ranking's own order (score, then popularity, then id). Among items the base
 * does not score, the fused order is exactly that order, so the cut changes no rank below `depth`:
 * it only spares fusing thousands of items that match a common word ("pen").
 */
class Bm25Retriever implements CritiqueRetriever {
  readonly name = 'bm25';
  private index: Bm25Index | null = null;
  private acc = new SparseScores(0);
  private backoff: Float32Array = new Float32Array(0);
  private inBase = new Uint8Array(0);

  constructor(private readonly depth = 200) {}

  async prepare(ds: Dataset, _progress?: ProgressFn, backoff?: Float32Array): Promise<void> {
    this.backoff = backoff ?? new Float32Array(ds.items.count);
    this.inBase = new Uint8Array(ds.items.count);
    this.index = new Bm25Index(ds.items.count, (i) => tokenize(itemText(ds, i)));
    this.acc = new SparseScores(ds.items.count);
  }

  async retrieve(critiques: readonly (string | null)[], base?: Candidates): Promise<Candidates> {
    const index = this.index;
    if (!index) throw new Error('internal: BM25 retriever not prepared');
    const out = new CandidateBuilder();
    const inBase = this.inBase;
    for (let r = 0; r < critiques.length; r++) {
      const c = critiques[r];
      this.acc.clear();
      if (c !== null) index.search(critiqueTerms(c), this.acc);
      const all = this.acc.touched();
      const { values } = this.acc;
      const ids: number[] = [];
      const scores: number[] = [];
      if (base) {
        for (let p = base.offsets[r]; p < base.offsets[r + 1]; p++) {
          const i = base.ids[p];
          inBase[i] = 1;
          if (values[i] > 0) {
            ids.push(i);
            scores.push(values[i]);
          }
        }
      }
      const found = base ? all.filter((i) => !inBase[i]) : all;
      const b = this.backoff;
      const better = (p: number, q: number) => {
        const i = found[p];
        const j = found[q];
        return values[i] > values[j] || (values[i] === values[j] && (b[i] > b[j] || (b[i] === b[j] && i < j)));
      };
      for (const p of selectBest(found.length, better, this.depth)) {
        ids.push(found[p]);
        scores.push(values[found[p]]);
      }
      out.pushRow(ids, scores);
      if (base) for (let p = base.offsets[r]; p < base.offsets[r + 1]; p++) inBase[base.ids[p]] = 0;
    }
    this.acc.clear();
    return out.build();
  }

  async dispose(): Promise<void> {}
}

/** Critique candidates from a sentence encoder: the engine's top `depth` items by cosine. */
class EmbeddingRetriever implements CritiqueRetriever {
  readonly name: string;
  private encoder: SentenceEncoder | null = null;
  private table: ItemTable | null = null;

  constructor(
    private readonly model: string,
    private readonly options: { offline?: boolean; explicit?: boolean; engine?: Engine; depth?: number; embeddingCacheDir?: string | null; log?: (line: string) => void },
  ) {
    this.name = 'emb';
  }

  /** The encoder as the signature names it: its id or folder, and its weights' hash when known. */
  get encoderName(): string {
    const sha = this.encoder?.sha256;
    return `${this.encoder?.model ?? this.model}${sha ? `@${sha.slice(0, 16)}` : ''}`;
  }

  async prepare(ds: Dataset, progress?: ProgressFn): Promise<void> {
    try {
      this.encoder = await SentenceEncoder.load({ model: this.model, offline: this.options.offline, log: this.options.log });
    } catch (e) {
      if (!(e instanceof ModelUnavailableError)) throw e;
      const hint = this.options.explicit
        ? ''
        : ` (the default encoder is only used when it is already in the cache; name one to download it: --encoder ${this.model})`;
      throw new ModelUnavailableError(`critique-emb needs a sentence encoder (--encoder hub-id|folder): ${e.message.replace(/ Fix: .*$/, '')}${hint}`);
    }
    const texts = Array.from({ length: ds.items.count }, (_, i) => itemText(ds, i));
    // Item embeddings are cached beside the data cache (src/util/cache.ts).
    const cacheDir = this.options.embeddingCacheDir === undefined ? cacheFolder('embeddings') : this.options.embeddingCacheDir;
    const { data, dim } = await cachedEmbeddings(this.encoder, texts, cacheDir, (done, total) =>
      progress?.({ phase: 'embedding item texts', done, total, unit: 'rows' }),
    );
    this.table = await (this.options.engine ?? defaultEngine()).createTable(data, { dim });
  }

  async retrieve(critiques: readonly (string | null)[]): Promise<Candidates> {
    const { encoder, table } = this;
    if (!encoder || !table) throw new Error('internal: embedding retriever not prepared');
    const rows = critiques.flatMap((c, i) => (c === null ? [] : [i]));
    const depth = Math.min(this.options.depth ?? 100, table.count);
    const out = new CandidateBuilder();
    if (rows.length === 0) {
      for (let i = 0; i < critiques.length; i++) out.pushRow([], []);
      return out.build();
    }
    const q = await encoder.embed(rows.map((i) => critiques[i] as string));
    const res = await table.search(q.data, { k: depth, logZ: false });
    let next = 0;
    for (let i = 0; i < critiques.length; i++) {
      if (rows[next] !== i) {
        out.pushRow([], []);
        continue;
      }
      out.pushRow(res.ids.subarray(next * depth, (next + 1) * depth), res.scores.subarray(next * depth, (next + 1) * depth));
      next++;
    }
    return out.build();
  }

  async dispose(): Promise<void> {
    this.table?.dispose();
    this.table = null;
    await this.encoder?.dispose();
    this.encoder = null;
  }
}

/** The fused candidates of each row (rows without critique candidates keep the base's as they are). */
export function fuseCandidates(base: Candidates, critique: Candidates, w: number, acc: SparseScores): Candidates {
  const out = new CandidateBuilder();
  const rows = base.offsets.length - 1;
  for (let r = 0; r < rows; r++) {
    const b0 = base.offsets[r];
    const b1 = base.offsets[r + 1];
    const c0 = critique.offsets[r];
    const c1 = critique.offsets[r + 1];
    if (c0 === c1) {
      out.pushRow(base.ids.subarray(b0, b1), base.scores.subarray(b0, b1));
      continue;
    }
    let bmax = 0;
    let cmax = 0;
    for (let p = b0; p < b1; p++) bmax = Math.max(bmax, base.scores[p]);
    for (let p = c0; p < c1; p++) cmax = Math.max(cmax, critique.scores[p]);
    acc.clear();
    if (w < 1) for (let p = b0; p < b1; p++) acc.add(base.ids[p], ((1 - w) * base.scores[p]) / bmax);
    if (w > 0) for (let p = c0; p < c1; p++) acc.add(critique.ids[p], (w * critique.scores[p]) / cmax);
    out.pushScores(acc);
  }
  acc.clear();
  return out.build();
}

export const FUSION_GRID: readonly number[] = Array.from({ length: 21 }, (_, i) => i / 20);

export interface FusionTuning {
  weight: number;
  /** Valid rows with a critique (those w is scored on) and all valid rows. */
  rows: number;
  validRows: number;
  /** Per grid value: its valid-split metrics. */
  grid: { w: number; recall: number; ndcg: number; mrr: number }[];
}

export class CritiqueFusionRecommender implements Recommender {
  readonly usesCritique = true;
  readonly answers = 'computed';
  readonly retriever: CritiqueRetriever;
  private weightValue: number | null;
  private acc = new SparseScores(0);
  tuning: FusionTuning | null = null;

  constructor(
    readonly base: CandidateRecommender,
    retriever: CritiqueRetrieverName,
    options: {
      engine?: Engine;
      encoder?: string;
      offline?: boolean;
      weight?: number;
      embeddingCacheDir?: string | null;
      /** Critique-only candidates kept per row (default 200 for BM25, 100 for embeddings). */
      depth?: number;
      /** Hears what is downloaded and from where. */
      log?: (line: string) => void;
    } = {},
  ) {
    this.retriever =
      retriever === 'bm25'
        ? new Bm25Retriever(options.depth)
        : new EmbeddingRetriever(options.encoder ?? DEFAULT_SEMSIM_MODEL, {
            // The network only when asked: the default encoder is used from the cache; a named hub id may be downloaded.
            offline: options.offline || options.encoder === undefined,
            explicit: options.encoder !== undefined,
            engine: options.engine,
            embeddingCacheDir: options.embeddingCacheDir,
            depth: options.depth,
            log: options.log,
          });
    if (options.weight !== undefined && !(options.weight >= 0 && options.weight <= 1))
      throw new RangeError(`Expected a fusion weight in [0, 1] but received ${options.weight}`);
    this.weightValue = options.weight ?? null;
  }

  get weight(): number {
    if (this.weightValue === null) throw new Error(`internal: ${this.name}.prepare() was not called`);
    return this.weightValue;
  }

  get name(): string {
    const w = this.weightValue === null ? '?' : String(this.weightValue);
    const enc = this.retriever instanceof EmbeddingRetriever ? `,encoder=${this.retriever.encoderName}` : '';
    return `critique-${this.retriever.name}+${this.base.name}(w=${w}${this.tuning ? ',tuned-on-valid' : ''}${enc})`;
  }

  get summary(): string | undefined {
    const t = this.tuning;
    if (!t) return undefined;
    const best = t.grid.find((g) => g.w === t.weight)!;
    const none = t.grid[0];
    return (
      `${this.name}: fusion weight ${t.weight} tuned on the ${t.rows.toLocaleString('en-US')} valid rows with a critique ` +
      `(of ${t.validRows.toLocaleString('en-US')}): Recall@10 ${best.recall.toFixed(4)} there (w = 0, history only: ${none.recall.toFixed(4)})`
    );
  }

  async prepare(examples: ExampleSet | { dataset: Dataset }, progress?: ProgressFn): Promise<void> {
    const ds = examples.dataset;
    await this.base.prepare(examples, progress);
    await this.retriever.prepare(ds, progress, this.base.ranker.backoff);
    this.acc = new SparseScores(ds.items.count);
    if (this.weightValue === null) this.tuning = await this.tune(ds, progress);
    if (this.tuning) this.weightValue = this.tuning.weight;
  }

  private async tune(ds: Dataset, progress?: ProgressFn): Promise<FusionTuning> {
    const valid = ds.split.valid;
    const picked: number[] = [];
    for (let r = 0; r < valid.users.length; r++) if (!ds.events.critique.isNull(valid.events[r])) picked.push(r);
    const rows = subsetRows(valid, picked);
    // Seconds at Office scale (16,079 rows): the base model's candidates, then one ranking per weight.
    const phase = `tuning the fusion weight (candidates of the valid rows with a critique, then ${FUSION_GRID.length} weights)`;
    const say = throttle(progress);
    const steps = picked.length + FUSION_GRID.length;
    say?.({ phase, done: 0, total: steps, unit: 'rows' });
    const base = this.base.candidates(rows, (done) => say?.({ phase, done, total: steps, unit: 'rows' }));
    const critique = await this.retriever.retrieve(picked.map((r) => ds.events.critique.get(valid.events[r])), base);
    // Each row's back-off rank over all non-excluded items, once; every w then costs O(candidates).
    const none: Candidates = { offsets: new Int32Array(rows.length + 1), ids: new Int32Array(0), scores: new Float64Array(0) };
    const popRanks = (await this.base.ranker.rank(rows, none, { k: 1, excludeHistory: true })).ranks;
    const grid: FusionTuning['grid'] = [];
    let best: FusionTuning['grid'][number] | null = null;
    for (const w of FUSION_GRID) {
      const ranks = this.base.ranker.targetRanks(rows, fuseCandidates(base, critique, w, this.acc), popRanks, true);
      let recall = 0;
      let ndcg = 0;
      let mrr = 0;
      for (const r of ranks) {
        mrr += 1 / (r + 1);
        if (r < 10) {
          recall++;
          ndcg += 1 / Math.log2(r + 2);
        }
      }
      const n = Math.max(1, ranks.length);
      const g = { w, recall: recall / n, ndcg: ndcg / n, mrr: mrr / n };
      grid.push(g);
      say?.({ phase, done: picked.length + grid.length, total: steps, unit: 'rows' });
      if (!best || g.recall > best.recall || (g.recall === best.recall && (g.ndcg > best.ndcg || (g.ndcg === best.ndcg && g.mrr > best.mrr)))) best = g;
    }
    return { weight: best!.w, rows: rows.length, validRows: valid.users.length, grid };
  }

  async recommend(examples: ExampleSet, options: RecommendOptions): Promise<Ranking> {
    const base = this.base.candidates(examples);
    const critiques = Array.from({ length: examples.length }, (_, i) => examples.critique(i));
    const critique = await this.retriever.retrieve(critiques, base);
    return this.base.ranker.rank(examples, fuseCandidates(base, critique, this.weight, this.acc), options);
  }

  dispose(): void {
    this.base.dispose();
    void this.retriever.dispose();
  }
}
