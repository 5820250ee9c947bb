// Text columns stored the way Arrow stores Utf8: one UTF-8 byte buffer, int32 offsets and a validity
// bitmap per chunk. Strings are decoded only when read, so a cached dataset opens without decoding
// millions of reviews, and the same buffers go to and from Arrow IPC without conversion.

/** A column of optional strings (null where the source had none). */
export interface TextColumn {
  readonly length: number;
  get(row: number): string | null;
  /** Whether the row is null, without decoding it. */
  isNull(row: number): boolean;
}

/** One chunk's buffers, in the Arrow Utf8 layout (offsets relative to `bytes`, bit i of validity for row i). */
export interface TextChunkData {
  rows: number;
  offsets: Int32Array; // rows + 1 entries
  bytes: Uint8Array;
  /** null: every row is valid. */
  validity: Uint8Array | null;
}

/** A chunk covers rows [start, start + rows); its data is in memory or loaded on first use. */
export interface TextChunk {
  start: number;
  rows: number;
  data: TextChunkData | null;
  load?: () => TextChunkData;
}

const asBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

export class Utf8Column implements TextColumn {
  readonly length: number;
  private readonly starts: number[];
  private lastChunk = 0;
  private readonly buffers: (Buffer | null)[];

  constructor(readonly chunks: TextChunk[]) {
    let start = 0;
    for (const c of chunks) {
      if (c.start !== start) throw new Error(`internal: text chunks must be contiguous (chunk at ${c.start}, expected ${start})`);
      start += c.rows;
    }
    this.length = start;
    this.starts = chunks.map((c) => c.start);
    this.buffers = chunks.map(() => null);
  }

  static fromStrings(values: readonly (string | null | undefined)[]): Utf8Column {
    const b = new TextColumnBuilder();
    for (const v of values) b.append(v ?? null);
    return new Utf8Column(b.cutAll());
  }

  private chunkIndex(row: number): number {
    const last = this.chunks[this.lastChunk];
    if (last && row >= last.start && row < last.start + last.rows) return this.lastChunk;
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= row) lo = mid;
      else hi = mid - 1;
    }
    this.lastChunk = lo;
    return lo;
  }

  /** The chunk's data, loading it if needed. */
  chunkData(index: number): TextChunkData {
    const c = this.chunks[index];
    if (!c.data) {
      if (!c.load) throw new Error('internal: text chunk has neither data nor loader');
      c.data = c.load();
    }
    return c.data;
  }

  isNull(row: number): boolean {
    if (!(row >= 0 && row < this.length)) throw new RangeError(`Expected a row in [0, ${this.length}) but received ${row}`);
    const ci = this.chunkIndex(row);
    const data = this.chunkData(ci);
    const r = row - this.chunks[ci].start;
    return data.validity !== null && !(data.validity[r >> 3] & (1 << (r & 7)));
  }

  get(row: number): string | null {
    if (!(row >= 0 && row < this.length)) throw new RangeError(`Expected a row in [0, ${this.length}) but received ${row}`);
    const ci = this.chunkIndex(row);
    const data = this.chunkData(ci);
    const r = row - this.chunks[ci].start;
    if (data.validity && !(data.validity[r >> 3] & (1 << (r & 7)))) return null;
    let buf = this.buffers[ci];
    if (!buf) buf = this.buffers[ci] = asBuffer(data.bytes);
    return buf.toString('utf8', data.offsets[r], data.offsets[r + 1]);
  }

  /** Every value (decodes the whole column: for tests and small columns). */
  toArray(): (string | null)[] {
    const out = new Array<string | null>(this.length);
    for (let i = 0; i < this.length; i++) out[i] = this.get(i);
    return out;
  }
}

/** Largest byte count of one chunk: int32 offsets. */
const MAX_CHUNK_BYTES = 2 ** 31 - 1;

/** Appends strings as UTF-8; `cut()` closes the current chunk (the table decides where shards end). */
export class TextColumnBuilder {
  private bytes = Buffer.allocUnsafe(1 << 12);
  private used = 0;
  private offsets = new Int32Array(1 << 10);
  private validity = new Uint8Array(1 << 7);
  private rows = 0;
  private nulls = 0;
  private readonly done: TextChunk[] = [];
  private closedRows = 0;

  /** Bytes held by the open chunk. */
  get pendingBytes(): number {
    return this.used;
  }

  get length(): number {
    return this.closedRows + this.rows;
  }

  private reserveRow(): void {
    if (this.rows + 2 > this.offsets.length) {
      const o = new Int32Array(this.offsets.length * 2);
      o.set(this.offsets);
      this.offsets = o;
    }
    if ((this.rows >> 3) + 1 > this.validity.length) {
      const v = new Uint8Array(this.validity.length * 2);
      v.set(this.validity);
      this.validity = v;
    }
  }

  private reserveBytes(extra: number): void {
    if (this.used + extra > MAX_CHUNK_BYTES) {
      if (this.rows === 0) throw new RangeError(`a single text value of ${extra} bytes exceeds the 2 GiB limit of one chunk`);
      this.cut();
    }
    if (this.used + extra <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.used + extra) size *= 2;
    const b = Buffer.allocUnsafe(Math.min(size, MAX_CHUNK_BYTES));
    this.bytes.copy(b, 0, 0, this.used);
    this.bytes = b;
  }

  append(value: string | null): void {
    // Bytes first: reserving them may close the chunk (at 2 GiB) and restart the row count.
    if (value !== null) this.reserveBytes(value.length * 3); // at most 3 bytes per UTF-16 unit
    this.reserveRow();
    const r = this.rows;
    if (value === null) {
      this.nulls++;
      this.validity[r >> 3] &= ~(1 << (r & 7));
    } else {
      this.used += this.bytes.write(value, this.used, 'utf8');
      this.validity[r >> 3] |= 1 << (r & 7);
    }
    this.rows++;
    this.offsets[this.rows] = this.used;
  }

  /** Appends already-encoded UTF-8 bytes (from a spill file). */
  appendBytes(src: Uint8Array, start: number, end: number): void {
    this.reserveBytes(end - start);
    this.reserveRow();
    this.bytes.set(src.subarray(start, end), this.used);
    this.used += end - start;
    this.validity[this.rows >> 3] |= 1 << (this.rows & 7);
    this.rows++;
    this.offsets[this.rows] = this.used;
  }

  /** Closes the open chunk (if it has rows) and returns it. */
  cut(): TextChunk | null {
    if (this.rows === 0) return null;
    const data: TextChunkData = {
      rows: this.rows,
      offsets: this.offsets.slice(0, this.rows + 1),
      bytes: Buffer.from(this.bytes.subarray(0, this.used)), // a right-sized copy; the big buffer is reused
      validity: this.nulls === 0 ? null : this.validity.slice(0, (this.rows + 7) >> 3),
    };
    const chunk: TextChunk = { start: this.closedRows, rows: this.rows, data };
    this.done.push(chunk);
    this.closedRows += this.rows;
    this.rows = 0;
    this.used = 0;
    this.nulls = 0;
    this.offsets[0] = 0;
    if (this.bytes.length > 1 << 26) this.bytes = Buffer.allocUnsafe(1 << 20); // give back memory after a big shard
    return chunk;
  }

  /** Every chunk so far, the open one closed. */
  cutAll(): TextChunk[] {
    this.cut();
    return this.done;
  }
}
