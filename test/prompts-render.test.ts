// Prompt rendering's fast paths (src/tasks/prompts.ts, issue 20) against plain reference code written
// here the way the renderer used to work: fields fitted by split/filter/join, every history block
// rendered from scratch (no per-item or per-user cache), one JSON.stringify per line, one write per
// file. Inputs are random and awkward: every kind of whitespace, JSON escapes, surrogate pairs,
// placeholders, budgets that cut every field, lines longer than the writer's 4 MiB buffers.
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { categoryPath } from '../src/data/categories.js';
import { DatasetBuilder } from '../src/data/builder.js';
import { ITEM_NARRATIVES, type Dataset, type DatasetMeta } from '../src/data/dataset.js';
import { loadDataset } from '../src/data/load.js';
import {
  buildPrompts,
  countWords,
  ID_TOKEN,
  NARRATIVE_NAMES,
  truncateWords,
  writePrompts,
  type PromptField,
  type PromptLine,
  type PromptOptions,
  type PromptSet,
} from '../src/tasks/prompts.js';
import { scratch } from './data-helpers.js';

const META: DatasetMeta = {
  name: 'render',
  key: 'r'.repeat(64),
  source: { kind: 'regen', files: [], options: {} },
  report: { issues: [], unknownKeys: [], notes: [] },
  builtBy: 'test',
};

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Every code unit that \s matches, and near misses that are not whitespace (zero-width space, U+180E).
const SPACES = [' ', ' ', ' ', '\t', '\n', '\v', '\f', '\r', '\u00a0', '\u1680', '\u2000', '\u2005', '\u200a', '\u2028', '\u2029', '\u202f', '\u205f', '\u3000', '\ufeff'];
const WORDS = ['pen', 'gel', 'é', 'naïve', '"quoted"', 'back\\slash', 'ctl\u0001x', 'emoji😀', 'ID_TOKEN', 'RECOMMENDED_ITEM', 'a_b', '[...]', 'zw\u200bsp', 'mvs\u180e', '<b>', '€5', 'end.', 'why?'];

function randomText(r: () => number, maxWords: number): string | null {
  if (r() < 0.1) return null;
  const n = Math.floor(r() * (maxWords + 1));
  let s = r() < 0.2 ? SPACES[Math.floor(r() * SPACES.length)] : '';
  for (let i = 0; i < n; i++) {
    s += WORDS[Math.floor(r() * WORDS.length)];
    if (i < n - 1 || r() < 0.2) s += r() < 0.7 ? ' ' : SPACES[Math.floor(r() * SPACES.length)].repeat(1 + Math.floor(r() * 2));
  }
  return s;
}

/** Random users over few items (so that items repeat across users, within users too). */
function randomDataset(seed: number): Dataset {
  const r = rng(seed);
  const b = new DatasetBuilder();
  const items: number[] = [];
  for (let i = 0; i < 40; i++)
    items.push(
      b.addItem(`A${i}${i % 7 === 0 ? '_ID_TOKEN' : ''}`, {
        title: randomText(r, 12),
        description: randomText(r, 30),
        category: r() < 0.15 ? null : ['Office', ...Array.from({ length: Math.floor(r() * 4) }, (_, j) => `L${j}${r() < 0.3 ? '  x' : ''}`)],
        price: r() < 0.2 ? null : Math.round(r() * 10000) / 100,
      }),
    );
  for (let u = 0; u < 60; u++) {
    b.beginUser(`user${u}`);
    const n = 2 + Math.floor(r() * 9);
    for (let e = 0; e < n; e++)
      b.addEvent({
        item: items[Math.floor(r() * items.length)],
        rating: Math.floor(r() * 6),
        critique: e > 0 ? randomText(r, 20) : null,
        reviewSummary: randomText(r, 6),
        reviewText: randomText(r, 40),
      });
    b.endUser(r() < 0.8 ? { purchaseReason: randomText(r, 20) ?? 'reason', userProfile: `profile "${u}"\n` } : {});
  }
  return b.finishInMemory(META);
}

// ---------------------------------------------------------------------------------------------
// The reference: the renderer as it was before the caches (src/tasks/prompts.ts at 42bb2ed).

function refTruncate(text: string, max: number): { text: string; truncated: boolean } {
  const words = text.split(/\s+/).filter(Boolean);
  if (words.length <= max) return { text: words.join(' '), truncated: false };
  return { text: `${words.slice(0, max).join(' ')} [...]`, truncated: true };
}
const refSanitize = (text: string) => text.replace(/ID_TOKEN|RECOMMENDED_ITEM/g, (m) => m.replace('_', '-'));

function refReview(summary: string | null, text: string | null): string | null {
  const s = summary?.trim() ?? '';
  const t = text?.trim() ?? '';
  if (!s) return t || null;
  if (!t) return s;
  return /[.!?…]$/.test(s) ? `${s} ${t}` : `${s}. ${t}`;
}

/** input, words, truncated_fields, dropped_history and id_tokens of row i, rendered from scratch. */
function reference(set: PromptSet, i: number): Pick<PromptLine, 'input' | 'words' | 'truncated_fields' | 'dropped_history' | 'id_tokens' | 'history'> {
  const ds = set.dataset;
  const { template, budget, critiques } = set.options;
  const field = (value: string | null, key: PromptField, cut: PromptField[]) => {
    if (value === null) return null;
    const t = refTruncate(refSanitize(value), budget.fields[key]);
    if (!t.text) return null;
    if (t.truncated) cut.push(key);
    return t.text;
  };
  const u = set.rows.users[i];
  const target = set.rows.events[i];
  const blocks: { text: string; cut: PromptField[]; asin: string }[] = [];
  for (let e = ds.users.offsets[u]; e < target; e++) {
    const item = ds.events.item[e];
    const asin = ds.items.asin.get(item)!;
    const cut: PromptField[] = [];
    const parts = ['START ID:', template === 'lumen' ? ID_TOKEN : refSanitize(asin)];
    const add = (label: string, value: string | null) => value !== null && parts.push(label, value);
    add('Title:', field(ds.items.title.get(item), 'title', cut));
    const levels = categoryPath(ds.categories, ds.items.category[item]).filter(Boolean);
    add('Category:', levels.length ? field(levels.join(' > '), 'category', cut) : null);
    add('Description:', field(ds.items.description.get(item), 'description', cut));
    const price = ds.items.price[item];
    add('Price:', Number.isFinite(price) ? `$${price.toFixed(2)}` : null);
    add('Rating:', ds.events.rating[e] > 0 ? String(ds.events.rating[e]) : null);
    add('User Review:', field(refReview(ds.events.reviewSummary.get(e), ds.events.reviewText.get(e)), 'review', cut));
    if (critiques) add('User Critique:', field(ds.events.critique.get(e), 'critique', cut));
    parts.push('END');
    blocks.push({ text: parts.join(' '), cut, asin });
  }
  const closingCut: PromptField[] = [];
  const critique = critiques ? field(ds.events.critique.get(target), 'critique', closingCut) : null;
  const closingParts: string[] = [];
  if (critique !== null) {
    const request = `User Critique for the next item purchase: ${critique}`;
    closingParts.push(/[.!?…]["'”’)\]]*$/.test(request) || request.endsWith('[...]') ? request : `${request}.`);
  }
  const { task, narrative } = set.options;
  if (task !== 3) closingParts.push('Predict the next item purchase.');
  else {
    const kind = { purchaseReason: 'purchase reason', userProfile: 'user profile' }[narrative as 'purchaseReason' | 'userProfile'];
    const about = ITEM_NARRATIVES.includes(narrative!);
    if (template === 'hybrid') closingParts.push('The last item purchase is: RECOMMENDED_ITEM.', about ? `Predict the ${kind} for the last purchased item.` : `Predict the ${kind} for this user.`);
    else closingParts.push(about ? `Predict the next item purchase and the ${kind} for it.` : `Predict the next item purchase and the ${kind} for this user.`);
  }
  const closing = closingParts.join(' ');
  const opening = "This is the summary of a user's purchase history.";
  const note = (k: number) => (k === 0 ? '' : k === 1 ? 'The oldest purchase is left out.' : `The ${k} oldest purchases are left out.`);
  const render = (k: number) => [opening, ...(k > 0 ? [note(k)] : []), ...blocks.slice(k).map((b, j) => `${j + k === 0 ? 'First' : 'Next'} item purchase is ${b.text}.`), closing].join(' ');
  let k = 0;
  while (k < blocks.length - 1 && countWords(render(k)) > budget.total) k++;
  const truncated_fields: Partial<Record<PromptField, number>> = {};
  for (const f of [...blocks.slice(k).flatMap((b) => b.cut), ...closingCut]) truncated_fields[f] = (truncated_fields[f] ?? 0) + 1;
  return {
    input: render(k),
    words: countWords(render(k)),
    truncated_fields,
    dropped_history: k,
    history: blocks.length - k,
    ...(template === 'lumen' ? { id_tokens: blocks.slice(k).map((b) => b.asin) } : {}),
  };
}

const OPTIONS: PromptOptions[] = [
  { task: 1 },
  { task: 2, split: 'train' },
  { task: 2, split: 'valid', budget: { total: 120, fields: { title: 3, category: 2, description: 4, review: 5, critique: 3 } } },
  { task: 1, split: 'train', budget: { fields: { description: 2, review: 1 } } },
  { task: 3, narrative: 'purchase_reason' },
  { task: 3, narrative: 'user_profile', budget: { total: 60 } },
];

describe('rendering: cached and fast paths against the reference', () => {
  it('truncateWords: the one-scan path and split/filter/join agree on random text with every kind of whitespace', () => {
    const r = rng(7);
    for (let n = 0; n < 20_000; n++) {
      const text = randomText(r, 12) ?? '';
      const max = 1 + Math.floor(r() * 10);
      const got = truncateWords(text, max);
      expect(got, JSON.stringify(text)).toEqual(refTruncate(text, max));
      expect(countWords(got.text)).toBe(Math.min(countWords(text), max) + (got.truncated ? 1 : 0));
    }
  });

  it('random dataset, every option and template: each line as the reference renders it, whatever was rendered before', () => {
    const ds = randomDataset(11);
    let rows = 0;
    let cutLines = 0;
    let droppedLines = 0;
    for (const o of OPTIONS)
      for (const template of ['hybrid', 'lumen'] as const) {
        const warm = buildPrompts(ds, { ...o, template });
        // A warm set renders its rows in a random order (item heads filled by other users' rows, the
        // per-user block cache switching users); a fresh set per row renders with empty caches.
        const r = rng(rows + 3);
        const order = Array.from({ length: warm.length }, (_, i) => i).sort(() => r() - 0.5);
        for (const i of order) {
          const line = warm.line(i, { inputOnly: true })!;
          const cold = buildPrompts(ds, { ...o, template }).line(i, { inputOnly: true });
          expect(cold).toEqual(line);
          expect(line).toMatchObject(reference(warm, i));
          expect(countWords(line.input)).toBe(line.words);
          if (Object.keys(line.truncated_fields).length) cutLines++;
          if (line.dropped_history) droppedLines++;
          rows++;
        }
      }
    expect(rows).toBeGreaterThan(1000);
    expect(cutLines).toBeGreaterThan(100);
    expect(droppedLines).toBeGreaterThan(50);
  });

  it('lineJson is JSON.stringify(line) exactly, on the random dataset and the demo, every split', async () => {
    const demo = await loadDataset('demo');
    for (const [ds, step] of [
      [randomDataset(12), 1],
      [demo, 7],
    ] as [Dataset, number][])
      for (const o of OPTIONS)
        for (const template of ['hybrid', 'lumen'] as const) {
          const a = buildPrompts(ds, { ...o, template });
          const b = buildPrompts(ds, { ...o, template });
          for (let i = 0; i < a.length; i += step) {
            const line = a.line(i);
            const both = b.lineJson(i);
            if (!line) {
              expect(both).toBeNull();
              continue;
            }
            expect(both!.json).toBe(JSON.stringify(line));
            expect(both!.line).toEqual({ ...line, input: '' });
          }
        }
  });
});

describe('writePrompts: buffered writing', () => {
  const dir = scratch();

  it('the file is the lines JSON.stringify-ed one by one, on every split; bytes are the file size', async () => {
    const ds = randomDataset(13);
    for (const o of [{ task: 2, split: 'train' }, { task: 1, split: 'valid' }, { task: 3, narrative: 'purchaseReason', template: 'lumen' }] as PromptOptions[]) {
      const file = path.join(dir, `${o.split ?? 'test'}.jsonl`);
      const res = await writePrompts(ds, file, o);
      const set = buildPrompts(ds, o);
      const expected = Array.from({ length: set.length }, (_, i) => set.line(i))
        .filter((l) => l !== null)
        .map((l) => `${JSON.stringify(l)}\n`)
        .join('');
      const text = readFileSync(file, 'utf8');
      expect(text).toBe(expected);
      expect(res.bytes).toBe(Buffer.byteLength(text));
      expect(res.lines).toBe(expected.split('\n').length - 1);
    }
  });

  it('many buffers (the demo train lines) and lines longer than a buffer (multi-byte text) come out whole and in order', async () => {
    const demo = await loadDataset('demo');
    const file = path.join(dir, 'demo-train.jsonl');
    const res = await writePrompts(demo, file, { task: 2, split: 'train' });
    const set = buildPrompts(demo, { task: 2, split: 'train' });
    const text = readFileSync(file);
    expect(res.bytes).toBe(text.length);
    expect(text.length).toBeGreaterThan(3 * 2 ** 22); // several 4 MiB buffers
    const lines = text.toString('utf8').split('\n');
    expect(lines.length).toBe(set.length + 1);
    for (let i = 0; i < set.length; i += 13) expect(lines[i]).toBe(JSON.stringify(set.line(i)));

    // One word of 1.5 million '€' (3 UTF-8 bytes each; no budget cuts a single word): 4.5 MB lines
    // between ordinary ones.
    const b = new DatasetBuilder();
    const huge = b.addItem('HUGE', { title: '€'.repeat(1_500_000) });
    const small = b.addItem('SMALL', { title: 'small "one"' });
    for (let u = 0; u < 4; u++) {
      b.beginUser(`u${u}`);
      for (const item of u % 2 ? [small, small, small] : [small, huge, small]) b.addEvent({ item, reviewText: `review ${u}` });
      b.endUser({ purchaseReason: `reason ${u}` });
    }
    const ds = b.finishInMemory(META);
    const hugeFile = path.join(dir, 'huge.jsonl');
    const r2 = await writePrompts(ds, hugeFile, { task: 3, narrative: 'purchase_reason' });
    const hs = buildPrompts(ds, { task: 3, narrative: 'purchase_reason' });
    const got = readFileSync(hugeFile, 'utf8');
    const want = [0, 1, 2, 3].map((i) => `${JSON.stringify(hs.line(i))}\n`).join('');
    expect(got.length).toBe(want.length);
    expect(got === want).toBe(true);
    expect(r2.bytes).toBe(Buffer.byteLength(want));
    expect(r2.bytes).toBeGreaterThan(2 * 4_500_000);
    expect(JSON.parse(got.split('\n')[0]).narrative).toBe(NARRATIVE_NAMES.purchaseReason);
  });
});
