// A model handed in as embeddings: one query vector per example and an item matrix with its id list,
// scored by the native engine (exact ranks, history excluded).
import { existsSync } from 'node:fs';

import { ItemTable, type Device } from '../engine/item-table.js';
import type { ExampleSet } from '../tasks/examples.js';
import { readEmbeddings, readIdList, type EmbeddingMatrix } from './embeddings-file.js';
import { rankWithEngine } from './engine-ranking.js';
import type { Ranking, RecommendOptions, Recommender } from './recommender.js';

export interface EmbeddingFiles {
  /** .npy or .safetensors, one row per example (or per --query-ids entry). */
  queries: string;
  /** .npy or .safetensors, one row per --item-ids entry. */
  items: string;
  /** Item ids (asins) of the item rows; default: <items>.ids.txt or .ids.json beside the file. */
  itemIds?: string;
  /** User ids of the query rows; default: the rows follow the example order. */
  queryIds?: string;
  /** safetensors tensor names. */
  queryTensor?: string;
  itemTensor?: string;
  precision?: 'fp32' | 'bf16';
}

export class EmbeddingError extends Error {
  override name = 'EmbeddingError';
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

  constructor(private readonly files: EmbeddingFiles) {
    this.name = `embeddings:${files.queries.split(/[\\/]/).pop()}`;
  }

  async recommend(examples: ExampleSet, options: RecommendOptions): Promise<Ranking> {
    const ds = examples.dataset;
    const f = this.files;
    const [q, e] = await Promise.all([readEmbeddings(f.queries, { tensor: f.queryTensor }), readEmbeddings(f.items, { tensor: f.itemTensor })]);
    checkFinite(q, 'queries');
    checkFinite(e, 'items');
    if (q.dim !== e.dim) throw new EmbeddingError(`${f.queries} has dimension ${q.dim} but ${f.items} has ${e.dim}: both must come from the same model`);
    const notes: Record<string, number> = {};

    // Items, put in dataset id order. Items without a vector get a -Infinity bias: never ranked above any scored item.
    const idFile = f.itemIds ?? siblingIds(f.items);
    let itemRow: Int32Array;
    if (idFile) {
      const ids = await readIdList(idFile);
      if (ids.length !== e.rows) throw new EmbeddingError(`${idFile} lists ${ids.length} ids but ${f.items} has ${e.rows} rows`);
      itemRow = new Int32Array(ds.items.count).fill(-1);
      let unknown = 0;
      ids.forEach((asin, row) => {
        const id = ds.itemId(asin);
        if (id === undefined) unknown++;
        else if (itemRow[id] < 0) itemRow[id] = row;
        else notes['item ids listed twice (first row used)'] = (notes['item ids listed twice (first row used)'] ?? 0) + 1;
      });
      if (unknown) notes['item vectors for ids not in the dataset (ignored)'] = unknown;
    } else if (e.rows === ds.items.count) {
      itemRow = Int32Array.from({ length: e.rows }, (_, i) => i);
      notes['item rows taken in dataset order (no id list)'] = e.rows;
    } else {
      throw new EmbeddingError(
        `${f.items} has ${e.rows} rows but the dataset has ${ds.items.count} items and no id list says which is which: ` +
          `pass --item-ids (one asin per line), or put ${f.items.replace(/\.(npy|safetensors)$/, '')}.ids.txt beside it`,
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

    // Queries, in example order.
    let queries: Float32Array;
    const missingRows = new Set<number>();
    if (f.queryIds) {
      const users = await readIdList(f.queryIds);
      if (users.length !== q.rows) throw new EmbeddingError(`${f.queryIds} lists ${users.length} users but ${f.queries} has ${q.rows} rows`);
      const rowOf = new Map<string, number>();
      users.forEach((u, row) => {
        if (rowOf.has(u)) notes['query users listed twice (first row used)'] = (notes['query users listed twice (first row used)'] ?? 0) + 1;
        else rowOf.set(u, row);
      });
      queries = new Float32Array(examples.length * dim);
      let used = 0;
      for (let i = 0; i < examples.length; i++) {
        const row = rowOf.get(examples.example(i).user);
        if (row === undefined) missingRows.add(i);
        else {
          queries.set(q.data.subarray(row * dim, (row + 1) * dim), i * dim);
          used++;
        }
      }
      if (missingRows.size) notes['examples without a query vector (scored as misses)'] = missingRows.size;
      if (used < rowOf.size) notes['query vectors for users not in the examples (ignored)'] = rowOf.size - used;
    } else {
      if (q.rows !== examples.length)
        throw new EmbeddingError(
          `${f.queries} has ${q.rows} rows but the ${examples.split} split has ${examples.length} examples: give one row per example, ` +
            `in example order, or pass --query-ids (one user id per row)`,
        );
      queries = q.data;
    }

    const table = await ItemTable.create(items, { dim, device: options.device as Device | undefined, precision: f.precision });
    try {
      const ranking = await rankWithEngine(table, queries, examples, { ...options, bias: missing ? bias : undefined });
      for (const i of missingRows) {
        ranking.ranks[i] = Infinity;
        ranking.top.fill(-1, i * ranking.k, (i + 1) * ranking.k);
      }
      return { ...ranking, notes };
    } finally {
      table.dispose();
    }
  }
}
