// Native calls never read caller memory after they return their promise: every input is copied before
// the work is queued. Each test changes or detaches every argument right after the call (before the
// promise settles) and checks the result is the one the unchanged inputs give.
import { describe, expect, it } from 'vitest';

import { decodeStep } from '../src/engine/decode-step.js';
import { defaultEngine } from '../src/engine/engine.js';
import { ItemTable } from '../src/engine/item-table.js';
import { textKernels } from '../src/engine/engine.js';
import { scoreItems } from '../src/engine/item-table.js';
import { bootstrapSums } from '../src/eval/bootstrap.js';
import { rng } from '../src/util/random.js';

const SEED = Number(process.env.REGEN_TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));
const random = (n: number, r: () => number) => Float32Array.from({ length: n }, () => r() * 2 - 1);
/** Detaches an ArrayBuffer (as postMessage with transfer does). */
const detach = (a: ArrayBufferView) => structuredClone(a.buffer, { transfer: [a.buffer as ArrayBuffer] });

describe(`inputs are copied before native work is queued (seed ${SEED})`, () => {
  const dim = 24;
  const count = 20_000; // several work units, so the search takes a while on worker threads
  const rows = 64;

  const inputs = () => {
    const r = rng(SEED);
    const items = random(count * dim, r);
    const queries = random(rows * dim, r);
    const targets = Int32Array.from({ length: rows }, () => Math.floor(r() * count));
    const offsets = Int32Array.from({ length: rows + 1 }, (_, i) => 3 * i);
    const ids = Int32Array.from({ length: 3 * rows }, () => Math.floor(r() * count));
    const bias = random(count, r);
    return { items, queries, targets, offsets, ids, bias };
  };

  it('ItemTable.create: the items changed or detached right after the call', async () => {
    const a = inputs();
    const expected = await (await ItemTable.create(a.items.slice(), { dim })).search(a.queries, { k: 5 });
    const b = inputs();
    const pending = ItemTable.create(b.items, { dim });
    b.items.fill(NaN);
    const table = await pending;
    expect(await table.search(a.queries, { k: 5 })).toEqual(expected);
    const c = inputs();
    const detached = ItemTable.create(c.items, { dim });
    detach(c.items);
    expect(await (await detached).search(a.queries, { k: 5 })).toEqual(expected);
  });

  it('search: queries, targets, exclusions and bias changed or detached right after the call', async () => {
    const a = inputs();
    const table = await ItemTable.create(a.items, { dim });
    const options = { k: 10, targets: a.targets, exclude: { offsets: a.offsets, ids: a.ids }, bias: a.bias };
    const expected = await table.search(a.queries, options);
    const b = inputs();
    const pending = table.search(b.queries, { k: 10, targets: b.targets, exclude: { offsets: b.offsets, ids: b.ids }, bias: b.bias });
    b.queries.fill(NaN);
    b.targets.fill(-7);
    b.offsets.fill(1 << 30);
    b.ids.fill(-1);
    b.bias.fill(Infinity);
    expect(await pending).toEqual(expected);
    const c = inputs();
    const detached = table.search(c.queries, { k: 10, targets: c.targets, exclude: { offsets: c.offsets, ids: c.ids }, bias: c.bias });
    for (const x of [c.queries, c.targets, c.offsets, c.ids, c.bias]) detach(x);
    expect(await detached).toEqual(expected);
    table.dispose();
  });

  it('search: exclusion offsets into a larger shared ids array (only the referenced ids are read)', async () => {
    const a = inputs();
    const table = await ItemTable.create(a.items, { dim });
    const half = rows / 2;
    const whole = await table.search(a.queries, { k: 10, targets: a.targets, exclude: { offsets: a.offsets, ids: a.ids } });
    const offsets = a.offsets.slice(half); // the second half's rows, indexing the full ids array
    const second = await table.search(a.queries.subarray(half * dim), { k: 10, targets: a.targets.subarray(half), exclude: { offsets, ids: a.ids } });
    expect(Array.from(second.targetRank)).toEqual(Array.from(whole.targetRank.subarray(half)));
    expect(Array.from(second.ids)).toEqual(Array.from(whole.ids.subarray(half * 10)));
    table.dispose();
  });

  it('decodeStep: hidden states, table choice, exclusions and streams changed right after the call', async () => {
    const a = inputs();
    const text = await ItemTable.create(a.items.subarray(0, 500 * dim), { dim });
    const items = await ItemTable.create(a.items, { dim });
    const input = () => ({
      hidden: a.queries.slice(),
      table: Int32Array.from({ length: rows }, (_, i) => i % 2),
      exclude: { offsets: a.offsets.slice(), ids: a.ids.map((id) => id % 500) },
      streams: Uint32Array.from({ length: rows }, (_, i) => i),
      steps: new Uint32Array(rows).fill(3),
      k: 4,
    });
    const sampling = { temperature: 1, seed: 5 };
    const expected = await decodeStep([text, items], input(), sampling);
    const x = input();
    const pending = decodeStep([text, items], x, sampling);
    x.hidden.fill(NaN);
    x.table.fill(1);
    x.exclude.offsets.fill(0);
    x.streams.fill(99);
    x.steps.fill(0);
    expect(await pending).toEqual(expected);
    text.dispose();
    items.dispose();
  });

  it('decodeStep: every argument detached right after the call, and both tables disposed', async () => {
    const a = inputs();
    const text = await ItemTable.create(a.items.subarray(0, 500 * dim), { dim });
    const items = await ItemTable.create(a.items, { dim });
    const input = () => ({
      hidden: a.queries.slice(),
      table: Int32Array.from({ length: rows }, (_, i) => i % 2),
      exclude: { offsets: a.offsets.slice(), ids: a.ids.map((id) => id % 500) },
      streams: Uint32Array.from({ length: rows }, (_, i) => i),
      steps: new Uint32Array(rows).fill(3),
      k: 4,
    });
    const sampling = { temperature: 0.7, topK: 50, seed: 9 };
    const expected = await decodeStep([text, items], input(), sampling);
    const x = input();
    const pending = decodeStep([text, items], x, sampling);
    for (const v of [x.hidden, x.table, x.exclude.offsets, x.exclude.ids, x.streams, x.steps]) detach(v);
    // The running step holds its own references to the tables' memory.
    text.dispose();
    items.dispose();
    expect(await pending).toEqual(expected);
  });

  it('search: the table disposed right after the call still answers the running search', async () => {
    const a = inputs();
    const table = await ItemTable.create(a.items, { dim });
    const expected = await table.search(a.queries, { k: 7, targets: a.targets });
    const pending = table.search(a.queries, { k: 7, targets: a.targets });
    table.dispose();
    expect(await pending).toEqual(expected);
    await expect(table.search(a.queries, { k: 7 })).rejects.toThrow(/disposed/);
  });

  it('bootstrapSums: the values changed or detached right after the call', async () => {
    const values = Float64Array.from({ length: 3000 }, (_, i) => (i * 7919) % 13);
    const expected = await defaultEngine().bootstrapSums(values.slice(), 3, 200, 4);
    const pending = bootstrapSums(values, 3, { samples: 200, seed: 4 });
    values.fill(1e9);
    expect(Array.from(await pending)).toEqual(Array.from(expected));
    const other = values.map((_, i) => (i * 7919) % 13);
    const detached = bootstrapSums(other, 3, { samples: 200, seed: 4 });
    detach(other);
    expect(Array.from(await detached)).toEqual(Array.from(expected));
  });

  // The synchronous entry points read their arguments before they return; what they return is theirs.
  it('scoreItems and the text kernels: results do not alias the arguments (changed or detached afterwards)', async () => {
    const a = inputs();
    const table = await ItemTable.create(a.items, { dim });
    const query = a.queries.slice(0, dim);
    const ids = Int32Array.from({ length: 50 }, (_, i) => (i * 37) % count);
    const scores = scoreItems(table, query, ids);
    const copy = scores.slice();
    query.fill(NaN);
    detach(ids);
    expect(scores).toEqual(copy);
    table.dispose();
    const kernels = textKernels();
    if (!kernels) return; // an addon without text kernels: the TypeScript path has no native memory
    const hyp = 'the cat sat on the mat.\nIt was flat';
    const ref = 'a cat sat on a mat.\nit was not flat';
    const layout = () => Int32Array.of(1, hyp.length, ref.length);
    const types = () => Int32Array.of(1, 2, 0, -1);
    const bleu = kernels.bleuChunkStats(hyp + ref, layout(), true);
    const rouge = kernels.rougeChunkStats(hyp + ref, layout(), types(), true);
    const l = layout();
    const t = types();
    const again = kernels.rougeChunkStats(hyp + ref, l, t, true);
    l.fill(-1);
    detach(t);
    expect(again).toEqual(rouge);
    expect(kernels.bleuChunkStats(hyp + ref, layout(), true)).toEqual(bleu);
    expect(kernels.porterStem('yyyyyyyyyyyyyyyying')).toBe(kernels.porterStem('yyyyyyyyyyyyyyyying'));
  });
});
