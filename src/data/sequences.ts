// Plain sequence files and the MiniOneRec Office CSVs.
//
// Plain: `user item item ...` per line, in time order (S3Rec / RecBole style, e.g. Beauty.txt). Items
// get dense ids in order of first appearance; the file's token stays as the item's asin. An optional
// item file (MiniOneRec's `{"<id>": {title, description, brand, categories}}` JSON) adds text; tokens
// it lacks are then unknown items.
//
// MiniOneRec (AkaliKong/MiniOneRec data/Amazon): <name>.item.json + valid.csv / test.csv, one row per
// (history of at most 10 items, next item). Each user's sequence is rebuilt by chaining its rows
// (valid before test, file order): the first row's history, then every row's target. Their split is
// time-ordered, not leave-one-out, and the train part is not published, so the rebuilt sequences
// are the valid+test windows only; regen-bench splits them leave-one-out like every source.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import type { DatasetBuilder, ItemFields } from './builder.js';
import { displayName, readLines } from './lines.js';
import type { ProgressFn } from '../util/progress.js';
import { parsePyLiteral } from './pyliteral.js';
import { DataError, type Issues } from './report.js';

const stripHtml = (s: string) => s.replace(/<!--[\s\S]*?-->/g, ' ').replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim();

function textList(v: unknown): string | null {
  if (typeof v !== 'string' || v.trim() === '') return null;
  // MiniOneRec stores descriptions as a Python list printed into a string.
  if (/^\s*\[/.test(v)) {
    try {
      const list = parsePyLiteral(v);
      if (Array.isArray(list)) {
        const t = stripHtml(list.filter((x) => typeof x === 'string').join('\n'));
        return t || null;
      }
    } catch {
      // not a list after all: keep the string
    }
  }
  return stripHtml(v) || null;
}

function categoryLevels(v: unknown): string[] | null {
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string' && x.trim() !== '').map((x) => x.trim());
  if (typeof v === 'string' && v.trim() !== '') {
    if (/^\s*\[/.test(v)) {
      try {
        return categoryLevels(parsePyLiteral(v));
      } catch {
        // fall through
      }
    }
    return v.split(/\s*(?:>| - |\|)\s*/).filter(Boolean);
  }
  return null;
}

/** Reads a MiniOneRec-style item file into the builder (ids in the file's key order). Returns key -> id. */
export function readItemFile(file: string, builder: DatasetBuilder): Map<string, number> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new DataError(`${file}: not a JSON item file (${(e as Error).message}). Expected {"<item id>": {"title": ..., "description": ..., "brand": ..., "categories": ...}}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new DataError(`${file}: expected a JSON object keyed by item id, e.g. {"0": {"title": "..."}}`);
  const ids = new Map<string, number>();
  for (const [key, v] of Object.entries(parsed as Record<string, unknown>)) {
    const o = (v && typeof v === 'object' ? v : {}) as Record<string, unknown>;
    const fields: ItemFields = {
      title: typeof o.title === 'string' && o.title.trim() !== '' ? o.title.trim() : null,
      brand: typeof o.brand === 'string' && o.brand.trim() !== '' ? o.brand.trim() : null,
      description: textList(o.description),
      category: categoryLevels(o.categories ?? o.category),
    };
    ids.set(key, builder.addItem(key, fields));
  }
  return ids;
}

/** Reads `user item item ...` lines. */
export async function readSequenceFile(
  file: string,
  builder: DatasetBuilder,
  issues: Issues,
  opts: { itemFile?: string; progress?: ProgressFn },
): Promise<{ notes: string[] }> {
  const name = displayName(file);
  const known = opts.itemFile ? readItemFile(opts.itemFile, builder) : null;
  const notes: string[] = [];
  let repeatsAdjacent = 0;
  await readLines(
    file,
    (line, n) => {
      const where = `${name}:${n}`;
      const t = line.trim();
      if (/^[[{"']/.test(t) || /[\u0000-\u0008\u000e-\u001f]/.test(t)) {
        issues.add('malformed-line', where, `expected "user item item ..." but the line starts ${JSON.stringify(t.slice(0, 30))}`, 'Skip the line');
        return;
      }
      const tokens = t.split(/\s+/);
      const uid = tokens[0];
      if (builder.hasUser(uid)) {
        issues.add('duplicate-user', where, `user ${uid} appeared on an earlier line`, 'Keep the first line of the user, skip this one');
        return;
      }
      const items: number[] = [];
      for (let i = 1; i < tokens.length; i++) {
        let id = builder.findItem(tokens[i]);
        if (id === undefined) {
          if (known) {
            issues.add('unknown-item', where, `item ${tokens[i]} (token ${i + 1}) is not in ${displayName(opts.itemFile!)}`, 'Skip the item');
            continue;
          }
          id = builder.addItem(tokens[i]);
        }
        if (items.length && items[items.length - 1] === id) repeatsAdjacent++;
        items.push(id);
      }
      if (items.length === 0) {
        issues.add('empty-sequence', where, `user ${uid} has no items`, 'Skip the user');
        return;
      }
      builder.beginUser(uid);
      for (const item of items) builder.addEvent({ item });
      builder.endUser();
    },
    { issues, progress: opts.progress },
  );
  if (repeatsAdjacent) notes.push(`${repeatsAdjacent.toLocaleString('en-US')} purchases repeat the previous item (kept: repeats are legal)`);
  return { notes };
}

/** RFC 4180 CSV rows (quoted fields, doubled quotes, newlines inside quotes). Yields [row, first line]. */
export function* csvRows(text: string): Generator<[string[], number]> {
  let i = 0;
  let line = 1;
  const n = text.length;
  while (i < n) {
    const startLine = line;
    const row: string[] = [];
    for (;;) {
      let field = '';
      if (text[i] === '"') {
        i++;
        for (;;) {
          const q = text.indexOf('"', i);
          if (q < 0) throw new DataError(`unterminated quoted field starting on line ${startLine}`);
          const chunk = text.slice(i, q);
          for (let k = 0; k < chunk.length; k++) if (chunk.charCodeAt(k) === 10) line++;
          field += chunk;
          if (text[q + 1] === '"') {
            field += '"';
            i = q + 2;
          } else {
            i = q + 1;
            break;
          }
        }
      } else {
        let j = i;
        while (j < n && text[j] !== ',' && text[j] !== '\n' && text[j] !== '\r') j++;
        field = text.slice(i, j);
        i = j;
      }
      row.push(field);
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === '\r') i++;
      if (text[i] === '\n') {
        i++;
        line++;
      }
      break;
    }
    if (!(row.length === 1 && row[0] === '')) yield [row, startLine];
  }
}

/** The MiniOneRec files in a folder. */
export function minionerecFiles(dir: string): { itemFile: string; csvs: string[] } | null {
  if (!existsSync(dir)) return null;
  const names = readdirSync(dir);
  const item = names.find((f) => f.endsWith('.item.json'));
  const csvs = ['train.csv', 'valid.csv', 'test.csv'].filter((f) => names.includes(f)).map((f) => path.join(dir, f));
  return item && csvs.length ? { itemFile: path.join(dir, item), csvs } : null;
}

export function readMiniOneRec(dir: string, builder: DatasetBuilder, issues: Issues): { notes: string[] } {
  const files = minionerecFiles(dir);
  if (!files) throw new DataError(`${dir}: expected a MiniOneRec folder with <name>.item.json and valid.csv / test.csv`);
  const ids = readItemFile(files.itemFile, builder);
  const seqs = new Map<string, number[]>();
  let rows = 0;
  let mismatched = 0;
  for (const csv of files.csvs) {
    const name = displayName(csv);
    let header: string[] | null = null;
    let hi = -1;
    let ti = -1;
    let ui = -1;
    for (const [row, line] of csvRows(readFileSync(csv, 'utf8'))) {
      const where = `${name}:${line}`;
      if (!header) {
        header = row;
        [ui, hi, ti] = ['user_id', 'history_item_id', 'item_id'].map((c) => row.indexOf(c));
        if (ui < 0 || hi < 0 || ti < 0)
          throw new DataError(`${where}: expected the columns user_id, history_item_id, item_id; found ${row.join(', ')}`);
        continue;
      }
      rows++;
      if (row.length !== header.length) {
        issues.add('malformed-line', where, `${row.length} fields, the header has ${header.length}`, 'Skip the row');
        continue;
      }
      const uid = row[ui];
      let history: unknown;
      try {
        history = parsePyLiteral(row[hi]);
        if (!Array.isArray(history)) throw new Error('not a list');
      } catch (e) {
        issues.add('malformed-line', where, `history_item_id is not a list (${(e as Error).message.slice(0, 60)})`, 'Skip the row');
        continue;
      }
      const toId = (x: unknown): number | undefined => ids.get(String(x));
      const target = toId(row[ti]);
      if (uid === '') {
        issues.add('missing-field', where, 'user_id is empty', 'Skip the row');
        continue;
      }
      if (target === undefined) {
        issues.add('unknown-item', where, `item_id ${row[ti]} is not in ${displayName(files.itemFile)}`, 'Skip the row');
        continue;
      }
      const hist = (history as unknown[]).map(toId);
      if (hist.some((h) => h === undefined)) {
        issues.add('unknown-item', where, `history_item_id has ids not in ${displayName(files.itemFile)}`, 'Skip the row');
        continue;
      }
      let seq = seqs.get(uid);
      if (!seq) seqs.set(uid, (seq = [...(hist as number[])]));
      else {
        // The row's history must be the tail of what we have (at most 10 items).
        const tail = seq.slice(-hist.length);
        if (hist.length === 0 || tail.length !== hist.length || tail.some((x, k) => x !== hist[k])) {
          mismatched++;
          issues.add('inconsistent-record', where, `the history of user ${uid} does not continue its earlier rows`, 'Append the target anyway');
        }
      }
      seq.push(target);
    }
  }
  for (const [uid, seq] of seqs) {
    builder.beginUser(uid);
    for (const item of seq) builder.addEvent({ item });
    builder.endUser();
  }
  return {
    notes: [
      `MiniOneRec: ${rows.toLocaleString('en-US')} rows from ${files.csvs.map((f) => path.basename(f)).join(', ')} chained into ${seqs.size.toLocaleString('en-US')} user sequences` +
        (mismatched ? ` (${mismatched} rows did not continue their user's sequence)` : ''),
      'MiniOneRec: no timestamps or ratings in the source (time unknown, rating 0)',
    ],
  };
}
