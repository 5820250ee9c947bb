// The Amazon Reviews 2018 builder on dumps the tests write: JSON and Python-literal lines, grouping by
// user, time order, the metadata join, critique slots, k-core, and its bad-input kinds.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

import { describe, expect, it } from 'vitest';

import { categoryPath } from '../src/data/categories.js';
import { detectFormat, loadDataset } from '../src/data/load.js';
import { parsePyLiteral } from '../src/data/pyliteral.js';
import { scratch, writeLines } from './data-helpers.js';

const dir = scratch();
const load = (file: string, opts: Parameters<typeof loadDataset>[1] = {}) => loadDataset(file, { cache: false, ...opts });

const review = (user: string, asin: string, time: number, extra: Record<string, unknown> = {}) => ({
  overall: 5.0,
  verified: true,
  reviewTime: '01 1, 2017',
  reviewerID: user,
  asin,
  reviewerName: 'Someone',
  reviewText: `${user} on ${asin}`,
  summary: `summary ${asin}`,
  unixReviewTime: time,
  ...extra,
});

const ROOT = ['Office Products', 'Office & School Supplies', 'Writing & Correction Supplies', 'Pens & Refills'];
const META = [
  { asin: 'GEL', title: 'Gel Pens, 0.7mm', category: [...ROOT, 'Gel Ink Rollerball Pens'], price: '$12.99', brand: 'Pilot', description: ['Smooth', 'Quick-dry'] },
  { asin: 'BALL', title: 'Ballpoint Pens &amp; Refills', category: [...ROOT, 'Ballpoint Pens'], price: '$5.49', brand: 'BIC' },
  { asin: 'PAPER', title: 'Copy Paper', category: ['Office Products', 'Office & School Supplies', 'Paper', 'Copy & Multipurpose Paper'], price: '$8.00 - $12.00' },
  { asin: 'NOTES', title: 'Sticky notes', category: ['Office Products', '</span></span></span>', 'Paper'], price: '' },
];

/** Reviews in file order; user A's are out of time order, with a tie. */
const REVIEWS = [
  review('A', 'PAPER', 300),
  review('B', 'BALL', 100),
  review('A', 'GEL', 100),
  review('A', 'BALL', 200, { overall: 3.0 }),
  review('B', 'GEL', 100), // tie with B's first: file order decides
  review('A', 'NOTES', 300), // tie with A's PAPER: after it
];

describe('Amazon 2018 builder', () => {
  it('groups per user, sorts by time (ties in file order), joins metadata, marks critique slots', async () => {
    writeLines(path.join(dir, 'meta_Office_Products.json.gz'), META, true);
    const file = writeLines(path.join(dir, 'Office_Products_5.json.gz'), REVIEWS, true);
    expect(await detectFormat(file)).toBe('amazon2018');
    const ds = await load(file); // metadata found next to the reviews
    expect(ds.meta.name).toBe('Office_Products');
    expect(Array.from({ length: ds.users.count }, (_, u) => ds.users.reviewerId.get(u))).toEqual(['A', 'B']);
    const asins = (u: number) => Array.from(ds.sequence(u), (i) => ds.items.asin.get(i));
    expect(asins(0)).toEqual(['GEL', 'BALL', 'PAPER', 'NOTES']);
    expect(asins(1)).toEqual(['BALL', 'GEL']);
    expect(Array.from(ds.events.time)).toEqual([100, 200, 300, 300, 100, 100]);
    expect(Array.from(ds.events.rating)).toEqual([5, 3, 5, 5, 5, 5]);
    expect(ds.events.reviewText.get(1)).toBe('A on BALL');
    expect(ds.events.reviewSummary.get(1)).toBe('summary BALL');
    // GEL -> BALL share the four levels down to Pens & Refills; BALL -> PAPER two; PAPER -> NOTES one.
    expect(Array.from(ds.events.critiqueSlot)).toEqual([0, 1, 0, 0, 0, 1]);
    expect(ds.events.critique.get(1)).toBeNull(); // raw data has slots, not critique text
    const gel = ds.itemId('GEL')!;
    expect(ds.items.title.get(gel)).toBe('Gel Pens, 0.7mm');
    expect(ds.items.brand.get(gel)).toBe('Pilot');
    expect(ds.items.description.get(gel)).toBe('Smooth\nQuick-dry');
    expect(ds.items.price[gel]).toBe(12.99);
    // Markup: entities decoded, an HTML level dropped, a price range is no price.
    expect(ds.items.title.get(ds.itemId('BALL')!)).toBe('Ballpoint Pens & Refills');
    expect(categoryPath(ds.categories, ds.items.category[ds.itemId('NOTES')!])).toEqual(['Office Products', 'Paper']);
    expect(Number.isNaN(ds.items.price[ds.itemId('PAPER')!])).toBe(true);
    expect(ds.meta.report.notes.join('\n')).toMatch(/2 items had HTML in their title or category path/);
  });

  it('reads dumps whose lines are Python literals', async () => {
    const py = (o: Record<string, unknown>) =>
      '{' +
      Object.entries(o)
        .map(([k, v]) => `'${k}': ${typeof v === 'string' ? (v.includes("'") ? JSON.stringify(v) : `'${v}'`) : v === true ? 'True' : Array.isArray(v) ? `[${v.map((x) => `'${x}'`).join(', ')}]` : v}`)
        .join(', ') +
      '}';
    writeLines(path.join(dir, 'meta_Py.json'), META.map(py));
    const file = writeLines(path.join(dir, 'Py.json'), REVIEWS.map((r) => py({ ...r, reviewText: "it's great" })));
    expect((await detectFormat(file))).toBe('amazon2018');
    const ds = await load(file);
    expect(ds.meta.report.issues).toEqual([]);
    expect(ds.events.count).toBe(6);
    expect(ds.events.reviewText.get(0)).toBe("it's great");
    expect(ds.items.title.get(ds.itemId('GEL')!)).toBe('Gel Pens, 0.7mm');
  });

  it('parses Python literals: quotes, escapes, None/True/False, tuples, nested', () => {
    expect(parsePyLiteral(`{'a': "it's", 'b': 'say \\'hi\\'\\n', 'c': None, 'd': True, 'e': (1, 2.5, -3e2), 'f': [{'g': False}], 'h': u'\\u00e9\\xe9'}`)).toEqual({
      a: "it's",
      b: "say 'hi'\n",
      c: null,
      d: true,
      e: [1, 2.5, -300],
      f: [{ g: false }],
      h: 'éé',
    });
    expect(() => parsePyLiteral("{'a': 1")).toThrow(/expected ',' or '}' at offset 7/);
    expect(() => parsePyLiteral("{'a': nope}")).toThrow(/unexpected character at offset 6/);
  });

  it('says how to go on when the metadata file is missing, and builds without it on request', async () => {
    const file = writeLines(path.join(dir, 'Toys_and_Games.json'), REVIEWS);
    await expect(load(file)).rejects.toThrow(/no metadata file next to it \(looked for meta_Toys_and_Games.json.gz, meta_Toys_and_Games.json\). Pass options.meta FILE, or options.meta none/); // issue 13: library errors name library options
    const ds = await load(file, { meta: 'none' });
    expect(ds.events.count).toBe(6);
    expect(ds.items.title.get(0)).toBeNull();
    expect(ds.meta.report.notes.join(' ')).toMatch(/no metadata file/);
    await expect(detectFormat(path.join(dir, 'meta_Py.json'))).rejects.toThrow(/looks like an Amazon metadata file.*--meta/);
  });

  it('counts bad reviews and metadata lines with file:line, and reports items without metadata', async () => {
    const meta = writeLines(path.join(dir, 'meta_Bad.json'), [...META, '{"asin": "GEL", "title": "again"}', 'garbage', { title: 'no asin' }]);
    const file = writeLines(path.join(dir, 'Bad.json'), [
      ...REVIEWS,
      '{"reviewerID": "C", "asin": ',
      { reviewerID: 'C', overall: 4, unixReviewTime: 5 },
      review('C', 'GHOST', 10, { overall: 'five' }),
    ]);
    const ds = await load(file, { meta });
    const by = Object.fromEntries(ds.meta.report.issues.map((i) => [i.kind, i]));
    expect(by['malformed-line'].samples).toEqual([
      expect.stringMatching(new RegExp(`^${file}:7: not a JSON object or Python dict`)),
      expect.stringMatching(new RegExp(`^${meta}:6: not a JSON object or Python dict`)),
    ]);
    expect(by['missing-field'].samples).toEqual([`${file}:8: asin missing or not the expected type`, `${meta}:7: asin is missing`]);
    expect(by['bad-value'].samples).toEqual([`${file}:9: overall should be 1-5 but is "five"`]);
    expect(by['duplicate-item'].samples).toEqual([`${meta}:5: asin GEL was described on an earlier line`]);
    expect(by['unknown-item'].samples).toEqual([`${file}:9: asin GHOST is not in the metadata file`]);
    expect(ds.users.count).toBe(3);
    expect(ds.items.title.get(ds.itemId('GEL')!)).toBe('Gel Pens, 0.7mm'); // the first description wins
    await expect(load(file, { meta, strict: true })).rejects.toThrow(new RegExp(`^${file}:7: not a JSON object`));
  });

  it('keeps the reviews before a truncated gzip', async () => {
    const lines = Array.from({ length: 500 }, (_, i) => JSON.stringify(review(`U${i % 50}`, 'GEL', i)));
    const gz = zlib.gzipSync(lines.join('\n') + '\n');
    const file = path.join(dir, 'Cut.json.gz');
    writeFileSync(file, gz.subarray(0, gz.length >> 1));
    const ds = await load(file, { meta: 'none' });
    expect(ds.meta.report.issues.map((i) => i.kind)).toEqual(['truncated-gzip']);
    expect(ds.events.count).toBeGreaterThan(50);
    expect(ds.events.count).toBeLessThan(500);
  });

  it('applies a k-core filter repeatedly', async () => {
    // Item X has 3 reviews, Y 2: with k = 3, Y goes, then user V (left with 2) goes, then X has 2 and goes.
    const rows = [review('U', 'X', 1), review('U', 'Z', 2), review('U', 'W', 3), review('V', 'X', 1), review('V', 'Y', 2), review('V', 'Z', 3), review('T', 'X', 1), review('T', 'Y', 2), review('T', 'Z', 3), review('T', 'W', 4), review('S', 'Z', 1), review('S', 'W', 2), review('S', 'X', 3)];
    const file = writeLines(path.join(dir, 'Core.json'), rows);
    const all = await load(file, { meta: 'none' });
    expect(all.events.count).toBe(13);
    const core = await load(file, { meta: 'none', kcore: 3 });
    const items = new Set(Array.from(core.events.item, (i) => core.items.asin.get(i)));
    expect([...items].sort()).toEqual(['W', 'X', 'Z']);
    expect(Array.from({ length: core.users.count }, (_, u) => core.users.reviewerId.get(u))).toEqual(['U', 'T', 'S']);
    expect(core.meta.report.notes.join(' ')).toMatch(/3-core filter kept 9 of 13 reviews/);
  });
});
