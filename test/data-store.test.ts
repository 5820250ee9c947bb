// The normalised dataset itself: text columns, the builder (in memory and on disk, which must agree),
// the Arrow store, the leave-one-out split and its CSR arrays going to the native engine as they are.
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { tableFromIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';

import { DatasetBuilder } from '../src/data/builder.js';
import { categoryPath, sharedLevels } from '../src/data/categories.js';
import type { Dataset, DatasetMeta } from '../src/data/dataset.js';
import { leaveOneOut } from '../src/data/splits.js';
import { openDataset, publishDir, tempDirFor } from '../src/data/store.js';
import { TextColumnBuilder, Utf8Column } from '../src/data/text-column.js';
import { ItemTable } from '../src/engine/item-table.js';
import { referenceSearch } from '../src/engine/selftest/reference.js';
import { scratch } from './data-helpers.js';

const META: DatasetMeta = {
  name: 'unit',
  key: 'k'.repeat(64),
  source: { kind: 'regen', files: [], options: {} },
  report: { issues: [], unknownKeys: [], notes: [] },
  builtBy: 'test',
};

const PENS = ['Office', 'Supplies', 'Writing', 'Pens'];

/** Three users: a critique on a similar pair, a repeat, a user too short for the valid split. */
function fill(b: DatasetBuilder): void {
  const gel = b.addItem('GEL', { title: 'Gel pen, 0.7mm', category: [...PENS, 'Gel'], price: 2.5, brand: 'Norvale' });
  const ball = b.addItem('BALL', { title: 'Ballpoint pen 0.5mm – “fine”', category: [...PENS, 'Ballpoint'] });
  const paper = b.addItem('PAPER', { title: 'Copy paper', category: ['Office', 'Supplies', 'Paper'], description: 'Letter size\n500 sheets' });
  const nocat = b.addItem('NOCAT', { title: null });
  b.beginUser('u1');
  b.addEvent({ item: gel, rating: 5, time: 100, reviewSummary: 'nice', reviewText: 'héllo wörld 🖊' });
  b.addEvent({ item: ball, rating: 4, time: 200, critique: '0.5mm, not 0.7mm', scores: { 'critique_scores.quality': 4 } });
  b.addEvent({ item: paper, rating: 3, time: 300 });
  b.addEvent({ item: paper, rating: 3, time: 400 });
  b.endUser({ userProfile: 'Organized writer', purchaseReason: 'Needed paper.' }, { 'user.narrative_scores.profile.veracity': 5 });
  b.beginUser('u2');
  b.addEvent({ item: nocat });
  b.addEvent({ item: gel, time: NaN });
  b.endUser();
  b.beginUser('u3');
  b.addEvent({ item: ball });
  b.addEvent({ item: gel, rating: 2 });
  b.addEvent({ item: nocat });
  b.endUser();
}

function snapshot(ds: Dataset) {
  return {
    items: [Array.from({ length: ds.items.count }, (_, i) => ds.items.asin.get(i)), Array.from(ds.items.category), Array.from(ds.items.price)],
    titles: Array.from({ length: ds.items.count }, (_, i) => ds.items.title.get(i)),
    descriptions: Array.from({ length: ds.items.count }, (_, i) => ds.items.description.get(i)),
    paths: Array.from({ length: ds.items.count }, (_, i) => categoryPath(ds.categories, ds.items.category[i])),
    users: Array.from({ length: ds.users.count }, (_, u) => ds.users.reviewerId.get(u)),
    offsets: Array.from(ds.users.offsets),
    narratives: Object.fromEntries(Object.entries(ds.users.narratives).map(([k, c]) => [k, Array.from({ length: c.length }, (_, u) => c.get(u))])),
    userScores: Object.fromEntries(Object.entries(ds.users.scores).map(([k, v]) => [k, Array.from(v)])),
    events: [ds.events.user, ds.events.item, ds.events.rating, ds.events.time, ds.events.critiqueSlot].map((a) => Array.from(a as ArrayLike<number>)),
    critiques: Array.from({ length: ds.events.count }, (_, e) => ds.events.critique.get(e)),
    reviews: Array.from({ length: ds.events.count }, (_, e) => [ds.events.reviewSummary.get(e), ds.events.reviewText.get(e)]),
    eventScores: Object.fromEntries(Object.entries(ds.events.scores).map(([k, v]) => [k, Array.from(v)])),
  };
}

describe('text columns', () => {
  it('keep nulls, empty strings and any Unicode, across chunks', () => {
    const values = ['a', null, '', 'héllo', '日本語 🖊', null, 'x'.repeat(1000)];
    const b = new TextColumnBuilder();
    values.slice(0, 3).forEach((v) => b.append(v));
    b.cut();
    values.slice(3).forEach((v) => b.append(v));
    const col = new Utf8Column(b.cutAll());
    expect(col.chunks).toHaveLength(2);
    expect(col.toArray()).toEqual(values);
    expect(values.map((_, i) => col.isNull(i))).toEqual(values.map((v) => v === null));
    expect(() => col.get(7)).toThrow(/Expected a row in \[0, 7\) but received 7/);
  });

  it('appends UTF-8 bytes as they are', () => {
    const b = new TextColumnBuilder();
    const bytes = Buffer.from('xx–yy');
    b.appendBytes(bytes, 2, bytes.length - 2);
    expect(new Utf8Column(b.cutAll()).get(0)).toBe('–');
  });
});

describe('the builder', () => {
  const dir = scratch();

  it('gives the same dataset in memory and on disk (text in several shards)', () => {
    const mem = new DatasetBuilder();
    fill(mem);
    const a = mem.finishInMemory(META);
    const out = path.join(dir, 'ds');
    const tmp = tempDirFor(out);
    const disk = new DatasetBuilder({ dir: tmp, shardBytes: 16 }); // tiny shards: every few rows
    fill(disk);
    const manifest = disk.finishToDisk(META);
    publishDir(tmp, out);
    expect(manifest.tables.events.shards.length).toBeGreaterThan(2);
    const b = openDataset(out);
    expect(snapshot(b)).toEqual(snapshot(a));
    expect(b.meta).toEqual(META);
    // Dense ids in order of addition; lookups both ways.
    expect(b.itemId('PAPER')).toBe(2);
    expect(b.userIndex('u3')).toBe(2);
    expect(Array.from(b.sequence(0))).toEqual([0, 1, 2, 2]);
  });

  it('marks critique slots where adjacent items share at least 4 category levels', () => {
    const b = new DatasetBuilder();
    fill(b);
    const ds = b.finishInMemory(META);
    // u1: gel -> ball share Office > Supplies > Writing > Pens (4): slot; ball -> paper (2): none;
    // paper -> paper (3 levels, the whole path): none. u2: no category: none. u3: ball -> gel: slot.
    expect(Array.from(ds.events.critiqueSlot)).toEqual([0, 1, 0, 0, 0, 0, 0, 1, 0]);
    expect(ds.sharedCategoryLevels(0, 1)).toBe(4);
    expect(ds.sharedCategoryLevels(2, 2)).toBe(3);
    expect(ds.sharedCategoryLevels(3, 0)).toBe(0);
    expect(sharedLevels(ds.categories, -1, -1)).toBe(0);
    expect(ds.events.scores['critique_scores.quality'][1]).toBe(4);
    expect(Number.isNaN(ds.events.scores['critique_scores.quality'][0])).toBe(true);
  });

  it('writes Arrow files that a plain Arrow reader opens (snake_case columns, shard row ranges)', () => {
    const out = path.join(dir, 'ds');
    const names = readdirSync(out).sort();
    expect(names).toContain('manifest.json');
    expect(names).toContain('events.arrow');
    const events = tableFromIPC(readFileSync(path.join(out, 'events.arrow')));
    expect(events.schema.fields.map((f) => f.name)).toEqual(['user', 'item', 'rating', 'unix_time', 'critique_slot', 'score:critique_scores.quality']);
    expect(Array.from(events.getChild('item')!.toArray() as Int32Array)).toEqual([0, 1, 2, 2, 3, 0, 1, 0, 3]);
    const shard = tableFromIPC(readFileSync(path.join(out, 'events.text-0000.arrow')));
    expect(shard.schema.metadata.get('start')).toBe('0');
    expect(shard.getChild('review_text')!.get(0)).toBe('héllo wörld 🖊');
  });

  it('refuses a folder whose files do not match the manifest', () => {
    const out = path.join(dir, 'ds');
    const file = path.join(out, 'events.text-0001.arrow');
    const saved = readFileSync(file);
    writeFileSync(file, saved.subarray(0, saved.length - 8));
    expect(() => openDataset(out)).toThrow(/incomplete or damaged: events.text-0001.arrow has \d+ bytes, the manifest says \d+. Delete it and prepare it again/);
    writeFileSync(file, saved);
    rmSync(path.join(out, 'manifest.json'));
    expect(() => openDataset(out)).toThrow(/not a prepared dataset \(no manifest.json\)/);
  });
});

describe('leave-one-out', () => {
  const offsets = Int32Array.from([0, 4, 6, 9, 10]);
  const items = Int32Array.from([10, 11, 12, 13, 20, 21, 30, 31, 32, 40]);
  const s = leaveOneOut(offsets, items);

  it('trains on the first N-2, validates on N-1, tests on the last', () => {
    expect(Array.from(s.train.offsets)).toEqual([0, 2, 2, 3, 3]);
    expect(Array.from(s.train.ids)).toEqual([10, 11, 30]);
    expect(Array.from(s.valid.users)).toEqual([0, 2]);
    expect(Array.from(s.valid.targets)).toEqual([12, 31]);
    expect(Array.from(s.valid.events)).toEqual([2, 7]);
    expect(Array.from(s.valid.history.offsets)).toEqual([0, 2, 3]);
    expect(Array.from(s.valid.history.ids)).toEqual([10, 11, 30]);
    // A single-purchase user has no history: no test row.
    expect(Array.from(s.test.users)).toEqual([0, 1, 2]);
    expect(Array.from(s.test.targets)).toEqual([13, 21, 32]);
    expect(Array.from(s.test.history.offsets)).toEqual([0, 3, 4, 6]);
    expect(Array.from(s.test.history.ids)).toEqual([10, 11, 12, 20, 30, 31]);
  });

  it('hands its history CSR and targets to the engine as they are', async () => {
    const b = new DatasetBuilder();
    fill(b);
    const ds = b.finishInMemory(META);
    const { test } = ds.split;
    const dim = 3;
    const embeddings = Float32Array.from({ length: ds.items.count * dim }, (_, i) => ((i * 7) % 5) - 2);
    const queries = Float32Array.from({ length: test.users.length * dim }, (_, i) => ((i * 3) % 4) - 1.5);
    const table = await ItemTable.create(embeddings, { dim });
    try {
      const opts = { k: 2, exclude: test.history, targets: test.targets };
      const got = await table.search(queries, opts);
      const ref = referenceSearch(embeddings, dim, queries, opts);
      expect(Array.from(got.targetRank!)).toEqual(Array.from(ref.targetRank!));
      expect(Array.from(got.ids)).toEqual(Array.from(ref.ids));
    } finally {
      table.dispose();
    }
  });
});
