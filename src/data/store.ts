// The on-disk form of a normalised dataset: a folder of Apache Arrow IPC files plus manifest.json.
//
//   manifest.json             format version, meta (source, options, report), tables, file sizes
//   <table>.arrow             the table's numeric columns, one record batch (typed arrays read zero-copy)
//   <table>.text-0000.arrow   its text columns for a range of rows (shards of about 256 MiB, read
//                             only when a value in them is first needed)
//
// Tables: items, categories, users, events (see dataset.ts). Arrow files open in pyarrow, polars and
// DuckDB; shard k of a table holds the rows [start, start + rows) listed in the manifest. A folder
// is written under a temporary name and renamed when complete, and the manifest records every file's
// size: a folder left by an interrupted run is never opened as a dataset.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { tempPathFor } from '../util/files.js';
import { createRequire } from 'node:module';
import type { Data, DataType, Int32, Table } from 'apache-arrow';

// apache-arrow takes about 0.4 s to load: it is loaded on the first table read or write, so that
// commands that open no dataset (--version, info, score-text) do not pay for it.
let arrowModule: typeof import('apache-arrow') | undefined;
function arrow(): typeof import('apache-arrow') {
  return (arrowModule ??= createRequire(import.meta.url)('apache-arrow') as typeof import('apache-arrow'));
}

import { Dataset, NARRATIVE_KINDS, NARRATIVE_NAMES, type DatasetMeta, type NarrativeKind } from './dataset.js';
import { DataError } from './report.js';
import { Utf8Column, type TextChunk, type TextChunkData } from './text-column.js';

export const STORE_FORMAT = 'regen-bench-dataset';
/** Bumped whenever the layout or the meaning of a column changes: older folders are rebuilt. */
export const STORE_VERSION = 1;

export type TableName = 'items' | 'categories' | 'users' | 'events';
export type NumericArray = Int32Array | Uint8Array | Float32Array | Float64Array;

export interface TableEntry {
  rows: number;
  numeric: string;
  numericColumns: string[];
  textColumns: string[];
  shards: { file: string; start: number; rows: number }[];
}

export interface Manifest {
  format: typeof STORE_FORMAT;
  version: number;
  meta: DatasetMeta;
  tables: Record<TableName, TableEntry>;
  /** Every file of the folder and its size in bytes. */
  files: Record<string, number>;
}

/** Column names on disk (snake_case, for Python and SQL readers). */
export const NARRATIVE_COLUMNS = NARRATIVE_NAMES;
export const SCORE_PREFIX = 'score:';

export const TEXT_COLUMNS: Record<TableName, string[]> = {
  items: ['asin', 'title', 'brand', 'description'],
  categories: ['name'],
  users: ['reviewer_id', ...NARRATIVE_KINDS.map((k) => NARRATIVE_COLUMNS[k])],
  events: ['critique', 'review_summary', 'review_text'],
};

function arrowType(a: NumericArray): DataType {
  const { Int32, Uint8, Float32, Float64 } = arrow();
  if (a instanceof Int32Array) return new Int32();
  if (a instanceof Uint8Array) return new Uint8();
  if (a instanceof Float32Array) return new Float32();
  return new Float64();
}

function writeArrow(file: string, columns: { name: string; data: Data }[], rows: number, metadata: Record<string, string>): number {
  const { Field, Schema, makeData, Struct, tableToIPC, Table, RecordBatch } = arrow();
  const fields = columns.map((c) => new Field(c.name, c.data.type, c.data.nullCount > 0));
  const schema = new Schema(fields, new Map(Object.entries(metadata)));
  const struct = makeData({ type: new Struct(fields), length: rows, nullCount: 0, children: columns.map((c) => c.data) });
  const bytes = tableToIPC(new Table(schema, [new RecordBatch(schema, struct)]), 'file');
  writeFileSync(file, bytes);
  return bytes.byteLength;
}

/** Writes a table's numeric columns; returns the file size. */
export function writeNumericFile(file: string, table: TableName, columns: { name: string; array: NumericArray }[], rows: number): number {
  return writeArrow(
    file,
    columns.map((c) => {
      if (c.array.length !== rows) throw new Error(`internal: column ${table}.${c.name} has ${c.array.length} rows, expected ${rows}`);
      return { name: c.name, data: arrow().makeData({ type: arrowType(c.array) as Int32, length: rows, nullCount: 0, data: c.array as never }) as Data };
    }),
    rows,
    { table },
  );
}

/** Writes one shard of a table's text columns; returns the file size. */
export function writeTextShard(file: string, table: TableName, start: number, columns: { name: string; data: TextChunkData }[]): number {
  const { makeData, Utf8 } = arrow();
  const rows = columns[0]?.data.rows ?? 0;
  return writeArrow(
    file,
    columns.map((c) => {
      const d = c.data;
      let nulls = 0;
      if (d.validity) for (let r = 0; r < d.rows; r++) if (!(d.validity[r >> 3] & (1 << (r & 7)))) nulls++;
      return {
        name: c.name,
        data: makeData({
          type: new Utf8(),
          length: d.rows,
          nullCount: nulls,
          nullBitmap: nulls ? d.validity : undefined,
          valueOffsets: d.offsets,
          data: d.bytes,
        }) as Data,
      };
    }),
    rows,
    { table, start: String(start) },
  );
}

function readArrow(file: string): Table {
  return arrow().tableFromIPC(readFileSync(file));
}

/** The numeric columns of a table file, as typed arrays over the file's bytes (no copy). */
export function readNumericFile(file: string): Map<string, NumericArray> {
  const table = readArrow(file);
  const out = new Map<string, NumericArray>();
  for (const field of table.schema.fields) {
    const vector = table.getChild(field.name)!;
    if (vector.data.length !== 1) throw new DataError(`${file}: column ${field.name} is split in ${vector.data.length} chunks; expected one`);
    out.set(field.name, (vector.data[0].values as NumericArray).subarray(0, table.numRows));
  }
  return out;
}

/** The text columns of a shard. */
export function readTextShard(file: string): Map<string, TextChunkData> {
  const table = readArrow(file);
  const out = new Map<string, TextChunkData>();
  for (const field of table.schema.fields) {
    const vector = table.getChild(field.name)!;
    if (vector.data.length !== 1) throw new DataError(`${file}: column ${field.name} is split in ${vector.data.length} chunks; expected one`);
    const d = vector.data[0];
    if (d.offset !== 0) throw new DataError(`${file}: column ${field.name} is a slice; expected a whole column`);
    out.set(field.name, {
      rows: d.length,
      offsets: (d.valueOffsets as Int32Array).subarray(0, d.length + 1),
      bytes: d.values as Uint8Array,
      validity: d.nullCount > 0 ? (d.nullBitmap as Uint8Array) : null,
    });
  }
  return out;
}

/** Text chunks that read their shard file on first use (one read serves every column of the shard). */
export function lazyTextColumns(dir: string, entry: TableEntry): Map<string, Utf8Column> {
  const chunks = new Map<string, TextChunk[]>(entry.textColumns.map((c) => [c, []]));
  for (const shard of entry.shards) {
    let loaded: Map<string, TextChunkData> | null = null;
    const load = () => {
      if (loaded) return loaded;
      const file = path.join(dir, shard.file);
      try {
        return (loaded = readTextShard(file));
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'EISDIR')
          throw new DataError(`${file}: gone since the dataset was opened (the folder was replaced or deleted); load the dataset again`);
        throw e;
      }
    };
    for (const name of entry.textColumns)
      chunks.get(name)!.push({
        start: shard.start,
        rows: shard.rows,
        data: null,
        load: () => {
          const d = load().get(name);
          if (!d || d.rows !== shard.rows) throw new DataError(`${path.join(dir, shard.file)}: column ${name} is missing or has the wrong length; delete the folder and prepare it again`);
          return d;
        },
      });
  }
  return new Map([...chunks].map(([name, c]) => [name, new Utf8Column(c)]));
}

export function readManifest(dir: string): Manifest {
  const file = path.join(dir, 'manifest.json');
  if (!existsSync(file)) throw new DataError(`${dir} is not a prepared dataset (no manifest.json). Prepare one with: regen-bench data prepare SOURCE --out ${dir}`);
  let m: Manifest;
  try {
    m = JSON.parse(readFileSync(file, 'utf8')) as Manifest;
  } catch (e) {
    throw new DataError(`${file}: not valid JSON (${(e as Error).message}); delete the folder and prepare it again`);
  }
  if (m.format !== STORE_FORMAT) throw new DataError(`${file}: not a regen-bench dataset manifest (format ${JSON.stringify(m.format)})`);
  if (m.version !== STORE_VERSION)
    throw new DataError(`${dir} was written by a regen-bench with dataset format ${m.version}; this one reads format ${STORE_VERSION}. Prepare it again.`);
  return m;
}

/** Checks that every file the manifest lists is there with its size; returns the problem, or null. */
export function checkFiles(dir: string, m: Manifest): string | null {
  for (const [file, bytes] of Object.entries(m.files)) {
    let size: number;
    try {
      size = statSync(path.join(dir, file)).size;
    } catch {
      return `${file} is missing`;
    }
    if (size !== bytes) return `${file} has ${size} bytes, the manifest says ${bytes}`;
  }
  return null;
}

/** Opens a prepared dataset folder. Numeric columns are read now; text when first used. */
export function openDataset(dir: string): Dataset {
  const m = readManifest(dir);
  const problem = checkFiles(dir, m);
  if (problem) throw new DataError(`${dir} is incomplete or damaged: ${problem}. Delete it and prepare it again.`);
  const numeric = (t: TableName) => readNumericFile(path.join(dir, m.tables[t].numeric));
  const text = (t: TableName) => lazyTextColumns(dir, m.tables[t]);

  const tables: TableName[] = ['items', 'categories', 'users', 'events'];
  const num = Object.fromEntries(tables.map((t) => [t, Object.fromEntries(numeric(t))])) as Record<TableName, Record<string, NumericArray>>;
  const txt = Object.fromEntries(tables.map((t) => [t, text(t)])) as Record<TableName, Map<string, Utf8Column>>;
  const rows = Object.fromEntries(tables.map((t) => [t, m.tables[t].rows])) as Record<TableName, number>;
  // CSR offsets: the stored per-user start plus the total (users + 1 entries).
  const offsets = new Int32Array(rows.users + 1);
  offsets.set(num.users.event_start as Int32Array);
  offsets[rows.users] = rows.events;
  return assembleDataset(m.meta, num, txt, offsets, rows, dir);
}

/** A Dataset from its columns (read from files, or built in memory). */
export function assembleDataset(
  meta: DatasetMeta,
  num: Record<TableName, Record<string, NumericArray>>,
  text: Record<TableName, Map<string, Utf8Column>>,
  offsets: Int32Array,
  rows: Record<TableName, number>,
  dir: string | null,
): Dataset {
  const scores = (cols: Record<string, NumericArray>) =>
    Object.fromEntries(Object.entries(cols).filter(([k]) => k.startsWith(SCORE_PREFIX)).map(([k, v]) => [k.slice(SCORE_PREFIX.length), v as Float32Array]));
  return new Dataset(
    meta,
    {
      count: rows.items,
      asin: text.items.get('asin')!,
      title: text.items.get('title')!,
      brand: text.items.get('brand')!,
      description: text.items.get('description')!,
      category: num.items.category as Int32Array,
      price: num.items.price as Float64Array,
    },
    { count: rows.categories, parent: num.categories.parent as Int32Array, depth: num.categories.depth as Uint8Array, name: text.categories.get('name')! },
    {
      count: rows.users,
      reviewerId: text.users.get('reviewer_id')!,
      offsets,
      narratives: Object.fromEntries(NARRATIVE_KINDS.map((k) => [k, text.users.get(NARRATIVE_COLUMNS[k])!])) as Record<NarrativeKind, Utf8Column>,
      scores: scores(num.users),
    },
    {
      count: rows.events,
      user: num.events.user as Int32Array,
      item: num.events.item as Int32Array,
      rating: num.events.rating as Uint8Array,
      time: num.events.unix_time as Float64Array,
      critiqueSlot: num.events.critique_slot as Uint8Array,
      critique: text.events.get('critique')!,
      reviewSummary: text.events.get('review_summary')!,
      reviewText: text.events.get('review_text')!,
      scores: scores(num.events),
    },
    dir,
  );
}

/** A fresh temporary folder next to `finalDir` (same file system, so the rename is atomic). */
export function tempDirFor(finalDir: string): string {
  const parent = path.dirname(path.resolve(finalDir));
  mkdirSync(parent, { recursive: true });
  const dir = tempPathFor(finalDir); // tracked until released: an interrupt removes it
  mkdirSync(dir);
  return dir;
}

/** Moves a complete folder into place, replacing an older one. */
export function publishDir(tmp: string, finalDir: string): void {
  if (existsSync(finalDir)) {
    const old = `${tmp}.old`;
    renameSync(finalDir, old);
    renameSync(tmp, finalDir);
    rmSync(old, { recursive: true, force: true });
  } else renameSync(tmp, finalDir);
}

