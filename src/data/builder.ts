// Builds a normalised dataset from any source, one user at a time. Numeric columns grow in memory
// (about 20 bytes a purchase); text columns go to disk in shards as they fill when the builder has a
// folder to write to, so that Clothing-sized input (millions of reviews) needs no more memory than
// its numeric columns and one shard.
import path from 'node:path';

import { CategoryTreeBuilder, CRITIQUE_MIN_SHARED_LEVELS, sharedLevels } from './categories.js';
import { NARRATIVE_KINDS, type Dataset, type DatasetMeta, type NarrativeKind } from './dataset.js';
import { Growable } from './growable.js';
import { writeFileAtomic } from '../util/files.js';
import type { ProgressFn } from '../util/progress.js';
import {
  assembleDataset,
  SCORE_PREFIX,
  STORE_FORMAT,
  STORE_VERSION,
  TEXT_COLUMNS,
  writeNumericFile,
  writeTextShard,
  type Manifest,
  type NumericArray,
  type TableEntry,
  type TableName,
} from './store.js';
import { TextColumnBuilder, Utf8Column } from './text-column.js';

/** Text bytes per shard file. */
export const DEFAULT_SHARD_BYTES = 256 * 2 ** 20;

export interface ItemFields {
  title?: string | null;
  brand?: string | null;
  description?: string | null;
  /** Category levels, root first. */
  category?: readonly string[] | null;
  price?: number | null;
}

export interface EventInput {
  item: number;
  /** 1-5; 0 (or absent) when unknown. */
  rating?: number;
  /** Unix seconds; NaN (or absent) when unknown. */
  time?: number;
  critique?: string | null;
  reviewSummary?: string | null;
  reviewText?: string | null;
  scores?: Record<string, number>;
}

/** The text columns of one table: filled row by row, cut into shards at a size, written when a folder is set. */
class TableText {
  readonly builders: TextColumnBuilder[];
  readonly shards: { file: string; start: number; rows: number }[] = [];
  readonly fileSizes: Record<string, number> = {};
  readonly fileSums: Record<string, string> = {};
  private rows = 0;
  private shardStart = 0;

  constructor(
    readonly table: TableName,
    readonly columns: string[],
    private readonly shardBytes: number,
    private readonly dir: string | null,
  ) {
    this.builders = columns.map(() => new TextColumnBuilder());
  }

  /** Call after each row (every column got one value). */
  rowDone(): void {
    this.rows++;
    let pending = 0;
    for (const b of this.builders) pending += b.pendingBytes;
    if (pending >= this.shardBytes) this.cut();
  }

  private cut(): void {
    const chunks = this.builders.map((b) => b.cut());
    if (!chunks[0]) return;
    const rows = chunks[0].rows;
    if (this.dir) {
      const file = `${this.table}.text-${String(this.shards.length).padStart(4, '0')}.arrow`;
      const written = writeTextShard(
        path.join(this.dir, file),
        this.table,
        this.shardStart,
        chunks.map((c, i) => ({ name: this.columns[i], data: c!.data! })),
      );
      this.fileSizes[file] = written.bytes;
      this.fileSums[file] = written.sha256;
      this.shards.push({ file, start: this.shardStart, rows });
      for (const c of chunks) c!.data = null; // on disk now; the builder's in-memory result is not used
    }
    this.shardStart += rows;
  }

  finish(): Map<string, Utf8Column> {
    this.cut();
    if (this.shardStart !== this.rows) throw new Error(`internal: ${this.table} text has ${this.shardStart} rows, expected ${this.rows}`);
    return new Map(this.columns.map((c, i) => [c, new Utf8Column(this.builders[i].cutAll())]));
  }
}

class ScoreColumns {
  readonly columns = new Map<string, Growable<Float32Array>>();
  set(row: number, scores: Record<string, number> | undefined): void {
    if (!scores) return;
    for (const [name, value] of Object.entries(scores)) {
      let col = this.columns.get(name);
      if (!col) this.columns.set(name, (col = new Growable(Float32Array, 1024, NaN)));
      col.set(row, value);
    }
  }
  finish(rows: number): Record<string, Float32Array> {
    const out: Record<string, Float32Array> = {};
    for (const name of [...this.columns.keys()].sort()) {
      const c = this.columns.get(name)!;
      c.padTo(rows);
      out[name] = c.finish();
    }
    return out;
  }
}

export class DatasetBuilder {
  readonly categories = new CategoryTreeBuilder();
  private readonly dir: string | null;
  private readonly shardBytes: number;

  private readonly asins: string[] = [];
  private readonly itemIndex = new Map<string, number>();
  private readonly itemTitle: (string | null)[] = [];
  private readonly itemBrand: (string | null)[] = [];
  private readonly itemDescription: (string | null)[] = [];
  private readonly itemCategory = new Growable(Int32Array, 1024, -1);
  private readonly itemPrice = new Growable(Float64Array, 1024, NaN);

  private readonly userIds = new Set<string>();
  private readonly userText: TableText;
  private readonly eventStart = new Growable(Int32Array);
  private readonly userScores = new ScoreColumns();
  private userOpen = false;

  private readonly eventUser = new Growable(Int32Array);
  private readonly eventItem = new Growable(Int32Array);
  private readonly eventRating = new Growable(Uint8Array);
  private readonly eventTime = new Growable(Float64Array);
  private readonly eventText: TableText;
  private readonly eventScores = new ScoreColumns();

  /** `dir`: an empty folder to write the dataset into (shards as they fill); omit to build in memory. */
  constructor(opts: { dir?: string; shardBytes?: number } = {}) {
    this.dir = opts.dir ?? null;
    this.shardBytes = opts.shardBytes ?? DEFAULT_SHARD_BYTES;
    this.userText = new TableText('users', TEXT_COLUMNS.users, this.shardBytes, this.dir);
    this.eventText = new TableText('events', TEXT_COLUMNS.events, this.shardBytes, this.dir);
  }

  get itemCount(): number {
    return this.asins.length;
  }
  get userCount(): number {
    return this.eventStart.length;
  }
  get eventCount(): number {
    return this.eventItem.length;
  }

  findItem(asin: string): number | undefined {
    return this.itemIndex.get(asin);
  }

  /** Adds an item (its id is the next dense id). The asin must be new. */
  addItem(asin: string, fields: ItemFields = {}): number {
    if (this.itemIndex.has(asin)) throw new Error(`internal: item ${asin} added twice`);
    const id = this.asins.length;
    this.asins.push(asin);
    this.itemIndex.set(asin, id);
    this.itemTitle.push(null);
    this.itemBrand.push(null);
    this.itemDescription.push(null);
    this.itemCategory.set(id, -1);
    this.itemPrice.set(id, NaN);
    this.setItemFields(id, fields);
    return id;
  }

  /** Sets the fields given (others stay). */
  setItemFields(id: number, f: ItemFields): void {
    if (f.title !== undefined) this.itemTitle[id] = f.title;
    if (f.brand !== undefined) this.itemBrand[id] = f.brand;
    if (f.description !== undefined) this.itemDescription[id] = f.description;
    if (f.category !== undefined) this.itemCategory.set(id, f.category ? this.categories.node(f.category) : -1);
    if (f.price !== undefined) this.itemPrice.set(id, f.price ?? NaN);
  }

  /** The item's current title (to compare repeated descriptions of one item). */
  itemTitleOf(id: number): string | null {
    return this.itemTitle[id];
  }

  hasUser(reviewerId: string): boolean {
    return this.userIds.has(reviewerId);
  }

  /** Starts a user (the id must be new); add its events, then call endUser. Returns the user index. */
  beginUser(reviewerId: string): number {
    if (this.userOpen) throw new Error('internal: beginUser before endUser');
    if (this.userIds.has(reviewerId)) throw new Error(`internal: user ${reviewerId} added twice`);
    this.userIds.add(reviewerId);
    this.userOpen = true;
    this.userText.builders[0].append(reviewerId);
    this.eventStart.push(this.eventItem.length);
    return this.eventStart.length - 1;
  }

  private pushEventNumbers(item: number, rating: number | undefined, time: number | undefined): number {
    const row = this.eventItem.length;
    this.eventUser.push(this.eventStart.length - 1);
    this.eventItem.push(item);
    this.eventRating.push(rating ?? 0);
    this.eventTime.push(time ?? NaN);
    return row;
  }

  addEvent(e: EventInput): void {
    const row = this.pushEventNumbers(e.item, e.rating, e.time);
    const [critique, summary, text] = this.eventText.builders;
    critique.append(e.critique ?? null);
    summary.append(e.reviewSummary ?? null);
    text.append(e.reviewText ?? null);
    this.eventScores.set(row, e.scores);
    this.eventText.rowDone();
  }

  /** An event whose review summary and text are UTF-8 bytes already (a spill file). No critique. */
  addEventBytes(item: number, rating: number, time: number, buf: Uint8Array, summary: [number, number] | null, text: [number, number] | null): void {
    this.pushEventNumbers(item, rating, time);
    const [critique, s, t] = this.eventText.builders;
    critique.append(null);
    if (summary) s.appendBytes(buf, summary[0], summary[1]);
    else s.append(null);
    if (text) t.appendBytes(buf, text[0], text[1]);
    else t.append(null);
    this.eventText.rowDone();
  }

  /** Ends the open user: its narratives (about the user and its last purchase) and rater scores. */
  endUser(narratives: Partial<Record<NarrativeKind, string | null>> = {}, scores?: Record<string, number>): void {
    if (!this.userOpen) throw new Error('internal: endUser without beginUser');
    this.userOpen = false;
    const b = this.userText.builders;
    NARRATIVE_KINDS.forEach((k, i) => b[i + 1].append(narratives[k] ?? null));
    this.userScores.set(this.eventStart.length - 1, scores);
    this.userText.rowDone();
  }

  /** critique_slot: 1 where a purchase and the user's previous one share >= 4 category levels. */
  private critiqueSlots(items: Int32Array, offsets: Int32Array, itemCategory: Int32Array): Uint8Array {
    const tree = { parent: Int32Array.from(this.categories.parent), depth: Uint8Array.from(this.categories.depth) };
    const slots = new Uint8Array(items.length);
    for (let u = 0; u + 1 < offsets.length; u++)
      for (let e = offsets[u] + 1; e < offsets[u + 1]; e++)
        if (sharedLevels(tree, itemCategory[items[e - 1]], itemCategory[items[e]]) >= CRITIQUE_MIN_SHARED_LEVELS) slots[e] = 1;
    return slots;
  }

  private columns() {
    if (this.userOpen) throw new Error('internal: finish with a user open');
    const users = this.userCount;
    const events = this.eventCount;
    const items = this.itemCount;
    const offsets = new Int32Array(users + 1);
    offsets.set(this.eventStart.finish());
    offsets[users] = events;
    this.itemCategory.padTo(items);
    this.itemPrice.padTo(items);
    const itemCategory = this.itemCategory.finish();
    const eventItem = this.eventItem.finish();

    const itemText = new TableText('items', TEXT_COLUMNS.items, this.shardBytes, this.dir);
    const [asin, title, brand, description] = itemText.builders;
    for (let i = 0; i < items; i++) {
      asin.append(this.asins[i]);
      title.append(this.itemTitle[i]);
      brand.append(this.itemBrand[i]);
      description.append(this.itemDescription[i]);
      itemText.rowDone();
    }
    const catText = new TableText('categories', TEXT_COLUMNS.categories, this.shardBytes, this.dir);
    for (const name of this.categories.name) {
      catText.builders[0].append(name);
      catText.rowDone();
    }
    return {
      offsets,
      texts: { items: itemText, categories: catText, users: this.userText, events: this.eventText },
      numeric: {
        items: { category: itemCategory, price: this.itemPrice.finish() },
        categories: { parent: Int32Array.from(this.categories.parent), depth: Uint8Array.from(this.categories.depth) },
        users: { event_start: offsets.subarray(0, users), ...prefixed(this.userScores.finish(users)) },
        events: {
          user: this.eventUser.finish(),
          item: eventItem,
          rating: this.eventRating.finish(),
          unix_time: this.eventTime.finish(),
          critique_slot: this.critiqueSlots(eventItem, offsets, itemCategory),
          ...prefixed(this.eventScores.finish(events)),
        },
      } as Record<TableName, Record<string, NumericArray>>,
      rows: { items, categories: this.categories.name.length, users, events } as Record<TableName, number>,
    };
  }

  /** The dataset, in memory (a builder made without a folder). */
  finishInMemory(meta: DatasetMeta): Dataset {
    if (this.dir) throw new Error('internal: finishInMemory on a builder that writes to a folder');
    const c = this.columns();
    const t = Object.fromEntries(Object.entries(c.texts).map(([k, v]) => [k, v.finish()])) as Record<TableName, Map<string, Utf8Column>>;
    return assembleDataset(meta, c.numeric, t, c.offsets, c.rows, null);
  }

  /** Writes the numeric files, the last shards and the manifest (last) into the folder. */
  finishToDisk(meta: DatasetMeta, progress?: ProgressFn): Manifest {
    if (!this.dir) throw new Error('internal: finishToDisk on an in-memory builder');
    const c = this.columns();
    const files: Record<string, number> = {};
    const sha256: Record<string, string> = {};
    const tables = {} as Record<TableName, TableEntry>;
    const names: TableName[] = ['items', 'categories', 'users', 'events'];
    for (const [i, name] of names.entries()) {
      progress?.({ phase: 'writing the dataset', done: i, total: names.length, unit: 'tables' });
      const text = c.texts[name];
      text.finish();
      Object.assign(files, text.fileSizes);
      Object.assign(sha256, text.fileSums);
      const numericFile = `${name}.arrow`;
      const cols = Object.entries(c.numeric[name]).map(([n, array]) => ({ name: n, array }));
      const written = writeNumericFile(path.join(this.dir, numericFile), name, cols, c.rows[name]);
      files[numericFile] = written.bytes;
      sha256[numericFile] = written.sha256;
      tables[name] = { rows: c.rows[name], numeric: numericFile, numericColumns: cols.map((x) => x.name), textColumns: text.columns, shards: text.shards };
    }
    progress?.({ phase: 'writing the dataset', done: names.length, total: names.length, unit: 'tables' });
    const manifest: Manifest = { format: STORE_FORMAT, version: STORE_VERSION, meta, tables, files, sha256 };
    writeFileAtomic(path.join(this.dir, 'manifest.json'), JSON.stringify(manifest, null, 1) + '\n');
    return manifest;
  }
}

function prefixed(scores: Record<string, Float32Array>): Record<string, Float32Array> {
  return Object.fromEntries(Object.entries(scores).map(([k, v]) => [SCORE_PREFIX + k, v]));
}
