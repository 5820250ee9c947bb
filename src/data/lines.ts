// Streams a text file line by line, gzip or plain (told apart by the magic bytes, not the name), in
// memory bounded by the line limit (src/util/limits.ts), in time linear in the input: the pieces of a
// line that spans chunks are joined once, when its end arrives. A line longer than the limit (a file
// with no newline, /dev/zero, a gzip that expands to one huge line) is an error naming the file, the
// line and the limit.
//
// Gzip is read member by member (RFC 1952: concatenated members are one file), each member's CRC and
// length checked. A member that ends early or is corrupt is an issue ('truncated-gzip'): the complete
// lines before the damage are kept and the partial line is dropped (with strict, it is fatal). Bytes
// after the last complete member that are not another member are an issue too ('gzip-trailing-data'):
// every line of the complete members is kept. (Node's own gunzip drops up to a chunk of the last
// member's output when garbage follows it, which is why members are inflated here one at a time.)
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

import { checkLimit, limit } from '../util/limits.js';
import type { ProgressFn } from '../util/progress.js';
import { DataError, type Issues } from './report.js';

export interface ReadLinesResult {
  /** sha256 of the bytes read (compressed bytes for gzip), when asked for (options.hash). */
  sha256?: string;
  /** Lines seen, blank ones included (the last line number). */
  lines: number;
  /** Blank lines (skipped: they hold no record). */
  blank: number;
  /** Bytes of the file itself (compressed size for gzip). */
  bytes: number;
  gzip: boolean;
  truncated: boolean;
}

/** The name used in file:line messages: the path as the user gave it (so it can be opened as is). */
export const displayName = (file: string) => file;

/** Pulls bytes from a stream: what is buffered first, then the next chunk. */
class ByteSource {
  private readonly it: AsyncIterator<Buffer>;
  private buf: Buffer = Buffer.alloc(0);
  /** Bytes handed out so far (the file offset of the next byte). */
  offset = 0;
  private ended = false;

  constructor(stream: AsyncIterable<Buffer>) {
    this.it = stream[Symbol.asyncIterator]();
  }

  /** Ensures `n` buffered bytes, or as many as remain; returns how many are buffered. */
  async fill(n: number): Promise<number> {
    while (this.buf.length < n && !this.ended) {
      const r = await this.it.next();
      if (r.done) this.ended = true;
      else this.buf = this.buf.length ? Buffer.concat([this.buf, r.value]) : r.value;
    }
    return this.buf.length;
  }

  peek(): Buffer {
    return this.buf;
  }

  take(n: number): Buffer {
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    this.offset += out.length;
    return out;
  }

  /** The buffered bytes, or the next chunk; null at the end. */
  async next(max = Infinity): Promise<Buffer | null> {
    if (this.buf.length === 0 && (await this.fill(1)) === 0) return null;
    return this.take(Math.min(max, this.buf.length));
  }

  /** Gives bytes back (read past the end of a gzip member). */
  unshift(b: Buffer): void {
    if (b.length === 0) return;
    this.buf = this.buf.length ? Buffer.concat([b, this.buf]) : b;
    this.offset -= b.length;
  }

  /** Counts (and drops) the bytes left. */
  async drain(): Promise<number> {
    let n = this.buf.length;
    this.offset += n;
    this.buf = Buffer.alloc(0);
    for (;;) {
      const r = await this.it.next();
      if (r.done) break;
      n += r.value.length;
      this.offset += r.value.length;
    }
    this.ended = true;
    return n;
  }
}

// CRC-32 (the gzip trailer's): zlib.crc32 where Node has it (20.15+), else a table.
let crcTable: Uint32Array | null = null;
function crc32(data: Buffer, prev: number): number {
  const native = (zlib as unknown as { crc32?: (d: Buffer, v: number) => number }).crc32;
  if (native) return native(data, prev);
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = ~prev >>> 0;
  for (let i = 0; i < data.length; i++) c = crcTable[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** How a gzip stream ended. */
type GzipEnd =
  | { kind: 'complete' }
  | { kind: 'damaged'; reason: string }
  | { kind: 'trailing'; offset: number; bytes: number };

/** Compressed bytes handed to the inflater per step: bounds the output held at once (deflate expands at most ~1032x). */
const INFLATE_STEP = 1 << 16;

/** Parses (and consumes) a gzip member header: 'not-gzip' when the bytes there are not one, 'short' when the file ends inside it. */
async function gzipHeader(src: ByteSource): Promise<'ok' | 'not-gzip' | 'short'> {
  if ((await src.fill(10)) < 10) return src.peek().length >= 2 && src.peek()[0] === 0x1f && src.peek()[1] === 0x8b ? 'short' : 'not-gzip';
  const h = src.peek();
  if (h[0] !== 0x1f || h[1] !== 0x8b) return 'not-gzip';
  if (h[2] !== 8) return 'not-gzip'; // only deflate exists
  const flags = h[3];
  let need = 10;
  if (flags & 4) {
    if ((await src.fill(need + 2)) < need + 2) return 'short';
    need += 2 + src.peek().readUInt16LE(need);
  }
  for (const bit of [8, 16]) {
    if (!(flags & bit)) continue;
    // A zero-terminated name or comment.
    for (;;) {
      if ((await src.fill(need + 1)) < need + 1) return 'short';
      if (src.peek()[need++] === 0) break;
      if (need > (1 << 20) + 10) return 'not-gzip'; // no real header holds a megabyte of name
    }
  }
  if (flags & 2) need += 2;
  if ((await src.fill(need)) < need) return 'short';
  src.take(need);
  return 'ok';
}

/**
 * Inflates gzip members one after another, yielding their output; `end` says how the stream ended.
 */
async function* gunzipMembers(src: ByteSource, end: { result: GzipEnd }): AsyncGenerator<Buffer> {
  for (let member = 0; ; member++) {
    const start = src.offset;
    if ((await src.fill(1)) === 0) {
      end.result = { kind: 'complete' };
      return;
    }
    const header = await gzipHeader(src);
    if (header === 'short') {
      end.result = { kind: 'damaged', reason: `the gzip member at byte ${start.toLocaleString('en-US')} ends inside its header` };
      return;
    }
    if (header === 'not-gzip') {
      end.result =
        member === 0
          ? { kind: 'damaged', reason: 'the file starts with the gzip magic bytes but has no valid gzip header' }
          : { kind: 'trailing', offset: start, bytes: await src.drain() };
      return;
    }
    const inflate = zlib.createInflateRaw({ chunkSize: 1 << 16 });
    const out: Buffer[] = [];
    let failure: Error | null = null;
    let done = false;
    inflate.on('data', (b: Buffer) => out.push(b));
    inflate.on('error', (e) => (failure = e));
    inflate.on('end', () => (done = true));
    let fed = 0;
    let crc = 0;
    let size = 0;
    const emit = function* () {
      for (const b of out) {
        crc = crc32(b, crc);
        size = (size + b.length) >>> 0;
        yield b;
      }
      out.length = 0;
    };
    for (;;) {
      const piece = await src.next(INFLATE_STEP);
      if (piece === null) {
        inflate.destroy();
        yield* emit();
        end.result = { kind: 'damaged', reason: `unexpected end of file inside the gzip member at byte ${start.toLocaleString('en-US')}` };
        return;
      }
      // The write callback is not called when the data is corrupt: the error event ends the wait then.
      await new Promise<void>((resolve) => {
        let settled = false;
        const settle = () => {
          if (settled) return;
          settled = true;
          inflate.off('error', settle);
          resolve();
        };
        inflate.once('error', settle);
        inflate.write(piece, settle);
      });
      fed += piece.length;
      // The deflate stream ended inside this piece when the inflater left input unconsumed.
      const consumed = inflate.bytesWritten;
      if (failure) {
        inflate.destroy();
        yield* emit();
        end.result = { kind: 'damaged', reason: `the gzip member at byte ${start.toLocaleString('en-US')} is corrupt (${(failure as Error).message})` };
        return;
      }
      if (consumed < fed) {
        src.unshift(piece.subarray(piece.length - (fed - consumed)));
        done = true;
      }
      yield* emit();
      if (done) break;
    }
    inflate.destroy();
    if ((await src.fill(8)) < 8) {
      end.result = { kind: 'damaged', reason: `unexpected end of file in the trailer of the gzip member at byte ${start.toLocaleString('en-US')}` };
      return;
    }
    const trailer = src.take(8);
    if (trailer.readUInt32LE(0) !== crc >>> 0 || trailer.readUInt32LE(4) !== size) {
      end.result = { kind: 'damaged', reason: `the gzip member at byte ${start.toLocaleString('en-US')} fails its CRC-32 or length check (corrupt data)` };
      return;
    }
  }
}

export interface ReadLinesOptions {
  issues: Issues;
  /** Hash the bytes as they are read (for a pipe, which cannot be read twice). */
  hash?: boolean;
  progress?: ProgressFn;
  phase?: string;
}

/**
 * Calls onLine(line, lineNumber) for every non-blank line (1-based numbers, '\r\n' accepted, a UTF-8
 * BOM dropped). onLine runs synchronously, between chunks of about 1 MiB.
 */
export async function readLines(file: string, onLine: (line: string, lineNo: number) => void, opts: ReadLinesOptions): Promise<ReadLinesResult> {
  const name = displayName(file);
  const maxLine = limit('lineBytes');
  const phase = opts.phase ?? `reading ${path.basename(file)}`;
  const raw = createReadStream(file, { highWaterMark: 1 << 20 });
  let size = 0;
  raw.on('open', (fd: number) => {
    try {
      // Regular files have a size to show progress against; pipes and devices report 0.
      const st = fstatSync(fd);
      size = st.isFile() ? st.size : 0;
    } catch {
      size = 0;
    }
  });
  const hasher = opts.hash ? createHash('sha256') : null;
  if (hasher) raw.on('data', (b) => hasher.update(b as Buffer));
  const src = new ByteSource(raw as AsyncIterable<Buffer>);
  let gzip = false;
  let lineNo = 0;
  let blank = 0;
  let truncated = false;
  // The pieces of the line being read (it spans chunks), joined once its end arrives.
  const pieces: Buffer[] = [];
  let pending = 0;
  const emit = (buf: Buffer, start: number, end: number) => {
    lineNo++;
    if (end > start && buf[end - 1] === 13) end--; // \r\n
    if (lineNo === 1 && end - start >= 3 && buf[start] === 0xef && buf[start + 1] === 0xbb && buf[start + 2] === 0xbf) start += 3;
    let s = start;
    while (s < end && (buf[s] === 32 || buf[s] === 9)) s++;
    if (s === end) {
      blank++;
      return;
    }
    onLine(buf.toString('utf8', start, end), lineNo);
  };
  const tooLong = (bytes: number) => checkLimit('lineBytes', bytes, `${name}:${lineNo + 1}`, `a line of at least ${bytes.toLocaleString("en-US")} bytes`);
  const split = (chunk: Buffer) => {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl < 0) break;
      if (pieces.length) {
        if (pending + nl > maxLine) tooLong(pending + nl);
        pieces.push(chunk.subarray(0, nl));
        const line = Buffer.concat(pieces);
        pieces.length = 0;
        pending = 0;
        emit(line, 0, line.length);
      } else {
        if (nl - start > maxLine) tooLong(nl - start);
        emit(chunk, start, nl);
      }
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      pending += rest.length;
      if (pending > maxLine) tooLong(pending);
      // A copy: the reader may reuse nothing, but a small view would pin a large chunk.
      pieces.push(rest.length < chunk.length >> 2 ? Buffer.from(rest) : rest);
    }
  };

  try {
    await src.fill(2);
    gzip = src.peek().length >= 2 && src.peek()[0] === 0x1f && src.peek()[1] === 0x8b;
    const report = () => opts.progress?.({ phase, done: src.offset, total: size, unit: 'bytes' });
    if (!gzip) {
      for (let chunk = await src.next(); chunk; chunk = await src.next()) {
        split(chunk);
        report();
      }
    } else {
      const end: { result: GzipEnd } = { result: { kind: 'complete' } };
      let since = 0;
      for await (const chunk of gunzipMembers(src, end)) {
        split(chunk);
        since += chunk.length;
        if (since >= 1 << 20) {
          since = 0;
          report();
        }
      }
      const r = end.result;
      if (r.kind === 'damaged') {
        truncated = true;
        const partial = pending > 0 ? '; the partial line after it is dropped' : '';
        pieces.length = 0;
        pending = 0;
        opts.issues.add(
          'truncated-gzip',
          `${name}:${lineNo + 1}`,
          `${r.reason}, after ${lineNo.toLocaleString('en-US')} complete lines, ${src.offset.toLocaleString('en-US')}${size ? ` of ${size.toLocaleString('en-US')}` : ''} bytes read${partial}`,
          'Keep the complete lines read before the damage',
        );
      } else if (r.kind === 'trailing') {
        opts.issues.add(
          'gzip-trailing-data',
          `${name}:${lineNo + (pending > 0 ? 1 : 0)}`,
          `${r.bytes.toLocaleString('en-US')} bytes after the last complete gzip member (from byte ${r.offset.toLocaleString('en-US')}) are not gzip data; ` +
            `every line of the ${lineNo.toLocaleString('en-US')}${pending > 0 ? ' + 1' : ''} before them was read`,
          'Ignore the trailing bytes',
        );
      }
    }
    if (pending > 0) {
      const line = Buffer.concat(pieces);
      pieces.length = 0;
      pending = 0;
      emit(line, 0, line.length);
    }
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new DataError(`${name}: no such file`);
    if (err.code === 'EISDIR') throw new DataError(`${name}: a folder, expected a file`);
    if (err.code === 'EACCES') throw new DataError(`${name}: permission denied`);
    throw e;
  } finally {
    raw.destroy();
  }
  opts.progress?.({ phase, done: src.offset, total: Math.max(size, src.offset), unit: 'bytes' });
  return { lines: lineNo, blank, bytes: src.offset, gzip, truncated, ...(hasher ? { sha256: hasher.digest('hex') } : {}) };
}

/** Whether a file starts with the gzip magic bytes (a 2-byte read; pipes and devices read as plain). */
export function isGzipFile(file: string): boolean {
  let fd: number | null = null;
  try {
    fd = openSync(file, 'r');
    if (!fstatSync(fd).isFile()) return false;
    const head = Buffer.alloc(2);
    return readSync(fd, head, 0, 2, 0) === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    if (fd !== null) closeSync(fd);
  }
}
