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
import { createHash } from 'node:crypto';
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
/**
 * Bumped whenever the layout or the meaning of a column changes: older folders are rebuilt.
 * 2: the manifest holds every file's sha256, checked before the file is parsed.
 */
export const STORE_VERSION = 2;

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
  /**
   * Every Arrow file's sha256, checked when the file is read and before it is parsed: a file changed
   * or damaged since it was written (even at the same size) is an error, never parsed (apache-arrow's
   * reader can loop forever on some damaged files).
   */
  sha256: Record<string, string>;
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

/** A file written: its size and sha256 (for the manifest). */
export interface WrittenFile {
  bytes: number;
  sha256: string;
}

function writeArrow(file: string, columns: { name: string; data: Data }[], rows: number, metadata: Record<string, string>): WrittenFile {
  const { Field, Schema, makeData, Struct, tableToIPC, Table, RecordBatch } = arrow();
  const fields = columns.map((c) => new Field(c.name, c.data.type, c.data.nullCount > 0));
  const schema = new Schema(fields, new Map(Object.entries(metadata)));
  const struct = makeData({ type: new Struct(fields), length: rows, nullCount: 0, children: columns.map((c) => c.data) });
  const bytes = tableToIPC(new Table(schema, [new RecordBatch(schema, struct)]), 'file');
  writeFileSync(file, bytes);
  return { bytes: bytes.byteLength, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** Writes a table's numeric columns; returns the file's size and hash. */
export function writeNumericFile(file: string, table: TableName, columns: { name: string; array: NumericArray }[], rows: number): WrittenFile {
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

/** Writes one shard of a table's text columns; returns the file's size and hash. */
export function writeTextShard(file: string, table: TableName, start: number, columns: { name: string; data: TextChunkData }[]): WrittenFile {
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

const DAMAGED = 'the dataset folder is damaged: delete it and prepare it again';

/**
 * An Arrow IPC file, parsed only when its content has the sha256 the manifest recorded; anything the
 * Arrow reader cannot parse is a DataError naming the file.
 */
function readArrow(file: string, sha256?: string): Table {
  const bytes = readFileSync(file);
  if (sha256 !== undefined && createHash('sha256').update(bytes).digest('hex') !== sha256)
    throw new DataError(`${file}: its content does not match the sha256 in manifest.json (changed or damaged since it was prepared); ${DAMAGED}`);
  try {
    return arrow().tableFromIPC(bytes);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR') throw e;
    throw new DataError(`${file}: not a readable Arrow IPC file (${(e as Error).message.slice(0, 120)}); ${DAMAGED}`);
  }
}

const NUMERIC_TYPES = [Int32Array, Uint8Array, Float32Array, Float64Array];

/** The numeric columns of a table file, as typed arrays over the file's bytes (no copy). */
export function readNumericFile(file: string, sha256?: string): Map<string, NumericArray> {
  const table = readArrow(file, sha256);
  const out = new Map<string, NumericArray>();
  for (const field of table.schema.fields) {
    const vector = table.getChild(field.name);
    if (!vector || vector.data.length !== 1) throw new DataError(`${file}: column ${field.name} is split in ${vector?.data.length ?? 0} chunks; expected one`);
    const values = vector.data[0].values as unknown;
    if (!NUMERIC_TYPES.some((T) => values instanceof T) || (values as NumericArray).length < table.numRows || vector.data[0].nullCount > 0)
      throw new DataError(`${file}: column ${field.name} is not a numeric column of ${table.numRows} values; ${DAMAGED}`);
    out.set(field.name, (values as NumericArray).subarray(0, table.numRows));
  }
  return out;
}

/** A text column's offsets rise within its bytes (so every value read later lies inside them). */
function checkTextColumn(file: string, name: string, rows: number, offsets: unknown, bytes: unknown, validity: unknown): void {
  const bad = (why: string) => new DataError(`${file}: text column ${name} ${why}; ${DAMAGED}`);
  if (!(offsets instanceof Int32Array) || offsets.length < rows + 1) throw bad('has no offsets for its rows');
  if (!(bytes instanceof Uint8Array)) throw bad('has no bytes');
  if (validity !== null && (!(validity instanceof Uint8Array) || validity.length * 8 < rows)) throw bad('has a short validity bitmap');
  if (offsets[0] < 0) throw bad('starts at a negative offset');
  for (let r = 0; r < rows; r++) if (offsets[r + 1] < offsets[r]) throw bad(`has decreasing offsets at row ${r}`);
  if (offsets[rows] > bytes.length) throw bad('points past its bytes');
}

/** The text columns of a shard. */
export function readTextShard(file: string, sha256?: string): Map<string, TextChunkData> {
  const table = readArrow(file, sha256);
  const out = new Map<string, TextChunkData>();
  for (const field of table.schema.fields) {
    const vector = table.getChild(field.name)!;
    if (vector.data.length !== 1) throw new DataError(`${file}: column ${field.name} is split in ${vector.data.length} chunks; expected one`);
    const d = vector.data[0];
    if (d.offset !== 0) throw new DataError(`${file}: column ${field.name} is a slice; expected a whole column`);
    checkTextColumn(file, field.name, d.length, d.valueOffsets as unknown, d.values as unknown, d.nullCount > 0 ? (d.nullBitmap as unknown) : null);
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
export function lazyTextColumns(dir: string, entry: TableEntry, sums: Record<string, string> = {}): Map<string, Utf8Column> {
  const chunks = new Map<string, TextChunk[]>(entry.textColumns.map((c) => [c, []]));
  for (const shard of entry.shards) {
    let loaded: Map<string, TextChunkData> | null = null;
    const load = () => {
      if (loaded) return loaded;
      const file = path.join(dir, shard.file);
      try {
        return (loaded = readTextShard(file, sums[shard.file]));
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

/** The numeric columns every table must have, with their array type. */
const REQUIRED_NUMERIC: Record<TableName, [string, (typeof NUMERIC_TYPES)[number]][]> = {
  items: [
    ['category', Int32Array],
    ['price', Float64Array],
  ],
  categories: [
    ['parent', Int32Array],
    ['depth', Uint8Array],
  ],
  users: [['event_start', Int32Array]],
  events: [
    ['user', Int32Array],
    ['item', Int32Array],
    ['rating', Uint8Array],
    ['unix_time', Float64Array],
    ['critique_slot', Uint8Array],
  ],
};

/** Checks what every later read relies on: each table's columns, their lengths, and ids inside their tables. */
function checkColumns(dir: string, m: Manifest, num: Record<TableName, Record<string, NumericArray>>): void {
  const bad = (why: string) => new DataError(`${dir}: ${why}; ${DAMAGED}`);
  for (const [t, cols] of Object.entries(REQUIRED_NUMERIC) as [TableName, [string, (typeof NUMERIC_TYPES)[number]][]][]) {
    for (const [name, T] of cols) {
      const a = num[t][name];
      if (!(a instanceof T) || a.length !== m.tables[t].rows) throw bad(`${t}.${name} is missing or has the wrong type or length`);
    }
    for (const name of TEXT_COLUMNS[t]) if (!m.tables[t].textColumns.includes(name)) throw bad(`the text column ${t}.${name} is missing`);
  }
  const inRange = (t: TableName, name: string, lo: number, hi: number) => {
    const a = num[t][name];
    for (let i = 0; i < a.length; i++) if (!(a[i] >= lo && a[i] < hi)) throw bad(`${t}.${name}[${i}] is ${a[i]}, outside [${lo}, ${hi})`);
  };
  const { items, categories, users, events } = m.tables;
  inRange('events', 'item', 0, items.rows);
  inRange('events', 'user', 0, users.rows);
  inRange('items', 'category', -1, categories.rows);
  inRange('categories', 'parent', -1, categories.rows);
  const start = num.users.event_start;
  for (let u = 0; u < start.length; u++)
    if (start[u] < (u ? start[u - 1] : 0) || start[u] > events.rows) throw bad(`users.event_start[${u}] is ${start[u]}, not a rising start inside the ${events.rows} events`);
}

/** Checks the manifest's shape: every table, its rows and files, every file a plain name inside the folder. */
function checkManifest(file: string, m: Manifest): void {
  const bad = (why: string) => new DataError(`${file}: ${why}; ${DAMAGED}`);
  const plain = (f: unknown) => typeof f === 'string' && f.length > 0 && path.basename(f) === f && f !== '..' && f !== '.';
  if (!m.meta || typeof m.meta !== 'object' || typeof m.meta.key !== 'string' || typeof m.meta.name !== 'string') throw bad('has no meta {name, key}');
  if (!m.meta.report || !Array.isArray(m.meta.report.issues)) throw bad('has no load report');
  if (!m.files || typeof m.files !== 'object') throw bad('lists no files');
  if (!m.sha256 || typeof m.sha256 !== 'object') throw bad('holds no file hashes');
  for (const f of Object.keys(m.files)) if (f.endsWith('.arrow') && !/^[0-9a-f]{64}$/.test(String(m.sha256[f]))) throw bad(`holds no sha256 for ${f}`);
  for (const [f, bytes] of Object.entries(m.files)) if (!plain(f) || typeof bytes !== 'number') throw bad(`lists ${JSON.stringify(f).slice(0, 60)}, not a file of the folder`);
  for (const t of ['items', 'categories', 'users', 'events'] as TableName[]) {
    const e = m.tables?.[t];
    if (!e || !Number.isSafeInteger(e.rows) || e.rows < 0 || !plain(e.numeric) || !Array.isArray(e.textColumns) || !Array.isArray(e.shards))
      throw bad(`table ${t} is missing or malformed`);
    // Every file a table names must be one the manifest lists (their sizes and hashes are checked), and
    // each text column named once.
    const listed = (f: string) => Object.prototype.hasOwnProperty.call(m.files, f);
    if (!listed(e.numeric)) throw bad(`table ${t} names ${JSON.stringify(e.numeric).slice(0, 60)}, a file the manifest does not list`);
    if (new Set(e.textColumns).size !== e.textColumns.length) throw bad(`table ${t} lists a text column twice`);
    let next = 0;
    for (const sh of e.shards) {
      if (!sh || !plain(sh.file) || sh.start !== next || !Number.isSafeInteger(sh.rows) || sh.rows < 0) throw bad(`the text shards of ${t} do not cover its rows in order`);
      if (!listed(sh.file)) throw bad(`table ${t} names ${JSON.stringify(sh.file).slice(0, 60)}, a file the manifest does not list`);
      next += sh.rows;
    }
    if (next !== e.rows && e.textColumns.length > 0) throw bad(`the text shards of ${t} hold ${next} of its ${e.rows} rows`);
  }
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
  if (!m || typeof m !== 'object' || m.format !== STORE_FORMAT)
    throw new DataError(`${file}: not a regen-bench dataset manifest (format ${JSON.stringify((m as Partial<Manifest> | null)?.format ?? null)})`);
  if (m.version !== STORE_VERSION)
    throw new DataError(`${dir} was written by a regen-bench with dataset format ${m.version}; this one reads format ${STORE_VERSION}. Prepare it again.`);
  checkManifest(file, m);
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
  const numeric = (t: TableName) => readNumericFile(path.join(dir, m.tables[t].numeric), m.sha256[m.tables[t].numeric]);
  const text = (t: TableName) => lazyTextColumns(dir, m.tables[t], m.sha256);

  const tables: TableName[] = ['items', 'categories', 'users', 'events'];
  const num = Object.fromEntries(tables.map((t) => [t, Object.fromEntries(numeric(t))])) as Record<TableName, Record<string, NumericArray>>;
  const txt = Object.fromEntries(tables.map((t) => [t, text(t)])) as Record<TableName, Map<string, Utf8Column>>;
  const rows = Object.fromEntries(tables.map((t) => [t, m.tables[t].rows])) as Record<TableName, number>;
  checkColumns(dir, m, num);
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

