// A checkpoint written by `regen-bench train` (SASRec, BERT4Rec, FLARE-style) as a recommender:
// each example's history (and, for flare on tasks 2 and 3, its critiques) runs through the
// transformer body, and the engine ranks every item against the hidden state (full ranking,
// history excluded, exact ranks). The signature names the checkpoint by the hash of its weights.
import type { Dataset } from '../data/dataset.js';
import { defaultEngine, type Engine } from '../engine/engine.js';
import type { ItemTable } from '../engine/item-table.js';
import { TransformerBody } from '../engine/train-kernels.js';
import type { ExampleSet } from '../tasks/examples.js';
import type { ProgressFn } from '../util/progress.js';
import { CheckpointError, loadCheckpoint, type LoadedCheckpoint } from '../train/checkpoint.js';
import { encodeRows, type CritiqueFeatures, type ScoringRows } from '../train/data.js';
import { critiqueFeatures, openTextEncoder } from '../train/text-features.js';
import { rankWithEngine } from './engine-ranking.js';
import type { Ranking, RecommendOptions, Recommender } from './recommender.js';

export class TrainedRecommender implements Recommender {
  readonly name: string;
  readonly usesCritique: boolean;
  readonly answers = 'computed' as const;
  summary?: string;
  private readonly ck: LoadedCheckpoint;
  private body: TransformerBody | null = null;
  private table: ItemTable | null = null;
  private dataset: Dataset | null = null;
  /** Dataset item id -> checkpoint row (null when they are the same list). */
  private toCheckpoint: Int32Array | null = null;
  private critiques: CritiqueFeatures | null = null;

  constructor(
    readonly dir: string,
    private readonly options: { engine?: Engine; offline?: boolean } = {},
  ) {
    this.ck = loadCheckpoint(dir);
    const c = this.ck.config;
    this.name = `trained:${c.model}@${this.ck.hash.slice(0, 16)}`;
    this.usesCritique = c.body.critiqueDim > 0;
  }

  async prepare(examples: ExampleSet, progress?: ProgressFn): Promise<void> {
    if (this.body) return;
    const ds = examples.dataset;
    const c = this.ck.config;
    // Items by id: the checkpoint's rows follow its item_ids.txt.
    const index = new Map<string, number>();
    this.ck.itemIds.forEach((id, i) => index.set(id, i));
    const N = ds.items.count;
    let same = N === this.ck.itemIds.length;
    const map = new Int32Array(N);
    const missing: string[] = [];
    for (let i = 0; i < N; i++) {
      const asin = ds.items.asin.get(i) ?? String(i);
      const j = index.get(asin);
      if (j === undefined) {
        missing.push(asin);
        continue;
      }
      map[i] = j;
      if (j !== i) same = false;
    }
    if (missing.length > 0)
      throw new CheckpointError(
        `${this.dir} was trained on ${c.data.name} (${this.ck.itemIds.length} items) and does not know ${missing.length} of this dataset's ${N} items (e.g. ${missing.slice(0, 3).join(', ')}). ` +
          `Evaluate it on the data it was trained on, or train on this dataset`,
      );
    this.toCheckpoint = same ? null : map;
    const dim = c.body.dim;
    const rows = this.ck.tensors.rows.data;
    const ordered = same ? rows : new Float32Array(N * dim);
    if (!same) for (let i = 0; i < N; i++) ordered.set(rows.subarray(map[i] * dim, map[i] * dim + dim), i * dim);

    const engine = this.options.engine ?? defaultEngine();
    const body = await TransformerBody.create({ ...c.body, dropout: 0, attnDropout: 0 }, { seed: 0, engine });
    try {
      const params = new Float32Array(body.numParams);
      for (const t of body.tensors) {
        const src = this.ck.tensors[t.name];
        const n = t.shape.reduce((a, b) => a * b, 1);
        if (!src || src.data.length !== n) throw new CheckpointError(`${this.dir}/model.safetensors: tensor ${t.name} is missing or has the wrong size (expected ${t.shape.join(' x ')})`);
        params.set(src.data, t.offset);
      }
      body.setState('params', params);
      // The body reads item rows through its parameters; content rows must come from the checkpoint's table.
      if (c.body.contentDim > 0) await this.restoreContentRows(body, rows);
      this.table = await engine.createTable(ordered, { dim });
      if (this.usesCritique && examples.usesCritique) {
        if (!c.textEncoder) throw new CheckpointError(`${this.dir}/config.json: a critique-aware model without its textEncoder`);
        const enc = await openTextEncoder(c.textEncoder.kind === 'builtin' ? 'builtin' : c.textEncoder.model, { offline: this.options.offline ?? true });
        try {
          if (enc.info.fingerprint !== c.textEncoder.fingerprint)
            throw new CheckpointError(`${this.dir} was trained with text encoder ${c.textEncoder.model} (${c.textEncoder.fingerprint}); the one found now differs (${enc.info.fingerprint})`);
          this.critiques = await critiqueFeatures(ds, enc, (done, total) => progress?.({ phase: 'embedding critiques', done, total, unit: 'rows' }));
        } finally {
          await enc.dispose();
        }
      }
    } catch (e) {
      body.dispose();
      this.table?.dispose();
      this.table = null;
      throw e;
    }
    this.body = body;
    this.dataset = ds;
    const best = c.best ? `, epoch ${c.best.epoch} (valid NDCG@10 ${c.best.valid['ndcg@10'].toFixed(4)})` : '';
    this.summary = `checkpoint ${this.dir}: ${c.model} trained on ${c.data.name}${best}; ${this.name}`;
  }

  /**
   * With content (flare), an item's input row is item_emb + content @ content_proj. The checkpoint
   * holds that sum as `rows`; the content features themselves are not stored, so the body gets the
   * rows as its item embeddings and a zero projection: the same inputs, no text encoder needed.
   */
  private async restoreContentRows(body: TransformerBody, rows: Float32Array): Promise<void> {
    const params = body.getState('params');
    const emb = body.tensors.find((t) => t.name === 'item_emb')!;
    params.set(rows, emb.offset);
    const proj = body.tensors.find((t) => t.name === 'content_proj')!;
    params.fill(0, proj.offset, proj.offset + proj.shape[0] * proj.shape[1]);
    body.setState('params', params);
    body.setContent(new Float32Array(body.config.items * body.config.contentDim));
  }

  async recommend(examples: ExampleSet, options: RecommendOptions): Promise<Ranking> {
    if (!this.body || !this.table || !this.dataset) await this.prepare(examples);
    const body = this.body!;
    const ds = examples.dataset;
    const n = examples.length;
    const map = this.toCheckpoint;
    const history = map ? { offsets: examples.history.offsets, ids: Int32Array.from(examples.history.ids, (i) => map[i]) } : examples.history;
    const rows: ScoringRows = { history };
    const critiques = examples.usesCritique ? this.critiques : null;
    if (critiques) {
      // History item k of example i is event offsets[user] + k; the target is the next event.
      rows.firstEvent = Int32Array.from(examples.users, (u) => ds.users.offsets[u]);
      rows.targetCritique = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const e = rows.firstEvent[i] + (history.offsets[i + 1] - history.offsets[i]);
        rows.targetCritique[i] = e < critiques.row.length ? critiques.row[e] : -1;
      }
    }
    const c = this.ck.config;
    options.progress?.({ phase: 'encoding histories', done: 0, total: n, unit: 'rows' });
    const queries = await encodeRows(body, rows, { objective: c.objective, maxLen: c.body.maxLen, critiques });
    return rankWithEngine(this.table!, queries, examples, { k: options.k, excludeHistory: options.excludeHistory, progress: options.progress });
  }

  dispose(): void {
    this.body?.dispose();
    this.table?.dispose();
    this.body = null;
    this.table = null;
  }
}
