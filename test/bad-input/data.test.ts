// The bad-input matrix, data (issue 15): source files and prepared folders, each case with its exact
// outcome (the error, or the counted problem in the load report).
import { closeSync, openSync, readFileSync, statSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

import { afterEach, describe, expect, it } from 'vitest';

import { detectFormat, loadDataset, prepareDataset } from '../../src/data/load.js';
import { parsePyLiteral } from '../../src/data/pyliteral.js';
import { openDataset } from '../../src/data/store.js';
import { setLimit } from '../../src/util/limits.js';
import { regenUser, scratch } from '../data-helpers.js';
import { cli } from './helpers.js';

const dir = scratch();
const cacheDir = path.join(dir, 'cache');
const users = (n: number) => Array.from({ length: n }, (_, i) => JSON.stringify(regenUser(`U${i}`, [{ asin: `A${i % 7}` }, { asin: 'B' }])));
const write = (name: string, content: string | Buffer) => {
  const f = path.join(dir, name);
  writeFileSync(f, content);
  return f;
};

afterEach(() => setLimit('lineBytes', undefined));

describe('bad input: data', () => {
  it('a REGEN line over the line limit', async () => {
    const f = write('long.jsonl', [...users(3), JSON.stringify(regenUser('BIG', [{ asin: 'A' }, { asin: 'B' }], { pad: 'x'.repeat(5000) }))].join('\n') + '\n');
    setLimit('lineBytes', 4000);
    await expect(loadDataset(f, { cacheDir })).rejects.toThrow(new RegExp(`^${f}:4: a line of at least [\\d,]+ bytes is over the limit \\(4,000 bytes in one line\\); raise it with REGEN_MAX_LINE_BYTES=N \\(or --max-line-bytes N\\)$`));
  });

  it('a REGEN gzip with trailing garbage: every user kept (200 of 200), the garbage reported', async () => {
    const gz = zlib.gzipSync(users(200).join('\n') + '\n');
    const f = write('trailing.jsonl.gz', Buffer.concat([gz, Buffer.from('trailing garbage')]));
    const ds = await loadDataset(f, { cacheDir });
    expect(ds.users.count).toBe(200);
    expect(ds.meta.report.issues).toEqual([
      {
        kind: 'gzip-trailing-data',
        count: 1,
        action: 'Ignore the trailing bytes',
        samples: [`${f}:200: 16 bytes after the last complete gzip member (from byte ${gz.length.toLocaleString('en-US')}) are not gzip data; every line of the 200 before them was read`],
      },
    ]);
  });

  it('rater scores nested deeper than a score can be: a bad value, never a stack overflow', async () => {
    // 10,000 levels: written as text (JSON.stringify itself would overflow on it).
    const u = regenUser('DEEP', [{ asin: 'A' }, { asin: 'B' }, { asin: 'C' }]);
    (u.purchase_history as Record<string, unknown>[])[1].critique_scores = 'DEEP-SCORES';
    const line = JSON.stringify(u).replace('"DEEP-SCORES"', '{"x":'.repeat(10_000) + '5' + '}'.repeat(10_000));
    const f = write('deep-scores.jsonl', [...users(3), line].join('\n') + '\n');
    const ds = await loadDataset(f, { cacheDir });
    const bad = ds.meta.report.issues.find((i) => i.kind === 'bad-value')!;
    expect(bad.count).toBe(1);
    expect(bad.samples[0]).toMatch(new RegExp(`^${f}:4: \\$\\.purchase_history\\[1\\]\\.critique_scores(\\.x){8} `));
  });

  it('a purchase history of nested arrays: each purchase a bad value, previewed briefly', async () => {
    const f = write('nested.jsonl', [...users(2), `{"reviewer_id": "N", "purchase_history": [${'['.repeat(50)}${']'.repeat(50)}]}`].join('\n') + '\n');
    const ds = await loadDataset(f, { cacheDir });
    const bad = ds.meta.report.issues.find((i) => i.kind === 'bad-value')!;
    expect(bad.samples).toEqual([`${f}:3: $.purchase_history[0] should be an object but is [[[[…]]]]`]);
  });

  it('a first line longer than 4 MiB: the format cannot be told from it; the error says which flag tells it', async () => {
    const f = write('huge-first.jsonl', `{"reviewer_id": "x", "pad": "${'p'.repeat(5 * 2 ** 20)}"}\n`);
    await expect(detectFormat(f)).rejects.toThrow(`${f}: the first line is longer than 4 MiB, so the format cannot be told from it; pass options.format (regen, amazon2018, sequences)`);
    const r = cli(['data', 'stats', f]);
    expect(r.stderr).toContain(`regen-bench: ${f}: the first line is longer than 4 MiB, so the format cannot be told from it; pass --format (regen, amazon2018, sequences)\n`);
  }, 60_000);

  it('/dev/zero as a source: the same (no newline in the first 4 MiB)', async () => {
    await expect(detectFormat('/dev/zero')).rejects.toThrow('/dev/zero: the first line is longer than 4 MiB, so the format cannot be told from it; pass options.format (regen, amazon2018, sequences)');
  });

  it('a source edited in place, same size, mtime put back: a new cache key, the edit is read', async () => {
    const f = write('edited.jsonl', users(20).join('\n') + '\n');
    utimesSync(f, 1_700_000_000, 1_700_000_000);
    const before = await prepareDataset(f, { cacheDir });
    const text = readFileSync(f, 'utf8');
    const at = text.indexOf('"U7"');
    const fd = openSync(f, 'r+');
    writeSync(fd, '"X7"', at); // same length
    closeSync(fd);
    utimesSync(f, 1_700_000_000, 1_700_000_000);
    expect(statSync(f).size).toBe(text.length);
    const after = await prepareDataset(f, { cacheDir });
    expect(after.cached).toBe(false);
    expect(after.dataset.meta.key).not.toBe(before.dataset.meta.key);
    expect(after.dataset.userIndex('X7')).toBeDefined();
  });

  it('a prepared folder with one byte changed in an Arrow file (same size): refused before it is parsed', async () => {
    const out = path.join(dir, 'prepared-flip');
    await prepareDataset(write('flip.jsonl', users(30).join('\n') + '\n'), { out, cacheDir });
    const file = path.join(out, 'events.arrow');
    const b = readFileSync(file);
    b[Math.floor(b.length / 2)] ^= 0x01;
    writeFileSync(file, b);
    expect(() => openDataset(out)).toThrow(`${file}: its content does not match the sha256 in manifest.json (changed or damaged since it was prepared); the dataset folder is damaged: delete it and prepare it again`);
  });

  it('a prepared folder whose manifest names a file outside the folder', async () => {
    const out = path.join(dir, 'prepared-escape');
    await prepareDataset(write('escape.jsonl', users(10).join('\n') + '\n'), { out, cacheDir });
    const mf = path.join(out, 'manifest.json');
    const m = JSON.parse(readFileSync(mf, 'utf8'));
    m.tables.items.numeric = '../../etc/passwd';
    writeFileSync(mf, JSON.stringify(m));
    expect(() => openDataset(out)).toThrow(`${mf}: table items is missing or malformed; the dataset folder is damaged: delete it and prepare it again`);
  });

  it('a prepared folder whose manifest lists a text column twice, text shards that do not tile the rows, or a file it does not list (found by the fuzzer)', async () => {
    const out = path.join(dir, 'prepared-shards');
    await prepareDataset(write('shards.jsonl', users(10).join('\n') + '\n'), { out, cacheDir });
    const mf = path.join(out, 'manifest.json');
    const original = readFileSync(mf, 'utf8');
    const m = JSON.parse(original);
    m.tables.items.textColumns = [...m.tables.items.textColumns, m.tables.items.textColumns[0]];
    writeFileSync(mf, JSON.stringify(m));
    expect(() => openDataset(out)).toThrow(`${mf}: table items lists a text column twice; the dataset folder is damaged: delete it and prepare it again`);
    const m3 = JSON.parse(original);
    m3.tables.users.numeric = 'users.a2row';
    writeFileSync(mf, JSON.stringify(m3));
    expect(() => openDataset(out)).toThrow(`${mf}: table users names "users.a2row", a file the manifest does not list; the dataset folder is damaged: delete it and prepare it again`);
    const m2 = JSON.parse(original);
    const shard = m2.tables.items.shards[0];
    m2.tables.items.shards = [shard, { ...shard }];
    writeFileSync(mf, JSON.stringify(m2));
    expect(() => openDataset(out)).toThrow(`${mf}: the text shards of items do not cover its rows in order; the dataset folder is damaged: delete it and prepare it again`);
  });

  it('a prepared folder whose manifest is JSON null', async () => {
    const out = path.join(dir, 'prepared-null');
    await prepareDataset(write('null.jsonl', users(10).join('\n') + '\n'), { out, cacheDir });
    writeFileSync(path.join(out, 'manifest.json'), 'null');
    expect(() => openDataset(out)).toThrow(`${path.join(out, 'manifest.json')}: not a regen-bench dataset manifest (format null)`);
  });

  it('a Python-literal record with a "__proto__" key: an own key of that record, nothing else changes', () => {
    const v = parsePyLiteral("{'__proto__': {'polluted': True}, 'asin': 'A1'}") as Record<string, unknown>;
    expect(Object.keys(v)).toEqual(['__proto__', 'asin']);
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('a Python literal nested deeper than the JSON limit: an error, not a stack overflow', () => {
    expect(() => parsePyLiteral('['.repeat(100_000) + ']'.repeat(100_000))).toThrow(/^nested more than 64 levels deep \(the limit REGEN_MAX_JSON_DEPTH\) at offset 64: /);
  });
});
