// Small file helpers: content hashes (remembered by file identity, so that a second load does not read
// a large file again just to hash it) and the first lines of a gzip or plain file.
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

import { isGzipFile } from './lines.js';
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

/**
 * A file's sha256, remembered in `memoDir` under its identity (real path, size, mtime, inode): a file
 * that changes gets a new identity and is hashed again.
 */
export async function contentHash(file: string, memoDir: string | null, progress?: ProgressFn): Promise<string> {
  const st = statSync(file);
  const identity = `${realpathSync(file)}\u0000${st.size}\u0000${st.mtimeMs}\u0000${st.ino}`;
  const memo = memoDir ? path.join(memoDir, `${createHash('sha1').update(identity).digest('hex')}.json`) : null;
  if (memo) {
    try {
      const m = JSON.parse(readFileSync(memo, 'utf8')) as { identity: string; sha256: string };
      if (m.identity === identity && /^[0-9a-f]{64}$/.test(m.sha256)) return m.sha256;
    } catch {
      // not remembered yet
    }
  }
  const sha256 = await sha256File(file, progress);
  if (memo) {
    mkdirSync(memoDir!, { recursive: true });
    writeFileAtomic(memo, JSON.stringify({ identity, sha256 }));
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
  if (early) lines.pop(); // cut mid-line
  return lines
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l.trim() !== '')
    .slice(0, count);
}
