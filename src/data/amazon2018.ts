// Builds REGEN-shaped data from the raw Amazon Reviews 2018 dumps (and the 2014 ones, same fields):
// <Category>.json.gz / <Category>_5.json.gz reviews plus meta_<Category>.json.gz, JSON or Python
// literals per line. As in CALRec / REGEN: reviews grouped per user and sorted by time (ties keep
// file order), metadata joined, and each adjacent pair sharing at least four category levels marked as a
// critique slot (the dataset's critique_slot column; the critique text itself is left empty).
//
// Memory stays bounded by the numbers, not the text: pass 1 keeps ~30 bytes per review in typed arrays
// and streams review text into a spill file; pass 2 reads only the metadata of items that occur; the
// output pass reads each review's text back from the spill file in user order and hands it to the
// builder, which writes text shards as they fill.
import { closeSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';

import type { DatasetBuilder, ItemFields } from './builder.js';
import { Growable } from './growable.js';
import { displayName, readLines } from './lines.js';
import type { ProgressFn } from '../util/progress.js';
import { parseJsonOrPython } from './pyliteral.js';
import type { Issues } from './report.js';
import { preview } from '../util/json.js';

export interface Amazon2018Options {
  /** The metadata file (meta_<Category>.json.gz), or null to build without titles and categories. */
  meta: string | null;
  /** Keep only users and items with at least this many reviews, repeatedly (0 = no filter). */
  kcore: number;
  /** Folder for the temporary spill file. */
  workDir: string;
}

const NULL_LEN = 0xffffffff;

/** Appends [u32 len][bytes] x 2 (summary, text) records to a file through a 4 MiB buffer. */
class Spill {
  private readonly fd: number;
  private buf = Buffer.allocUnsafe(1 << 22);
  private used = 0;
  private written = 0;
  constructor(readonly file: string) {
    this.fd = openSync(file, 'w+');
  }
  /** Appends a record; returns its offset. */
  add(summary: string | null, text: string | null): [number, number] {
    const max = 8 + 3 * ((summary?.length ?? 0) + (text?.length ?? 0));
    if (this.used + max > this.buf.length) this.flush();
    if (max > this.buf.length) this.buf = Buffer.allocUnsafe(max);
    const offset = this.written + this.used;
    const start = this.used;
    for (const s of [summary, text]) {
      const at = this.used;
      this.used += 4;
      if (s === null) this.buf.writeUInt32LE(NULL_LEN, at);
      else {
        const len = this.buf.write(s, this.used, 'utf8');
        this.buf.writeUInt32LE(len, at);
        this.used += len;
      }
    }
    return [offset, this.used - start];
  }
  flush(): void {
    if (this.used > 0) writeSync(this.fd, this.buf, 0, this.used);
    this.written += this.used;
    this.used = 0;
  }
  read(offset: number, length: number, into: Buffer): Buffer {
    const b = into.length >= length ? into : Buffer.allocUnsafe(length * 2);
    let got = 0;
    while (got < length) got += readSync(this.fd, b, got, length - got, offset + got);
    return b;
  }
  close(): void {
    closeSync(this.fd);
    rmSync(this.file, { force: true });
  }
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', '#39': "'" };
const decodeEntities = (s: string) => s.replace(/&(amp|lt|gt|quot|apos|nbsp|#39);/g, (_, e: string) => ENTITIES[e]);

/** Metadata strings can carry HTML; levels or titles that are markup are dropped, entities decoded. */
function cleanText(s: unknown): string | null {
  if (typeof s !== 'string') return null;
  const t = decodeEntities(s.replace(/<!--[\s\S]*?-->/g, ' ').replace(/<[^>]*>/g, ' ')).replace(/\s+/g, ' ').trim();
  return t === '' ? null : t;
}

function parsePrice(p: unknown): number | null {
  if (typeof p === 'number') return Number.isFinite(p) && p >= 0 ? p : null;
  if (typeof p !== 'string') return null;
  const m = /^\s*\$\s*([\d,]+(?:\.\d+)?)\s*$/.exec(p); // "$12.99"; ranges ("$5 - $9") and markup are not a price
  return m ? Number(m[1].replace(/,/g, '')) : null;
}

function metaFields(m: Record<string, unknown>): { fields: ItemFields; repaired: boolean } {
  let repaired = false;
  // 2018: category: [root, ...]; 2014: categories: [[root, ...], ...] (the first path).
  let levels: unknown = m.category;
  if (!Array.isArray(levels) && Array.isArray(m.categories)) levels = Array.isArray(m.categories[0]) ? m.categories[0] : m.categories;
  const category: string[] = [];
  if (Array.isArray(levels))
    for (const l of levels) {
      const c = cleanText(l);
      if (c === null || c.length > 100) repaired = true;
      else category.push(c);
    }
  const title = cleanText(m.title);
  if (typeof m.title === 'string' && m.title !== '' && (title === null || title.length !== m.title.trim().length)) repaired = true;
  const desc = Array.isArray(m.description) ? m.description.map(cleanText).filter(Boolean).join('\n') : cleanText(m.description);
  return {
    fields: { title, brand: cleanText(m.brand), description: desc || null, category: category.length ? category : null, price: parsePrice(m.price) },
    repaired,
  };
}

/** Iterative k-core over (user, item) pairs: returns the reviews kept (1) or dropped (0). */
function kcoreFilter(user: Int32Array, item: Int32Array, users: number, items: number, k: number): Uint8Array {
  const keep = new Uint8Array(user.length).fill(1);
  if (k <= 1) return keep;
  const uc = new Int32Array(users);
  const ic = new Int32Array(items);
  for (let changed = true; changed; ) {
    uc.fill(0);
    ic.fill(0);
    for (let r = 0; r < user.length; r++)
      if (keep[r]) {
        uc[user[r]]++;
        ic[item[r]]++;
      }
    changed = false;
    for (let r = 0; r < user.length; r++)
      if (keep[r] && (uc[user[r]] < k || ic[item[r]] < k)) {
        keep[r] = 0;
        changed = true;
      }
  }
  return keep;
}

export async function buildAmazon2018(
  reviewsFile: string,
  opts: Amazon2018Options,
  builder: DatasetBuilder,
  issues: Issues,
  progress?: ProgressFn,
): Promise<{ reviews: number; notes: string[] }> {
  const notes: string[] = [];
  const name = displayName(reviewsFile);
  const userIndex = new Map<string, number>();
  const userNames: string[] = [];
  const itemIndex = new Map<string, number>();
  const itemAsins: string[] = [];
  const itemFirstLine: number[] = [];
  const rUser = new Growable(Int32Array, 1 << 16);
  const rItem = new Growable(Int32Array, 1 << 16);
  const rTime = new Growable(Float64Array, 1 << 16);
  const rRating = new Growable(Uint8Array, 1 << 16);
  const rSpill = new Growable(Float64Array, 1 << 16);
  const rSpillLen = new Growable(Int32Array, 1 << 16);
  const spill = new Spill(path.join(opts.workDir, `reviews-${process.pid}.spill`));
  let noText = 0;
  try {
    // Pass 1: the reviews.
    await readLines(
      reviewsFile,
      (line, n) => {
        const where = `${name}:${n}`;
        let r: Record<string, unknown>;
        try {
          const v = parseJsonOrPython(line);
          if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
          r = v as Record<string, unknown>;
        } catch (e) {
          issues.add('malformed-line', where, `not a JSON object or Python dict (${(e as Error).message.slice(0, 80)})`, 'Skip the line');
          return;
        }
        const uid = r.reviewerID;
        const asin = r.asin;
        const overall = r.overall;
        const time = r.unixReviewTime;
        const missing = [typeof uid !== 'string' || uid === '' ? 'reviewerID' : '', typeof asin !== 'string' || asin === '' ? 'asin' : '', typeof time !== 'number' ? 'unixReviewTime' : '']
          .filter(Boolean)
          .join(', ');
        if (missing) {
          issues.add('missing-field', where, `${missing} missing or not the expected type`, 'Skip the review');
          return;
        }
        let rating = 0;
        if (typeof overall === 'number' && overall >= 1 && overall <= 5) rating = Math.round(overall);
        else issues.add('bad-value', where, `overall should be 1-5 but is ${preview(overall)}`, 'Keep the review with rating 0 (unknown)');
        let u = userIndex.get(uid as string);
        if (u === undefined) {
          userIndex.set(uid as string, (u = userNames.length));
          userNames.push(uid as string);
        }
        let it = itemIndex.get(asin as string);
        if (it === undefined) {
          itemIndex.set(asin as string, (it = itemAsins.length));
          itemAsins.push(asin as string);
          itemFirstLine.push(n);
        }
        const summary = typeof r.summary === 'string' ? r.summary : null;
        const text = typeof r.reviewText === 'string' ? r.reviewText : null;
        if (text === null) noText++;
        const [off, len] = spill.add(summary, text);
        rUser.push(u);
        rItem.push(it);
        rTime.push(time as number);
        rRating.push(rating);
        rSpill.push(off);
        rSpillLen.push(len);
      },
      { issues, progress },
    );
    spill.flush();
    const reviews = rUser.length;
    if (noText) notes.push(`${noText.toLocaleString('en-US')} reviews have no reviewText (kept, text empty)`);

    // Pass 2: metadata of the items that occur.
    const meta: (ItemFields | null)[] = new Array(itemAsins.length).fill(null);
    if (opts.meta) {
      const metaName = displayName(opts.meta);
      let unused = 0;
      let repaired = 0;
      const asinRe = /["']asin["']\s*:\s*["']([^"']+)["']/;
      await readLines(
        opts.meta,
        (line, n) => {
          const where = `${metaName}:${n}`;
          const quick = asinRe.exec(line);
          if (quick && !itemIndex.has(quick[1])) {
            unused++;
            return; // an item nobody reviewed here: not parsed at all
          }
          let m: Record<string, unknown>;
          try {
            const v = parseJsonOrPython(line);
            if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
            m = v as Record<string, unknown>;
          } catch (e) {
            issues.add('malformed-line', where, `not a JSON object or Python dict (${(e as Error).message.slice(0, 80)})`, 'Skip the line');
            return;
          }
          if (typeof m.asin !== 'string' || m.asin === '') {
            issues.add('missing-field', where, 'asin is missing', 'Skip the line');
            return;
          }
          const it = itemIndex.get(m.asin);
          if (it === undefined) {
            unused++;
            return;
          }
          if (meta[it]) {
            issues.add('duplicate-item', where, `asin ${m.asin} was described on an earlier line`, 'Keep the first description');
            return;
          }
          const f = metaFields(m);
          if (f.repaired) repaired++;
          meta[it] = f.fields;
        },
        { issues, progress },
      );
      if (unused) notes.push(`${unused.toLocaleString('en-US')} metadata lines describe items without reviews here (not used)`);
      if (repaired) notes.push(`${repaired.toLocaleString('en-US')} items had HTML in their title or category path (markup removed)`);
    } else notes.push('no metadata file: items have no title, category or price, so no critique slots can be marked');

    // Filter, then order: users by first appearance, each user's reviews by time (ties: file order).
    const user = rUser.finish();
    const item = rItem.finish();
    const time = rTime.finish();
    const keep = kcoreFilter(user, item, userNames.length, itemAsins.length, opts.kcore);
    let kept = 0;
    const perUser = new Int32Array(userNames.length + 1);
    for (let r = 0; r < reviews; r++)
      if (keep[r]) {
        perUser[user[r] + 1]++;
        kept++;
      }
    if (opts.kcore > 1) notes.push(`${opts.kcore}-core filter kept ${kept.toLocaleString('en-US')} of ${reviews.toLocaleString('en-US')} reviews`);
    for (let u = 0; u < userNames.length; u++) perUser[u + 1] += perUser[u];
    const order = new Int32Array(kept);
    const fill = perUser.slice(0, userNames.length);
    for (let r = 0; r < reviews; r++) if (keep[r]) order[fill[user[r]]++] = r;
    for (let u = 0; u < userNames.length; u++) {
      const seg = order.subarray(perUser[u], perUser[u + 1]);
      if (seg.length > 1) {
        const sorted = Array.from(seg).sort((a, b) => time[a] - time[b] || a - b);
        seg.set(sorted);
      }
    }

    // Output: items in order of first use, with their metadata; events with text from the spill.
    const denseId = new Int32Array(itemAsins.length).fill(-1);
    const rating = rRating.finish();
    const spillOff = rSpill.finish();
    const spillLen = rSpillLen.finish();
    let buf: Buffer = Buffer.allocUnsafe(1 << 16);
    let withoutMeta = 0;
    for (let u = 0; u < userNames.length; u++) {
      if (perUser[u + 1] === perUser[u]) continue; // filtered out entirely
      builder.beginUser(userNames[u]);
      for (let k = perUser[u]; k < perUser[u + 1]; k++) {
        const r = order[k];
        const it = item[r];
        if (denseId[it] < 0) {
          denseId[it] = builder.addItem(itemAsins[it], meta[it] ?? {});
          if (opts.meta && !meta[it]) {
            withoutMeta++;
            issues.add('unknown-item', `${name}:${itemFirstLine[it]}`, `asin ${itemAsins[it]} is not in the metadata file`, 'Keep its reviews; the item has no title, category or price');
          }
        }
        buf = spill.read(spillOff[r], spillLen[r], buf);
        const sLen = buf.readUInt32LE(0);
        const sEnd = sLen === NULL_LEN ? 4 : 4 + sLen;
        const tLen = buf.readUInt32LE(sEnd);
        builder.addEventBytes(
          denseId[it],
          rating[r],
          time[r],
          buf,
          sLen === NULL_LEN ? null : [4, sEnd],
          tLen === NULL_LEN ? null : [sEnd + 4, sEnd + 4 + tLen],
        );
      }
      builder.endUser();
      if ((u & 0xfff) === 0) progress?.({ phase: 'grouping reviews by user', done: u, total: userNames.length, unit: 'users' });
    }
    progress?.({ phase: 'grouping reviews by user', done: userNames.length, total: userNames.length, unit: 'users' });
    if (withoutMeta) notes.push(`${withoutMeta.toLocaleString('en-US')} items have no metadata`);
    return { reviews, notes };
  } finally {
    spill.close();
  }
}
