// The REGEN release reader on files the tests write: the confirmed layout, the schema map, unknown
// keys, the last_purchase layout, and every kind of bad input (counted with file:line, fatal with --strict).
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

import { describe, expect, it } from 'vitest';

import { loadDataset, prepareDataset } from '../src/data/load.js';
import { resolveSchema } from '../src/data/regen-schema.js';
import { DataError } from '../src/data/report.js';
import { categoryPath } from '../src/data/categories.js';
import { regenUser, scratch, writeLines } from './data-helpers.js';

const dir = scratch();
/** The start of a sample: the file as given, and the line. */
const at = (name: string, line: number | string) => `${path.join(dir, name)}:${line}`;
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const load = (file: string, opts: Parameters<typeof loadDataset>[1] = {}) => loadDataset(file, { cache: false, ...opts });

const PENS = 'Office Products - Office & School Supplies - Writing & Correction Supplies - Pens & Refills';
const GOOD = [
  regenUser('U1', [
    { asin: 'A', category: `${PENS} - Gel Pens`, title: 'Gel pens 0.7mm', time: 100, rating: 4, critique: 'N/A' },
    { asin: 'B', category: `${PENS} - Ballpoint Pens`, title: 'Ballpoint pens 0.5mm', time: 200, critique: '0.5mm, not 0.7mm' },
    { asin: 'C', category: 'Office Products - Paper', title: 'Copy paper', time: 300, critique: 'N/A' },
  ]),
  regenUser('U2', [
    { asin: 'C', category: 'Office Products - Paper', title: 'Copy paper', time: 50 },
    { asin: 'C', category: 'Office Products - Paper', title: 'Copy paper', time: 60 }, // repeats are legal
    { asin: 'A', category: null, title: 'Gel pens 0.7mm', time: 70, price: null },
  ]),
];

describe('REGEN reader', () => {
  it('reads the confirmed layout: users, items, events, critiques, narratives', async () => {
    const ds = await load(writeLines(path.join(dir, 'good.jsonl'), GOOD));
    expect(ds.meta.report.issues).toEqual([]);
    expect([ds.users.count, ds.items.count, ds.events.count]).toEqual([2, 3, 6]);
    expect(Array.from(ds.sequence(0))).toEqual([0, 1, 2]);
    expect(Array.from(ds.sequence(1))).toEqual([2, 2, 0]);
    expect(categoryPath(ds.categories, ds.items.category[0])).toEqual(['Office Products', 'Office & School Supplies', 'Writing & Correction Supplies', 'Pens & Refills', 'Gel Pens']);
    expect(ds.items.price[0]).toBeCloseTo(9.99);
    expect(Array.from({ length: 6 }, (_, e) => ds.events.critique.get(e))).toEqual([null, '0.5mm, not 0.7mm', null, null, null, null]);
    expect(Array.from(ds.events.critiqueSlot)).toEqual([0, 1, 0, 0, 0, 0]);
    expect(Array.from(ds.events.time)).toEqual([100, 200, 300, 50, 60, 70]);
    expect(ds.events.rating[0]).toBe(4);
    expect(ds.events.reviewText.get(1)).toBe('review of B');
    expect(ds.users.narratives.userProfile.get(1)).toBe('profile of U2');
    expect(ds.users.narratives.userSummaryLong.get(0)).toBe('long summary of U1');
    expect(ds.users.narratives.userSummaryBrief.get(0)).toBe('brief of U1');
    expect(ds.users.narratives.purchaseReason.get(0)).toBe('reason of U1');
    expect(ds.users.narratives.productEndorsement.get(1)).toBe('endorsement of U2');
    expect(ds.meta.report.notes.join(' ')).toMatch(/last_purchase follows purchase_history/);
  });

  it('reads gzip like plain text', async () => {
    const plain = await load(writeLines(path.join(dir, 'g.jsonl'), GOOD));
    const gz = await load(writeLines(path.join(dir, 'g.jsonl.gz'), GOOD, true));
    expect(Array.from(gz.events.item)).toEqual(Array.from(plain.events.item));
    expect(gz.events.reviewText.get(2)).toBe(plain.events.reviewText.get(2));
  });

  it('reports unrecognised keys with a count and a sample path, and loads the rest', async () => {
    const u = regenUser('U1', [{ asin: 'A' }, { asin: 'B' }]) as Record<string, any>;
    u.purchase_history[0].item.brand_new_field = 'x';
    u.purchase_history[0].mystery = 1;
    u.user.hobby = 'chess';
    u.extra_top = true;
    const v = regenUser('U2', [{ asin: 'A' }, { asin: 'C' }]) as Record<string, any>;
    v.purchase_history[0].mystery = 2;
    const ds = await load(writeLines(path.join(dir, 'unknown.jsonl'), [u, v]));
    const unknown = Object.fromEntries(ds.meta.report.unknownKeys.map((k) => [k.path, k]));
    expect(unknown['$.purchase_history[].mystery']).toEqual({ path: '$.purchase_history[].mystery', count: 2, sample: `${at('unknown.jsonl', 1)} $.purchase_history[0].mystery` });
    expect(unknown['$.purchase_history[].item.brand_new_field'].count).toBe(1);
    expect(unknown['$.user.hobby'].sample).toBe(`${at('unknown.jsonl', 1)} $.user.hobby`);
    expect(unknown['$.extra_top'].count).toBe(1);
    expect(ds.users.count).toBe(2);
  });

  it('takes unconfirmed key names from the schema map', async () => {
    const u = regenUser('U1', [{ asin: 'A' }, { asin: 'B' }]) as Record<string, any>;
    u.last_purchase.review.user_critique = 'Blue, not black';
    u.last_purchase.why = 'Needed blue';
    u.last_purchase.scores = { why: { veracity: 4 } };
    u.user.brief = 'Brief';
    delete u.user.short_summary;
    delete u.last_purchase.purchase_reason;
    const file = writeLines(path.join(dir, 'schema.jsonl'), [u]);
    const defaults = await load(file);
    expect(defaults.meta.report.unknownKeys.map((k) => k.path).sort()).toEqual([
      '$.last_purchase.review.user_critique',
      '$.last_purchase.scores',
      '$.last_purchase.why',
      '$.user.brief',
    ]);
    const schemaFile = path.join(dir, 'schema.json');
    writeFileSync(schemaFile, JSON.stringify({ critique: 'review.user_critique', purchaseReason: 'why', narrativeScores: 'scores', userSummaryBrief: 'brief' }));
    const ds = await load(file, { schema: schemaFile });
    expect(ds.meta.report.unknownKeys).toEqual([]);
    expect(ds.events.critique.get(1)).toBe('Blue, not black');
    expect(ds.users.narratives.purchaseReason.get(0)).toBe('Needed blue');
    expect(ds.users.narratives.userSummaryBrief.get(0)).toBe('Brief');
    expect(ds.users.scores['last_purchase.scores.why.veracity'][0]).toBe(4);
    // The schema is part of the dataset's identity.
    expect(ds.meta.key).not.toBe(defaults.meta.key);
  });

  it('rejects a schema map with an unknown entry or a wrong type, naming it', () => {
    expect(() => resolveSchema({ critic: 'x' }, '--schema s.json')).toThrow(/--schema s.json: unknown schema entry "critic". Valid entries: critique, critiqueOn/);
    expect(() => resolveSchema({ critiqueSentinels: 'N/A' }, 'x')).toThrow(/"critiqueSentinels" must be a list of strings/);
    expect(() => resolveSchema({ lastPurchaseInHistory: 'yes' }, 'x')).toThrow(/"auto", true or false/);
    expect(() => resolveSchema({ purchaseReason: '' }, 'x')).toThrow(/must be a key name/);
  });

  it('treats sentinel values as no critique, with custom sentinels from the schema', async () => {
    const users = [regenUser('U1', [{ asin: 'A' }, { asin: 'B', critique: 'none' }, { asin: 'C', critique: '<SKIP>' }])];
    const file = writeLines(path.join(dir, 'sentinel.jsonl'), users);
    const a = await load(file);
    expect([a.events.critique.get(1), a.events.critique.get(2)]).toEqual([null, '<SKIP>']);
    const b = await load(file, { schema: { critiqueSentinels: ['<SKIP>'] } });
    expect([b.events.critique.get(1), b.events.critique.get(2)]).toEqual(['none', null]);
  });

  it('detects that last_purchase repeats the last history element, by majority over the file', async () => {
    // Every user lists the last purchase in the history too (the other possible layout).
    const users = Array.from({ length: 5 }, (_, i) => {
      const u = regenUser(`U${i}`, [{ asin: 'A', time: 1 }, { asin: 'B', time: 2 }]) as Record<string, any>;
      u.purchase_history.push(u.last_purchase);
      return u;
    });
    const ds = await load(writeLines(path.join(dir, 'included.jsonl'), users));
    expect(ds.events.count).toBe(10);
    expect(ds.meta.report.notes.join(' ')).toMatch(/last_purchase is the last element of purchase_history \(auto-detected from 5 users, 5 of whom/);
    // A user who bought the same item twice on one day does not flip the decision for everyone.
    const mixed = [
      ...Array.from({ length: 4 }, (_, i) => regenUser(`V${i}`, [{ asin: 'A', time: 1 }, { asin: 'B', time: 2 }])),
      ((u) => (u.purchase_history.push(u.last_purchase), u))(regenUser('W', [{ asin: 'A', time: 1 }, { asin: 'B', time: 2 }]) as Record<string, any>),
    ];
    const ds2 = await load(writeLines(path.join(dir, 'mixed.jsonl'), mixed));
    expect(Array.from(ds2.users.offsets)).toEqual([0, 2, 4, 6, 8, 11]);
    // And it can be forced.
    const ds3 = await load(writeLines(path.join(dir, 'forced.jsonl'), mixed), { schema: { lastPurchaseInHistory: true } });
    expect(ds3.events.count).toBe(10); // the 4 users whose last_purchase is not in the history get it appended (and reported)
    expect(ds3.meta.report.issues.find((i) => i.kind === 'inconsistent-record')?.count).toBe(4);
  });

  it('moves critiques stored on the purchase they steer away from (critiqueOn: previous)', async () => {
    const file = writeLines(path.join(dir, 'prev.jsonl'), [regenUser('U1', [{ asin: 'A', critique: 'bigger' }, { asin: 'B', critique: 'N/A' }, { asin: 'C' }])]);
    const next = await load(file);
    expect(next.events.critique.get(0)).toBeNull();
    expect(next.meta.report.issues[0]).toMatchObject({ kind: 'inconsistent-record', count: 1 });
    expect(next.meta.report.issues[0].samples[0]).toMatch(new RegExp(`^${esc(at('prev.jsonl', 1))}: a critique on the user's first purchase.*"critiqueOn": "previous"`));
    const prev = await load(file, { schema: { critiqueOn: 'previous' } });
    expect([0, 1, 2].map((e) => prev.events.critique.get(e))).toEqual([null, 'bigger', null]);
    expect(prev.meta.report.issues).toEqual([]);
  });
});

describe('REGEN bad input', () => {
  const bad = [
    regenUser('U1', [{ asin: 'A' }, { asin: 'B' }]), // 1: fine
    '{"reviewer_id": "U2", "purchase_history": [', // 2: malformed
    '[1, 2, 3]', // 3: not an object
    { purchase_history: [], user: {} }, // 4: no reviewer_id
    regenUser('U1', [{ asin: 'C' }]), // 5: duplicate user
    { reviewer_id: 'U5', purchase_history: [], user: { profile: 'p' } }, // 6: empty sequence
    { reviewer_id: 'U6', purchase_history: [{ item: { title: 'no asin' }, review: {} }], last_purchase: { item: { asin: 'D' } } }, // 7: missing asin, missing review
    ((u) => ((u.purchase_history[0].review.rating = 9), (u.purchase_history[0].review.unix_time = 'soon'), (u.purchase_history[0].item.price = 'cheap'), u))(
      regenUser('U7', [{ asin: 'E' }, { asin: 'F' }]) as Record<string, any>,
    ), // 8: bad values
    regenUser('U8', [{ asin: 'A', title: 'Another title for A' }, { asin: 'B' }]), // 9: inconsistent item
  ];

  it('counts every kind with file:line samples and keeps the good records', async () => {
    const ds = await load(writeLines(path.join(dir, 'bad.jsonl'), bad));
    const by = Object.fromEntries(ds.meta.report.issues.map((i) => [i.kind, i]));
    expect(by['malformed-line'].count).toBe(2);
    expect(by['malformed-line'].samples[0]).toMatch(new RegExp(`^${esc(at('bad.jsonl', 2))}: not valid JSON`));
    expect(by['malformed-line'].samples[1]).toBe(`${at('bad.jsonl', 3)}: expected a JSON object (one user) but found an array`);
    expect(by['missing-field'].samples).toEqual([
      `${at('bad.jsonl', 4)}: $.reviewer_id is missing`,
      `${at('bad.jsonl', 7)}: $.purchase_history[0].item.asin is missing`,
      `${at('bad.jsonl', 7)}: $.last_purchase.review is missing`,
    ]);
    expect(by['duplicate-user']).toMatchObject({ count: 1, samples: [`${at('bad.jsonl', 5)}: reviewer_id U1 appeared on an earlier line`] });
    expect(by['empty-sequence']).toMatchObject({ count: 1, samples: [`${at('bad.jsonl', 6)}: user U5 has no usable purchase`] });
    expect(by['bad-value'].count).toBe(3);
    expect(by['bad-value'].samples.join('\n')).toContain(`${at('bad.jsonl', 8)}: $.purchase_history[0].review.rating should be 1-5 but is 9`);
    expect(by['inconsistent-record'].samples[0]).toBe(`${at('bad.jsonl', 9)}: $.purchase_history[0].item: asin A has title "Another title for A", earlier "Item A"`);
    expect(by['inconsistent-record'].action).toBe('Keep the first description');
    // Kept: U1, U6 (its last purchase D only), U7 (rating 0, time unknown), U8.
    expect(Array.from({ length: ds.users.count }, (_, u) => ds.users.reviewerId.get(u))).toEqual(['U1', 'U6', 'U7', 'U8']);
    const u7 = ds.users.offsets[2];
    expect(ds.events.rating[u7]).toBe(0);
    expect(Number.isNaN(ds.events.time[u7])).toBe(true);
    expect(Number.isNaN(ds.items.price[ds.itemId('E')!])).toBe(true);
  });

  it('with --strict stops at the first bad record, naming file, line and fix', async () => {
    const file = writeLines(path.join(dir, 'bad-strict.jsonl'), bad);
    const err = await load(file, { strict: true }).catch((e) => e);
    expect(err).toBeInstanceOf(DataError);
    expect(err.kind).toBe('malformed-line');
    expect(err.message).toMatch(new RegExp(`^${esc(at('bad-strict.jsonl', 2))}: not valid JSON .*\\(a line that does not parse\\)\\. Fix the input, or run without options\\.strict to skip the line and count such records\\.$`)); // issue 13: the library names its option (the CLI says --strict)
  });

  it('keeps the lines before a truncated gzip and reports where it broke', async () => {
    const full = zlib.gzipSync(Array.from({ length: 200 }, (_, i) => JSON.stringify(regenUser(`U${i}`, [{ asin: `A${i % 7}` }, { asin: 'B' }]))).join('\n') + '\n');
    const file = path.join(dir, 'cut.jsonl.gz');
    writeFileSync(file, full.subarray(0, Math.floor(full.length * 0.6)));
    const ds = await load(file);
    const issue = ds.meta.report.issues.find((i) => i.kind === 'truncated-gzip')!;
    expect(issue.count).toBe(1);
    expect(issue.samples[0]).toMatch(new RegExp(`^${esc(at('cut.jsonl.gz', ''))}\\d+: unexpected end of file inside the gzip member at byte 0, after [\\d,]+ complete lines`));
    expect(ds.users.count).toBeGreaterThan(10);
    expect(ds.users.count).toBeLessThan(200);
    // Every kept user is complete (two purchases).
    for (let u = 0; u < ds.users.count; u++) expect(ds.users.offsets[u + 1] - ds.users.offsets[u]).toBe(2);
    await expect(load(file, { strict: true })).rejects.toThrow(/cut.jsonl.gz:\d+: unexpected end of file inside the gzip member/);
  });

  it('an interrupted or failed prepare leaves nothing behind that a later run would trust', async () => {
    const out = path.join(dir, 'prepared');
    await expect(prepareDataset(writeLines(path.join(dir, 'bad2.jsonl'), bad), { out, strict: true })).rejects.toThrow(DataError);
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(dir).filter((f) => f.startsWith('.prepared') || f === 'prepared')).toEqual([]);
  });

  it('reads the file it was given and nothing else (the source is never modified)', async () => {
    const file = writeLines(path.join(dir, 'ro.jsonl'), GOOD);
    const before = readFileSync(file);
    await prepareDataset(file, { cacheDir: path.join(dir, 'cache-ro') });
    expect(readFileSync(file).equals(before)).toBe(true);
  });
});
