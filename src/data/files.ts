// Small file helpers: content hashes (remembered by file identity, so that a second load does not read
// a large file again just to hash it, yet an edit in place is still seen) and the first lines of a
// gzip or plain file.
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, mkdirSync, openSync, readFileSync, readSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

import { isGzipFile } from './lines.js';
import { DataError } from './report.js';
import type { ProgressFn } from '../util/progress.js';
import { writeFileAtomic } from '../util/files.js';

export async function sha256File(file: string, progress?: ProgressFn): Promise<string> {
  const hash = createHash('sha256');
  const total = statSync(file).size;
  let done = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 22 })) {
    hash.update(chunk as Buffer);
    done += (chunk as Buffer).length;
    progress?.({ phase: `hashing ${path.basename(file)}`, done, total, unit: 'bytes' });
  }
  return hash.digest('hex');
}

/** Bytes sampled by the identity check: 16 blocks of 4 KiB spread over the file, the first and last included. */
const SAMPLE_BLOCKS = 16;
const SAMPLE_BLOCK = 4096;

/** sha256 of the sampled blocks (the whole file when it is small). */
function sampleHash(file: string, size: number): string {
  const h = createHash('sha256');
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(SAMPLE_BLOCK);
    for (let b = 0; b < SAMPLE_BLOCKS; b++) {
      const at = size <= SAMPLE_BLOCK ? 0 : Math.floor(((size - SAMPLE_BLOCK) * b) / (SAMPLE_BLOCKS - 1));
      const n = readSync(fd, buf, 0, Math.min(SAMPLE_BLOCK, size), at);
      h.update(buf.subarray(0, n));
      if (size <= SAMPLE_BLOCK) break;
    }
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

/**
 * A file's sha256, remembered in `memoDir` so that a large file is not read again on every load. The
 * memo is trusted only while the file's identity holds: its real path, size, inode and device, its
 * modification time and its status-change time (ctime, in nanoseconds), and a hash of 16 sampled
 * 4 KiB blocks. An edit in place that keeps the size and puts the old mtime back (touch -d, utimes)
 * still moves the ctime, which only the kernel sets; the sampled blocks also catch edits on file
 * systems whose ctime is coarse. Set REGEN_VERIFY_HASHES=1 to hash every file in full on every load.
 */
export async function contentHash(file: string, memoDir: string | null, progress?: ProgressFn): Promise<string> {
  const st = statSync(file, { bigint: true });
  if (!st.isFile() || process.env.REGEN_VERIFY_HASHES === '1') return sha256File(file, progress);
  const identity = [realpathSync(file), st.size, st.ino, st.dev, st.mtimeNs, st.ctimeNs].join('\u0000');
  const sample = sampleHash(file, Number(st.size));
  const memo = memoDir ? path.join(memoDir, `${createHash('sha1').update(identity).digest('hex')}.json`) : null;
  if (memo) {
    try {
      const m = JSON.parse(readFileSync(memo, 'utf8')) as { identity: string; sample: string; sha256: string };
      if (m.identity === identity && m.sample === sample && /^[0-9a-f]{64}$/.test(m.sha256)) return m.sha256;
    } catch {
      // not remembered yet
    }
  }
  const sha256 = await sha256File(file, progress);
  if (memo) {
    mkdirSync(memoDir!, { recursive: true });
    writeFileAtomic(memo, JSON.stringify({ identity, sample, sha256 }));
  }
  return sha256;
}

/** Up to `count` non-blank lines from the start of a gzip or plain file. */
export async function firstLines(file: string, count: number, maxBytes = 1 << 22): Promise<string[]> {
  const raw = createReadStream(file, { highWaterMark: 1 << 16 });
  const stream = isGzipFile(file) ? raw.pipe(zlib.createGunzip()) : raw;
  raw.on('error', (e) => stream.destroy(e));
  const parts: Buffer[] = [];
  let bytes = 0;
  let newlines = 0;
  let early = false;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      parts.push(chunk);
      bytes += chunk.length;
      for (let i = 0; i < chunk.length; i++) if (chunk[i] === 10) newlines++;
      if (newlines > count || bytes >= maxBytes) {
        early = true;
        break;
      }
    }
  } catch {
    // a damaged gzip: use what came out before the damage
  } finally {
    raw.destroy();
  }
  const lines = Buffer.concat(parts).toString('utf8').replace(/^\uFEFF/, '').split('\n');
  if (early && lines.length === 1)
    throw new DataError(
      (l) => `${file}: the first line is longer than ${(maxBytes / 2 ** 20).toFixed(0)} MiB, so the format cannot be told from it; pass ${l('format')} (regen, amazon2018, sequences)`,
      undefined,
      'format',
    );
  if (early) lines.pop(); // cut mid-line
  return lines
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l.trim() !== '')
    .slice(0, count);
}
