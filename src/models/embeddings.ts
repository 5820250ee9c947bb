// A model handed in as embeddings: one query vector per example and an item matrix with its id list,
// scored by the native engine (exact ranks, history excluded).
import { existsSync } from 'node:fs';

import { defaultEngine, type Engine } from '../engine/engine.js';
import type { ItemTable } from '../engine/item-table.js';
import type { ExampleSet } from '../tasks/examples.js';
import { contentHash } from '../data/files.js';
import { Issues, type InputFile } from '../data/report.js';
import { preview } from '../util/json.js';
import { readEmbeddings, readIdListLines, type EmbeddingMatrix } from './embeddings-file.js';
import { rankWithEngine } from './engine-ranking.js';
import type { Ranking, RecommendOptions, Recommender } from './recommender.js';
import { OptionError, type OptionMessage } from '../util/option-error.js';

export interface EmbeddingFiles {
  /** .npy or .safetensors, one row per example (or per queryIds entry). */
  queries: string;
  /** .npy or .safetensors, one row per itemIds entry. */
  items: string;
  /** Item ids (asins) of the item rows; default: <items>.ids.txt or .ids.json beside the file. */
  itemIds?: string;
  /** User ids of the query rows; default: the rows follow the example order. */
  queryIds?: string;
  /** safetensors tensor names. */
  queryTensor?: string;
  itemTensor?: string;
  precision?: 'fp32' | 'bf16';
  /** Where file hashes are remembered (see contentHash); null or absent: not remembered. */
  hashMemoDir?: string | null;
  /** Hears each problem of the id lists as it is found (the CLI prints it on stderr). */
  warn?: (line: string) => void;
}

/** Embedding files that cannot be used (messages name options as the caller calls them). */
export class EmbeddingError extends OptionError {
  override name = 'EmbeddingError';
  constructor(message: string | OptionMessage, option = 'items') {
    super(option, typeof message === 'string' ? () => message : message);
  }
}

function siblingIds(file: string): string | undefined {
  const stem = file.replace(/\.(npy|safetensors)$/, '');
  return [`${stem}.ids.txt`, `${stem}.ids.json`].find((f) => existsSync(f));
}

function checkFinite(m: EmbeddingMatrix, what: string): void {
  if (m.nonFinite === 0) return;
  const i = m.data.findIndex((x) => !Number.isFinite(x));
  throw new EmbeddingError(
    `${m.file}: ${m.nonFinite} NaN or infinite values in the ${what} (first at row ${Math.floor(i / m.dim)}, column ${i % m.dim}); fix the model's output`,
  );
}

export class EmbeddingRecommender implements Recommender {
  readonly name: string;
  readonly usesCritique = true; // the queries are whatever the model computed for the task given
  readonly answers = 'given';
  private table: ItemTable | null = null;
  private queries: Float32Array = new Float32Array(0);
  private bias: Float32Array | undefined;
  /** Examples (of the full set) without a query vector. */
  private missingRows = new Set<number>();
  private notes: Record<string, number> = {};
  private files_: InputFile[] = [];

  constructor(
    private readonly files: EmbeddingFiles,
    private readonly engine: Engine = defaultEngine(),
  ) {
    this.name = `embeddings:${files.queries.split(/[\\/]/).pop()}`;
  }

  /** Reads both files, aligns their rows with the dataset's items and the full example set. */
  async prepare(examples: ExampleSet): Promise<void> {
    const ds = examples.dataset;
    const f = this.files;
    const [q, e] = await Promise.all([readEmbeddings(f.queries, { tensor: f.queryTensor }), readEmbeddings(f.items, { tensor: f.itemTensor })]);
    checkFinite(q, 'queries');
    checkFinite(e, 'items');
    if (q.dim !== e.dim) throw new EmbeddingError(`${f.queries} has dimension ${q.dim} but ${f.items} has ${e.dim}: both must come from the same model`);
    const notes: Record<string, number> = {};
    const count = (what: string) => (notes[what] = (notes[what] ?? 0) + 1);
    const hash = (file: string) => contentHash(file, f.hashMemoDir ?? null);
    const inputs: InputFile[] = [
      { role: 'queries', file: f.queries, sha256: await hash(f.queries), records: q.rows, badRecords: 0, recordUnit: 'rows', issues: [] },
      { role: 'items', file: f.items, sha256: await hash(f.items), records: e.rows, badRecords: 0, recordUnit: 'rows', issues: [] },
    ];
    this.files_ = inputs;

    // Items, put in dataset id order. Items without a vector get a -Infinity bias: ranked after every scored item.
    const idFile = f.itemIds ?? siblingIds(f.items);
    let itemRow: Int32Array;
    if (idFile) {
      const list = await readIdListLines(idFile);
      const { ids } = list;
      if (ids.length !== e.rows) throw new EmbeddingError(`${idFile} lists ${ids.length} ids but ${f.items} has ${e.rows} rows`);
      const issues = new Issues(false, f.warn);
      itemRow = new Int32Array(ds.items.count).fill(-1);
      ids.forEach((asin, row) => {
        const id = ds.itemId(asin);
        const where = list.where(row);
        if (id === undefined) {
          count('item vectors for ids not in the dataset (ignored)');
          issues.add('unknown-item', where, `item ${preview(asin)} is not in the dataset`, 'Ignore its vector');
        } else if (itemRow[id] < 0) itemRow[id] = row;
        else {
          count('item ids listed twice (first row used)');
          issues.add('duplicate-item', where, `item ${preview(asin)} is listed on an earlier line`, 'Use the first row');
        }
      });
      const report = issues.report();
      inputs.push({ role: 'item ids', file: idFile, sha256: list.sha256, ids: ids.length, badIds: issues.count(), issues: report.issues });
    } else if (e.rows === ds.items.count) {
      itemRow = Int32Array.from({ length: e.rows }, (_, i) => i);
      notes['item rows taken in dataset order (no id list)'] = e.rows;
    } else {
      throw new EmbeddingError(
        (l) =>
          `${f.items} has ${e.rows} rows but the dataset has ${ds.items.count} items and no id list says which is which: ` +
          `pass ${l('itemIds')} (one asin per line), or put ${f.items.replace(/\.(npy|safetensors)$/, '')}.ids.txt beside it`,
        'itemIds',
      );
    }
    const dim = e.dim;
    const items = new Float32Array(ds.items.count * dim);
    const bias = new Float32Array(ds.items.count);
    let missing = 0;
    for (let id = 0; id < ds.items.count; id++) {
      if (itemRow[id] < 0) {
        bias[id] = -Infinity;
        missing++;
      } else items.set(e.data.subarray(itemRow[id] * dim, (itemRow[id] + 1) * dim), id * dim);
    }
    if (missing) notes['dataset items without a vector (ranked last)'] = missing;
    this.bias = missing ? bias : undefined;

    // Queries, in example order.
    if (f.queryIds) {
      const list = await readIdListLines(f.queryIds);
      const users = list.ids;
      if (users.length !== q.rows) throw new EmbeddingError(`${f.queryIds} lists ${users.length} users but ${f.queries} has ${q.rows} rows`);
      const issues = new Issues(false, f.warn);
      const rowOf = new Map<string, number>();
      users.forEach((u, row) => {
        const where = list.where(row);
        if (rowOf.has(u)) {
          count('query users listed twice (first row used)');
          issues.add('duplicate-user', where, `user ${preview(u)} is listed on an earlier line`, 'Use the first row');
        } else {
          rowOf.set(u, row);
          if (ds.userIndex(u) === undefined) issues.add('unknown-user', where, `user ${preview(u)} is not in the dataset`, 'Ignore its vector');
        }
      });
      inputs.push({ role: 'query ids', file: f.queryIds, sha256: list.sha256, ids: users.length, badIds: issues.count(), issues: issues.report().issues });
      this.queries = new Float32Array(examples.length * dim);
      let used = 0;
      for (let i = 0; i < examples.length; i++) {
        const row = rowOf.get(ds.users.reviewerId.get(examples.users[i]) ?? '');
        if (row === undefined) this.missingRows.add(i);
        else {
          this.queries.set(q.data.subarray(row * dim, (row + 1) * dim), i * dim);
          used++;
        }
      }
      if (used < rowOf.size) notes['query vectors for users not in the examples (ignored)'] = rowOf.size - used;
    } else {
      if (q.rows !== examples.length)
        throw new EmbeddingError(
          (l) =>
            `${f.queries} has ${q.rows} rows but the ${examples.split} split has ${examples.length} examples: give one row per example, ` +
            `in example order, or pass ${l('queryIds')} (one user id per row)`,
          'queryIds',
        );
      this.queries = q.data;
    }
    this.notes = notes;
    this.table = await this.engine.createTable(items, { dim, precision: f.precision });
  }

  /** The files read, by content hash, with the id lists' problems (after prepare). */
  inputs(): InputFile[] {
    return this.files_;
  }

  async recommend(examples: ExampleSet, options: RecommendOptions): Promise<Ranking> {
    if (!this.table) throw new Error('internal: EmbeddingRecommender.prepare() was not called');
    const dim = this.table.dim;
    const queries = this.queries.subarray(examples.base * dim, (examples.base + examples.length) * dim);
    const ranking = await rankWithEngine(this.table, queries, examples, { ...options, bias: this.bias });
    const notes: Record<string, number> = examples.base === 0 ? { ...this.notes } : {};
    for (let i = 0; i < examples.length; i++) {
      if (!this.missingRows.has(examples.base + i)) continue;
      ranking.ranks[i] = Infinity;
      ranking.top.fill(-1, i * ranking.k, (i + 1) * ranking.k);
      notes['examples without a query vector (scored as misses)'] = (notes['examples without a query vector (scored as misses)'] ?? 0) + 1;
    }
    return { ...ranking, notes };
  }

  dispose(): void {
    this.table?.dispose();
    this.table = null;
  }
}
