// Streams a text file line by line, gzip or plain (told apart by the magic bytes, not the name), in
// bounded memory. A gzip stream that ends early or is corrupt is an issue ('truncated-gzip'): the
// complete lines before it are kept and the partial last line is dropped (or, with strict, it is fatal).
import { createReadStream, openSync, readSync, closeSync, statSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

import type { ProgressFn } from '../util/progress.js';
import type { Issues } from './report.js';

export interface ReadLinesResult {
  /** Lines seen, blank ones included (the last line number). */
  lines: number;
  /** Blank lines (skipped: they hold no record). */
  blank: number;
  /** Bytes of the file itself (compressed size for gzip). */
  bytes: number;
  gzip: boolean;
  truncated: boolean;
}

export function isGzipFile(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(2);
    return readSync(fd, head, 0, 2, 0) === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

/** The name used in file:line messages: the path as the user gave it (so it can be opened as is). */
export const displayName = (file: string) => file;

/**
 * Calls onLine(line, lineNumber) for every non-blank line (1-based numbers, '\r\n' accepted, a UTF-8
 * BOM dropped). onLine runs synchronously, between chunks of about 1 MiB.
 */
export async function readLines(
  file: string,
  onLine: (line: string, lineNo: number) => void,
  opts: { issues: Issues; progress?: ProgressFn; phase?: string },
): Promise<ReadLinesResult> {
  const size = statSync(file).size;
  const gzip = size >= 2 && isGzipFile(file);
  const name = displayName(file);
  const phase = opts.phase ?? `reading ${path.basename(file)}`;
  const raw = createReadStream(file, { highWaterMark: 1 << 20 });
  let rawBytes = 0;
  raw.on('data', (c) => (rawBytes += c.length));
  let stream: NodeJS.ReadableStream = raw;
  if (gzip) {
    const gunzip = zlib.createGunzip({ chunkSize: 1 << 20 });
    raw.on('error', (e) => gunzip.destroy(e));
    stream = raw.pipe(gunzip);
  }

  let lineNo = 0;
  let blank = 0;
  let carry: Buffer | null = null;
  let truncated = false;
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
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let buf = chunk;
      if (carry) {
        buf = Buffer.concat([carry, chunk]);
        carry = null;
      }
      let start = 0;
      for (;;) {
        const nl = buf.indexOf(10, start);
        if (nl < 0) break;
        emit(buf, start, nl);
        start = nl + 1;
      }
      if (start < buf.length) carry = buf.subarray(start);
      opts.progress?.({ phase, done: rawBytes, total: size, unit: 'bytes' });
    }
    if (carry && carry.length > 0) emit(carry, 0, carry.length);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (!gzip || !String(err.code ?? '').startsWith('Z_')) throw e;
    truncated = true;
    const partial = carry && carry.length > 0 ? '; the partial line after it is dropped' : '';
    opts.issues.add(
      'truncated-gzip',
      `${name}:${lineNo + 1}`,
      `the gzip stream ends early or is corrupt (${err.message}) after ${lineNo.toLocaleString('en-US')} complete lines, ` +
        `${rawBytes.toLocaleString('en-US')} of ${size.toLocaleString('en-US')} bytes read${partial}`,
      'Keep the complete lines read before the damage',
    );
  } finally {
    raw.destroy();
  }
  opts.progress?.({ phase, done: size, total: size, unit: 'bytes' });
  return { lines: lineNo, blank, bytes: size, gzip, truncated };
}
