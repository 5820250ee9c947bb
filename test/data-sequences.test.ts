// Plain sequence files and the MiniOneRec Office CSVs, on the real fixtures (test/fixtures, cut from
// ../shared/fixtures) and on files the tests write.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { detectFormat, loadDataset } from '../src/data/load.js';
import { csvRows } from '../src/data/sequences.js';
import { datasetStats } from '../src/data/stats.js';
import { FIXTURES, scratch, writeLines } from './data-helpers.js';

const dir = scratch();
const load = (file: string, opts: Parameters<typeof loadDataset>[1] = {}) => loadDataset(file, { cache: false, ...opts });
const BEAUTY = path.join(FIXTURES, 'amazon-beauty-s3rec', 'Beauty-head2000.txt');
const OFFICE = path.join(FIXTURES, 'amazon-office-minionerec');

describe('plain sequences (S3Rec Beauty)', () => {
  it('reads user item item ... lines, ids dense in order of first appearance', async () => {
    expect(await detectFormat(BEAUTY)).toBe('sequences');
    const ds = await load(BEAUTY);
    const lines = readFileSync(BEAUTY, 'utf8').trim().split('\n');
    const tokens = lines.map((l) => l.split(' '));
    expect(ds.users.count).toBe(2000);
    expect(ds.events.count).toBe(tokens.reduce((n, t) => n + t.length - 1, 0));
    // Every user's sequence reads back as the file's tokens, in order.
    for (const u of [0, 1, 999, 1999]) {
      expect(ds.users.reviewerId.get(u)).toBe(tokens[u][0]);
      expect(Array.from(ds.sequence(u), (i) => ds.items.asin.get(i))).toEqual(tokens[u].slice(1));
    }
    expect(Array.from(ds.sequence(0))).toEqual([0, 1, 2, 3, 4]);
    expect(ds.meta.report.issues).toEqual([]);
    const s = datasetStats(ds);
    expect(s.items).toBe(new Set(tokens.flatMap((t) => t.slice(1))).size);
    expect(s.split.testRows).toBe(2000);
    expect(s.critiqueSlots).toBe(0);
  });

  it('counts malformed lines, duplicate users, empty sequences and unknown items', async () => {
    const items = path.join(dir, 'items.json');
    writeFileSync(items, JSON.stringify({ 10: { title: 'Ten' }, 11: { title: 'Eleven', categories: ['Beauty', 'Skin Care'] }, 12: { title: 'Twelve' } }));
    const file = writeLines(path.join(dir, 'seq.txt'), ['1 10 11 12', '2 11 99 12', '1 10', '3', '{"user": 4}', '', '5 12 12 10']);
    const ds = await load(file, { itemMeta: items }); // the option was called items before issue 13 (now itemMeta, --item-meta)
    const by = Object.fromEntries(ds.meta.report.issues.map((i) => [i.kind, i]));
    expect(by['unknown-item'].samples).toEqual([`${file}:2: item 99 (token 3) is not in ${items}`]);
    expect(by['duplicate-user'].samples).toEqual([`${file}:3: user 1 appeared on an earlier line`]);
    expect(by['empty-sequence'].samples).toEqual([`${file}:4: user 3 has no items`]);
    expect(by['malformed-line'].samples).toEqual([`${file}:5: expected "user item item ..." but the line starts "{\\"user\\": 4}"`]);
    expect(Array.from({ length: ds.users.count }, (_, u) => ds.users.reviewerId.get(u))).toEqual(['1', '2', '5']);
    expect(Array.from(ds.sequence(1), (i) => ds.items.asin.get(i))).toEqual(['11', '12']);
    // Items keep the item file's ids and text; repeats are legal.
    expect(ds.items.title.get(ds.itemId('11')!)).toBe('Eleven');
    expect(Array.from(ds.sequence(2), (i) => ds.items.asin.get(i))).toEqual(['12', '12', '10']);
    await expect(load(file, { itemMeta: items, strict: true })).rejects.toThrow(new RegExp(`^${file}:2: item 99`));
  });
});

describe('MiniOneRec Office CSVs', () => {
  it('rebuilds user sequences by chaining valid then test rows, with real titles', async () => {
    expect(await detectFormat(OFFICE)).toBe('minionerec');
    const ds = await load(OFFICE);
    expect(ds.meta.report.issues).toEqual([]);
    expect(ds.users.count).toBe(120);
    expect(ds.items.count).toBe(642);
    // A row's history is the tail of the rebuilt sequence before its target, for every row.
    const seqOf = new Map<string, string[]>();
    for (let u = 0; u < ds.users.count; u++) seqOf.set(ds.users.reviewerId.get(u)!, Array.from(ds.sequence(u), (i) => ds.items.asin.get(i)!));
    let checked = 0;
    for (const name of ['valid.csv', 'test.csv']) {
      const rows = [...csvRows(readFileSync(path.join(OFFICE, name), 'utf8'))].slice(1).map(([r]) => r);
      for (const r of rows) {
        const seq = seqOf.get(r[0])!;
        const history = JSON.parse(r[3]) as number[];
        const target = r[4];
        // The target sits right after its history somewhere in the sequence.
        const found = seq.findIndex((x, k) => x === target && k >= history.length && history.every((h, j) => seq[k - history.length + j] === String(h)));
        expect(found).toBeGreaterThanOrEqual(0);
        checked++;
      }
    }
    expect(checked).toBe(457);
    const u = ds.userIndex('A1179')!;
    expect(ds.items.title.get(ds.sequence(u)[0])).toBe('Pendaflex Insertable Plastic Tabs Hanging Folder Tabs, 2", Clear, 25 Tabs and Inserts per Pack (42)');
    // Descriptions: the Python list is joined and the HTML/CSS junk removed.
    const desc = ds.items.description.get(ds.itemId('0')!)!;
    expect(desc.startsWith('HP 74 Black & 75 Tri-color Original Ink Cartridges')).toBe(true);
    expect(desc).not.toMatch(/<!--|headerM/);
  });

  it('parses RFC 4180 CSV (quotes, doubled quotes, newlines in fields, CRLF)', () => {
    const rows = [...csvRows('a,b,c\r\n"x, y","say ""hi""","line1\nline2"\n,,\nlast,1,2')].map(([r, line]) => [line, r]);
    expect(rows).toEqual([
      [1, ['a', 'b', 'c']],
      [2, ['x, y', 'say "hi"', 'line1\nline2']],
      [4, ['', '', '']],
      [5, ['last', '1', '2']],
    ]);
  });

  it('reports rows with unknown item ids or a broken history', async () => {
    const d = path.join(dir, 'minionerec');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(d);
    writeFileSync(path.join(d, 'Tiny.item.json'), JSON.stringify({ 0: { title: 'a' }, 1: { title: 'b' }, 2: { title: 'c' } }));
    writeFileSync(
      path.join(d, 'test.csv'),
      ['user_id,history_item_title,item_title,history_item_id,item_id', 'U,"[]",b,"[0]",1', 'U,"[]",c,"[0, 1]",2', 'U,"[]",x,"[0, 1, 2]",7', 'V,"[]",x,"[5]",1', 'V,"[]",c,"[2]",0', 'W,"[]",c,"oops",0'].join('\n'),
    );
    const ds = await load(d);
    const by = Object.fromEntries(ds.meta.report.issues.map((i) => [i.kind, i]));
    const csv = path.join(d, 'test.csv');
    expect(by['unknown-item'].samples).toEqual([`${csv}:4: item_id 7 is not in ${path.join(d, 'Tiny.item.json')}`, `${csv}:5: history_item_id has ids not in ${path.join(d, 'Tiny.item.json')}`]);
    expect(by['malformed-line'].samples[0]).toMatch(new RegExp(`^${csv}:7: history_item_id is not a list`));
    expect(Array.from(ds.sequence(ds.userIndex('U')!))).toEqual([0, 1, 2]);
    expect(Array.from(ds.sequence(ds.userIndex('V')!))).toEqual([2, 0]);
  });
});
