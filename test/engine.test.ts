// The native engine against the float64 reference, on fresh random inputs every run (the seed is
// in each test's name, to replay a failure), on every kernel this CPU can run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CHECK_CASES, makeCase } from '../src/engine/selftest/cases.js';
import { checkSearch } from '../src/engine/selftest/check.js';
import { ItemTable, nativeTable, type SearchOptions, type SearchResult } from '../src/engine/item-table.js';
import { referenceScores, referenceSearch, roundToBf16 } from '../src/engine/selftest/reference.js';
import { loadCpuBinding, type NativeCpuTable } from '../src/engine/binding.js';
import { rng } from '../src/util/random.js';

const ISAS = loadCpuBinding().supportedIsas();
const SEED = Number(process.env.REGEN_TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));

// Creates a table, searches once, disposes. (Target fields are read only where targets were given.)
async function search(items: Float32Array, dim: number, queries: Float32Array, options: SearchOptions, init: Partial<Parameters<typeof ItemTable.create>[1]> = {}) {
  const table = await ItemTable.create(items, { dim, ...init });
  try {
    return (await table.search(queries, options)) as Required<SearchResult>;
  } finally {
    table.dispose();
  }
}

describe.each(ISAS)(`kernel %s (seed ${SEED})`, (isa) => {
  // Tolerances: checkSearch allows the float32 dot-product error bound (dim + 2) u sum|q e| on
  // scores (twice that where two scores are compared), and 1e-5 + 1e-6 |logZ| more on logZ for the
  // exp polynomial (2.1e-7 relative) and float32 partial sums. Integer inputs must match exactly.
  it.each(CHECK_CASES.map((spec, i) => [spec.name, i] as const))('%s', async (_name, i) => {
    const c = makeCase(CHECK_CASES[i], SEED + i);
    const result = await search(c.items, c.spec.dim, c.queries, c.options, { isa });
    expect(checkSearch(c.items, c.spec.dim, c.queries, c.options, result, { exact: c.exact })).toEqual([]);
  });

  it('1000 query rows', async () => {
    const c = makeCase({ name: 'B=1000', count: 613, dim: 24, rows: 1000, k: 10, exclude: 15, targets: true, bias: true }, SEED + 100);
    const result = await search(c.items, 24, c.queries, c.options, { isa });
    expect(checkSearch(c.items, 24, c.queries, c.options, result, { maxProblems: 5 })).toEqual([]);
  });

  // A row block's exclusions are radix-sorted by item once there are 512 or more: with one or two
  // items the sort has zero or one bit to sort on (with zero it once divided by zero), and repeats of
  // an id must still count once.
  it.each([1, 2, 3])('%i-item table, 600 exclusions per row, ids repeated', async (count) => {
    const r = rng(SEED + 150 + count);
    const dim = 5;
    const items = Float32Array.from({ length: count * dim }, () => r() * 2 - 1);
    const rows = 6;
    const queries = Float32Array.from({ length: rows * dim }, () => r() * 2 - 1);
    const offsets = Int32Array.from({ length: rows + 1 }, (_, b) => b * 600);
    // Every row excludes item 0; with several items, row b also excludes item 1 when b is odd.
    const ids = Int32Array.from({ length: rows * 600 }, (_, p) => (count > 1 && Math.floor(p / 600) % 2 === 1 && p % 3 === 0 ? 1 : 0));
    const targets = Int32Array.from({ length: rows }, (_, b) => b % count);
    const options = { k: 2, exclude: { offsets, ids }, targets };
    const result = await search(items, dim, queries, options, { isa });
    expect(checkSearch(items, dim, queries, options, result)).toEqual([]);
    if (count === 1) expect(Array.from(result.logZ)).toEqual(new Array(rows).fill(-Infinity));
  });

  it('zero query rows gives empty results', async () => {
    const c = makeCase({ name: 'B=0', count: 10, dim: 4, rows: 0, k: 3 }, SEED);
    const r = await search(c.items, 4, c.queries, { k: 3, targets: new Int32Array(0), exclude: { offsets: new Int32Array(1), ids: new Int32Array(0) } }, { isa });
    expect([r.ids.length, r.scores.length, r.logZ.length, r.targetRank.length, r.targetLogProb.length]).toEqual([0, 0, 0, 0, 0]);
  });

  it('a target in the top-k has the rank of its position, exactly', async () => {
    const c = makeCase({ name: 'ranks', count: 3001, dim: 16, rows: 48, k: 20, exclude: 10 }, SEED + 200);
    const first = await search(c.items, 16, c.queries, c.options, { isa });
    const pos = (b: number) => (b * 7) % 20;
    const targets = Int32Array.from({ length: 48 }, (_, b) => first.ids[b * 20 + pos(b)]);
    const second = await search(c.items, 16, c.queries, { ...c.options, targets }, { isa });
    expect(Array.from(second.targetRank)).toEqual(Array.from({ length: 48 }, (_, b) => pos(b)));
    for (let b = 0; b < 48; b++) expect(second.targetLogProb[b]).toBeCloseTo(second.scores[b * 20 + pos(b)] - second.logZ[b], 5);
  });

  it('logZ stays finite for scores up to 1e30', async () => {
    const r = rng(SEED + 250);
    const items = Float32Array.from({ length: 300 * 8 }, () => (r() * 2 - 1) * 1e15);
    const queries = Float32Array.from({ length: 5 * 8 }, () => (r() * 2 - 1) * 1e15);
    const targets = Int32Array.from([0, 1, 2, 3, 4]);
    const result = await search(items, 8, queries, { k: 1, targets }, { isa });
    const ref = referenceSearch(items, 8, queries, { k: 1, targets });
    for (let b = 0; b < 5; b++) {
      // The scores' own float32 rounding, (dim + 2) u |s|, is the only error left at this scale.
      expect(Math.abs(result.logZ[b] - ref.logZ[b])).toBeLessThanOrEqual(10 * 2 ** -24 * 8e30);
      expect(Number.isFinite(result.targetLogProb[b])).toBe(true);
    }
  });

  it('logZ of equal scores is s + log(N)', async () => {
    const count = 50_000;
    const items = new Float32Array(count * 2).fill(0.5); // every score is 0.5 * (q0 + q1)
    const queries = Float32Array.from([1, 1, -2, 0.5, 40, 40]);
    const r = await search(items, 2, queries, { k: 3 }, { isa });
    const expected = [1, -0.75, 40].map((s) => s + Math.log(count));
    for (let b = 0; b < 3; b++) expect(Math.abs(r.logZ[b] - expected[b])).toBeLessThan(2e-5 * Math.max(1, Math.abs(expected[b])));
    expect(Array.from(r.ids)).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2]); // all tied: lowest ids first
  });
});

const BF16 = loadCpuBinding().bf16Supported();

describe.skipIf(!BF16)(`bf16 tables (seed ${SEED})`, () => {
  // A bf16 search is the float64 search of the bf16-rounded inputs, to float32 summation accuracy.
  it.each(CHECK_CASES.map((spec, i) => [spec.name, i] as const))('%s', async (_name, i) => {
    const c = makeCase(CHECK_CASES[i], SEED + i);
    const result = await search(c.items, c.spec.dim, c.queries, c.options, { precision: 'bf16' });
    expect(checkSearch(roundToBf16(c.items), c.spec.dim, roundToBf16(c.queries), c.options, result, { exact: c.exact })).toEqual([]);
  });

  it('scores stay within the documented bound of the fp32 scores: 2^-8 sum_j |q_j e_j|', async () => {
    const c = makeCase({ name: 'bound', count: 5000, dim: 96, rows: 20, k: 50 }, SEED + 700);
    const r = await search(c.items, 96, c.queries, { k: 50 }, { precision: 'bf16' });
    for (let b = 0; b < 20; b++) {
      const exact = referenceScores(c.items, 96, c.queries, b);
      for (let j = 0; j < 50; j++) {
        const id = r.ids[b * 50 + j];
        let magnitude = 0;
        for (let d = 0; d < 96; d++) magnitude += Math.abs(c.queries[b * 96 + d] * c.items[id * 96 + d]);
        expect(Math.abs(r.scores[b * 50 + j] - exact[id])).toBeLessThanOrEqual(2 ** -8 * magnitude);
      }
    }
  });

  it('runs only on the avx512 kernel', async () => {
    await expect(ItemTable.create(new Float32Array(8), { dim: 2, precision: 'bf16', isa: 'avx2' })).rejects.toThrow(/bf16.*avx512|avx512.*bf16/);
    const t = await ItemTable.create(new Float32Array(8), { dim: 2, precision: 'bf16' });
    expect([t.isa, t.precision]).toEqual(['avx512', 'bf16']);
    t.dispose();
  });
});

// AVX-512 batches of at most 8 rows run one of three kernels (items in lanes from the table's blocked
// copy, the default; items in lanes transposed from the rows; or two items per 512-bit vector);
// REGEN_SMALL_BATCH_KERNEL, read when a table is created, forces one, so that all are checked on
// every machine.
const AVX512 = ISAS.includes('avx512');
const SMALL_KERNELS = ['lanes', 'paired', 'blocked'] as const;

describe.each([
  ...ISAS.map((isa) => ({ isa, precision: 'fp32' as const, kernel: 'auto' })),
  ...(BF16 ? [{ isa: 'avx512' as const, precision: 'bf16' as const, kernel: 'auto' }] : []),
  ...(AVX512 ? SMALL_KERNELS.map((kernel) => ({ isa: 'avx512' as const, precision: 'fp32' as const, kernel })) : []),
  ...(BF16 ? SMALL_KERNELS.map((kernel) => ({ isa: 'avx512' as const, precision: 'bf16' as const, kernel })) : []),
])(`small batches, $isa $precision, $kernel kernel (seed ${SEED})`, ({ isa, precision, kernel }) => {
  // Every check case again at 1..8 rows (special values need 2 rows for the -Infinity query).
  beforeAll(() => {
    if (kernel !== 'auto') process.env.REGEN_SMALL_BATCH_KERNEL = kernel;
  });
  afterAll(() => {
    delete process.env.REGEN_SMALL_BATCH_KERNEL;
  });
  const bf16 = precision === 'bf16';
  it.each(CHECK_CASES.map((spec, i) => [spec.name, i] as const))('%s, at most 8 rows', async (_name, i) => {
    const spec = { ...CHECK_CASES[i], rows: Math.min(CHECK_CASES[i].rows, 1 + (i % 8)) };
    const c = makeCase(spec, SEED + 500 + i);
    const result = await search(c.items, spec.dim, c.queries, c.options, { isa, precision });
    const items = bf16 ? roundToBf16(c.items) : c.items;
    const queries = bf16 ? roundToBf16(c.queries) : c.queries;
    expect(checkSearch(items, spec.dim, queries, c.options, result, { exact: c.exact })).toEqual([]);
  });

  it('a batch of 1..8 rows gives the same ids, scores and ranks as those rows in a large batch', async () => {
    const dim = 37;
    const c = makeCase({ name: 'narrow', count: 3001, dim, rows: 48, k: 12, exclude: 20, targets: true, bias: true }, SEED + 600);
    const table = await ItemTable.create(c.items, { dim, isa, precision });
    try {
      const all = (await table.search(c.queries, c.options)) as Required<SearchResult>;
      const offsets = c.options.exclude!.offsets;
      let first = 0;
      for (let rows = 1; rows <= 8; first += rows, rows++) {
        const part = (await table.search(c.queries.subarray(first * dim, (first + rows) * dim), {
          ...c.options,
          targets: c.options.targets!.subarray(first, first + rows),
          exclude: {
            offsets: Int32Array.from(offsets.subarray(first, first + rows + 1), (o) => o - offsets[first]),
            ids: c.options.exclude!.ids.subarray(offsets[first], offsets[first + rows]),
          },
        })) as Required<SearchResult>;
        expect(part.ids).toEqual(all.ids.subarray(first * 12, (first + rows) * 12));
        expect(part.scores).toEqual(all.scores.subarray(first * 12, (first + rows) * 12));
        expect(part.targetRank).toEqual(all.targetRank.subarray(first, first + rows));
        for (let b = 0; b < rows; b++) expect(Math.abs(part.logZ[b] - all.logZ[first + b])).toBeLessThan(1e-5 * Math.max(1, Math.abs(all.logZ[first + b])));
      }
    } finally {
      table.dispose();
    }
  });
});

describe.skipIf(!AVX512)('which kernel a batch runs', () => {
  const binding = loadCpuBinding();
  const precisions = BF16 ? (['fp32', 'bf16'] as const) : (['fp32'] as const);

  it('up to 8 rows: blocked (auto), or lanes / paired / blocked as asked; more rows: rows in lanes', () => {
    for (const precision of precisions)
      for (const dim of [64, 128, 129, 256])
        for (const rows of [1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 300]) {
          expect(binding.scanKernelKind!('avx512', precision, rows, dim, 'auto'), `${precision} ${rows} rows, d = ${dim}`).toBe(rows > 8 ? 'rows' : 'blocked');
          for (const kernel of SMALL_KERNELS) expect(binding.scanKernelKind!('avx512', precision, rows, dim, kernel)).toBe(rows > 8 ? 'rows' : kernel);
        }
    // Other instruction sets keep their own kernels.
    expect(binding.scanKernelKind!('avx2', 'fp32', 4, 64, 'auto')).not.toBe('blocked');
    expect(() => binding.scanKernelKind!('avx512', 'fp32', 4, 64, 'pairs' as 'paired')).toThrow(/unknown smallBatchKernel 'pairs'/);
  });

  it('a table created under REGEN_SMALL_BATCH_KERNEL passes it to its searches', async () => {
    // What the native search receives, seen through a wrapper on the table's native object.
    const passed = async (table: ItemTable) => {
      const native = nativeTable(table) as NativeCpuTable;
      let seen: unknown = 'not called';
      const search = native.search.bind(native);
      Object.defineProperty(native, 'search', { configurable: true, value: (args: Parameters<NativeCpuTable['search']>[0]) => ((seen = args.smallBatchKernel), search(args)) });
      await table.search(new Float32Array(8), { k: 2 });
      return seen;
    };
    try {
      for (const kernel of SMALL_KERNELS) {
        process.env.REGEN_SMALL_BATCH_KERNEL = kernel;
        const table = await ItemTable.create(new Float32Array(64), { dim: 8 });
        delete process.env.REGEN_SMALL_BATCH_KERNEL; // read at creation, not at search
        expect(await passed(table)).toBe(kernel);
        table.dispose();
      }
      const table = await ItemTable.create(new Float32Array(64), { dim: 8 });
      expect(await passed(table)).toBe('auto');
      table.dispose();
    } finally {
      delete process.env.REGEN_SMALL_BATCH_KERNEL;
    }
  });

  it('the blocked copy follows setItems, and searches that start together on a fresh table agree', async () => {
    for (const precision of precisions) {
      // 8 rows x 140,000 items x 64 is over 2^26 multiply-adds: these searches run on libuv workers,
      // at once, and the first to need the blocked copy builds it while the others wait for it.
      const dim = 64;
      const c = makeCase({ name: 'blocked', count: 140_000, dim, rows: 8, k: 7, exclude: 9, targets: true, bias: true }, SEED + 650);
      const other = makeCase({ name: 'blocked', count: 140_000, dim, rows: 8, k: 7 }, SEED + 651);
      const table = await ItemTable.create(c.items, { dim, precision });
      const fresh = await ItemTable.create(other.items, { dim, precision });
      try {
        const together = await Promise.all([0, 1, 2, 3].map(() => table.search(c.queries, c.options)));
        const items = precision === 'bf16' ? roundToBf16(c.items) : c.items;
        const queries = precision === 'bf16' ? roundToBf16(c.queries) : c.queries;
        expect(checkSearch(items, dim, queries, c.options, together[0], { exact: c.exact })).toEqual([]);
        for (const r of together.slice(1)) expect(r).toEqual(together[0]);
        table.setItems(other.items); // nothing in flight: overwritten in place, the copy dropped
        const after = await table.search(c.queries.subarray(0, 3 * dim), { k: 7 });
        expect(after).toEqual(await fresh.search(c.queries.subarray(0, 3 * dim), { k: 7 }));
      } finally {
        table.dispose();
        fresh.dispose();
      }
    }
  });
});

describe(`results do not depend on the kernel or the thread count (seed ${SEED})`, () => {
  // 40,000 items are 8 units: on 3 threads the row blocks are split into groups (37 rows: 2-5 blocks
  // by kernel; 150 rows: groups of unequal size), so every split is checked here.
  it.each([37, 150])('ids, scores and ranks are bit-identical across kernels; everything across thread counts (%i rows)', async (rows) => {
    const c = makeCase({ name: 'bits', count: 40_000, dim: 20, rows, k: 15, exclude: 25, targets: true, bias: true }, SEED + 300 + rows);
    const runs = [];
    for (const isa of ISAS) for (const threads of [1, 2, 3]) runs.push({ isa, threads, r: await search(c.items, 20, c.queries, c.options, { isa, threads }) });
    for (const run of runs) {
      expect(run.r.ids).toEqual(runs[0].r.ids);
      expect(run.r.scores).toEqual(runs[0].r.scores);
      expect(run.r.targetRank).toEqual(runs[0].r.targetRank);
      const sameIsa = runs.find((x) => x.isa === run.isa)!;
      expect(run.r.logZ).toEqual(sameIsa.r.logZ);
      expect(run.r.targetLogProb).toEqual(sameIsa.r.targetLogProb);
    }
  });

  it.each([1, 5, 8])('small batches (%i rows, the blocked kernel on AVX-512): everything bit-identical across thread counts', async (rows) => {
    const c = makeCase({ name: 'bits-small', count: 40_000, dim: 20, rows, k: 15, exclude: 25, targets: true, bias: true }, SEED + 320 + rows);
    const precisions = loadCpuBinding().bf16Supported() ? (['fp32', 'bf16'] as const) : (['fp32'] as const);
    for (const precision of precisions) {
      const runs = [];
      for (const threads of [1, 2, 3]) runs.push(await search(c.items, 20, c.queries, c.options, { precision, threads }));
      for (const r of runs.slice(1)) expect(r).toEqual(runs[0]);
    }
  });

  it.skipIf(!loadCpuBinding().bf16Supported())('bf16 tables: everything bit-identical across thread counts', async () => {
    const c = makeCase({ name: 'bits-bf16', count: 40_000, dim: 20, rows: 150, k: 15, exclude: 25, targets: true, bias: true }, SEED + 310);
    const runs = [];
    for (const threads of [1, 2, 3]) runs.push(await search(c.items, 20, c.queries, c.options, { isa: 'avx512', precision: 'bf16', threads }));
    for (const r of runs.slice(1)) expect(r).toEqual(runs[0]);
  });
});

describe(`a ranking-only search (logZ: false) (seed ${SEED})`, () => {
  const precisions = loadCpuBinding().bf16Supported() ? (['fp32', 'bf16'] as const) : (['fp32'] as const);
  it('gives the same ids, scores and ranks as the full search on every kernel, precision and batch size; logZ NaN', async () => {
    for (const isa of ISAS)
      for (const precision of precisions) {
        if (precision === 'bf16' && isa !== 'avx512') continue;
        for (const [i, spec] of CHECK_CASES.entries())
          for (const rows of [spec.rows, Math.min(spec.rows, 1 + (i % 8))]) {
            const c = makeCase({ ...spec, rows }, SEED + 700 + i);
            const table = await ItemTable.create(c.items, { dim: spec.dim, isa, precision });
            try {
              const full = (await table.search(c.queries, c.options)) as Required<SearchResult>;
              const ranking = (await table.search(c.queries, { ...c.options, logZ: false })) as Required<SearchResult>;
              const what = `${isa} ${precision} ${spec.name} rows ${rows}`;
              expect(ranking.ids, what).toEqual(full.ids);
              expect(ranking.scores, what).toEqual(full.scores);
              expect(ranking.logZ.every((x) => Number.isNaN(x)), what).toBe(true);
              if (c.options.targets) {
                expect(ranking.targetRank, what).toEqual(full.targetRank);
                // An excluded target keeps its log-probability of -Infinity; the others need logZ.
                expect(Array.from(ranking.targetLogProb, (x) => (x === -Infinity ? 'excluded' : Number.isNaN(x) ? 'NaN' : x)), what).toEqual(
                  Array.from(full.targetLogProb, (x) => (x === -Infinity ? 'excluded' : 'NaN')),
                );
              }
            } finally {
              table.dispose();
            }
          }
      }
  });

  it('refuses a logZ option that is not a boolean', async () => {
    const table = await ItemTable.create(new Float32Array(8), { dim: 2 });
    try {
      await expect(table.search(new Float32Array(2), { k: 1, logZ: 0 as unknown as boolean })).rejects.toThrow(/options\.logZ to be a boolean/);
    } finally {
      table.dispose();
    }
  });
});

describe('ItemTable behaviour', () => {
  it('keeps its own copy of the items', async () => {
    const c = makeCase({ name: 'copy', count: 200, dim: 8, rows: 5, k: 4 }, SEED + 400);
    const table = await ItemTable.create(c.items, { dim: 8 });
    const before = await table.search(c.queries, { k: 4 });
    c.items.fill(0);
    const after = await table.search(c.queries, { k: 4 });
    expect(after.ids).toEqual(before.ids);
    expect(after.scores).toEqual(before.scores);
    table.dispose();
  });

  it('runs concurrent searches, lets running ones finish after dispose, then refuses', async () => {
    const c = makeCase({ name: 'concurrent', count: 30_000, dim: 32, rows: 64, k: 5 }, SEED + 500);
    const table = await ItemTable.create(c.items, { dim: 32 });
    const running = [table.search(c.queries, { k: 5 }), table.search(c.queries, { k: 5 }), table.search(c.queries, { k: 5 })];
    table.dispose();
    expect(table.disposed).toBe(true);
    const results = await Promise.all(running);
    const ref = referenceSearch(c.items, 32, c.queries.subarray(0, 32), { k: 5 });
    for (const r of results) expect(r.ids).toEqual(results[0].ids);
    expect(Array.from(results[0].ids.subarray(0, 5))).toEqual(Array.from(ref.ids));
    await expect(table.search(c.queries, { k: 5 })).rejects.toThrow(TypeError);
    await expect(table.search(c.queries, { k: 5 })).rejects.toThrow(/disposed/);
  });

  it('gives the same results whether idle engine threads sleep at once or spin (REGEN_SPIN_US)', async () => {
    const binding = loadCpuBinding();
    const initial = binding.spinMicroseconds!();
    expect(initial).toBe(process.env.REGEN_SPIN_US ? Number(process.env.REGEN_SPIN_US) : 200);
    const c = makeCase({ name: 'spin', count: 40_000, dim: 48, rows: 40, k: 7 }, SEED + 550);
    const table = await ItemTable.create(c.items, { dim: 48, threads: 2 });
    const byMode: SearchResult[][] = [];
    try {
      // 0: every wait sleeps (the condition variables alone); 1000: waits spin, and back-to-back
      // calls find the worker spinning. Both with 1- and 40-row searches, run three at once.
      for (const us of [0, 1000, 200]) {
        binding.setSpinMicroseconds!(us);
        expect(binding.spinMicroseconds!()).toBe(us);
        const one = c.queries.subarray(0, 48);
        byMode.push(await Promise.all([table.search(c.queries, { k: 7 }), table.search(one, { k: 7 }), table.search(c.queries, { k: 7 })]));
      }
    } finally {
      binding.setSpinMicroseconds!(initial);
      table.dispose();
    }
    const ref = referenceSearch(c.items, 48, c.queries.subarray(0, 48), { k: 7 });
    for (const results of byMode) {
      expect(Array.from(results[1].ids)).toEqual(Array.from(ref.ids));
      for (const r of [results[0], results[2]]) {
        expect(r.ids).toEqual(byMode[0][0].ids);
        expect(r.scores).toEqual(byMode[0][0].scores);
        expect(r.logZ).toEqual(byMode[0][0].logZ);
      }
    }
    expect(() => binding.setSpinMicroseconds!(-1)).toThrow(RangeError);
    expect(() => binding.setSpinMicroseconds!(0.5)).toThrow(RangeError);
  });

  it('leaves the event loop free while it searches', async () => {
    const r = rng(SEED + 600);
    const dim = 64;
    const items = Float32Array.from({ length: 200_000 * dim }, () => r() - 0.5);
    const queries = Float32Array.from({ length: 256 * dim }, () => r() - 0.5);
    const table = await ItemTable.create(items, { dim });
    let ticks = 0;
    let done = false;
    const spin = () => {
      if (done) return;
      ticks++;
      setImmediate(spin);
    };
    setImmediate(spin);
    await table.search(queries, { k: 10 });
    done = true;
    table.dispose();
    // A search that blocked the loop would let no callback run until it returned.
    expect(ticks).toBeGreaterThan(1);
  });

  it('works in worker threads (one addon instance per thread), with the same results', async () => {
    const { Worker } = await import('node:worker_threads');
    const { pathToFileURL } = await import('node:url');
    const dist = pathToFileURL(new URL('../dist/index.js', import.meta.url).pathname).href;
    const c = makeCase({ name: 'worker', count: 3000, dim: 12, rows: 9, k: 4, targets: true }, SEED + 800);
    const here = await search(c.items, 12, c.queries, c.options);
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      import(workerData.dist).then(async ({ ItemTable }) => {
        const t = await ItemTable.create(workerData.items, { dim: 12 });
        const r = await t.search(workerData.queries, workerData.options);
        t.dispose();
        parentPort.postMessage(r);
      });`;
    const results = await Promise.all(
      [0, 1].map(
        () =>
          new Promise<Required<SearchResult>>((resolve, reject) => {
            const w = new Worker(code, { eval: true, workerData: { dist, items: c.items, queries: c.queries, options: c.options } });
            w.once('message', (r) => {
              resolve(r);
              void w.terminate();
            });
            w.once('error', reject);
          }),
      ),
    );
    for (const r of results) {
      expect(r.ids).toEqual(here.ids);
      expect(r.targetRank).toEqual(here.targetRank);
      expect(r.logZ).toEqual(here.logZ);
    }
  });

  it('reports whether 512-bit operations run as two halves (Zen 4), never without AVX-512', () => {
    const f = loadCpuBinding().cpuFeatures();
    expect(typeof f.zmmSplit).toBe('boolean');
    if (!f.avx512f) expect(f.zmmSplit).toBe(false);
  });

  it('REGEN_SMALL_BATCH_KERNEL other than auto, lanes, paired or blocked: creating a table fails and says what it takes', async () => {
    try {
      process.env.REGEN_SMALL_BATCH_KERNEL = 'pairs';
      await expect(ItemTable.create(new Float32Array(64), { dim: 8 })).rejects.toThrow(
        /REGEN_SMALL_BATCH_KERNEL environment variable to be one of auto, lanes, paired, blocked but received "pairs"/,
      );
    } finally {
      delete process.env.REGEN_SMALL_BATCH_KERNEL;
    }
  });

  it('uses the kernel named by REGEN_ISA, and rejects one this CPU lacks', async () => {
    const saved = process.env.REGEN_ISA;
    try {
      process.env.REGEN_ISA = 'scalar';
      const table = await ItemTable.create(new Float32Array(8), { dim: 2 });
      expect(table.isa).toBe('scalar');
      table.dispose();
      process.env.REGEN_ISA = 'sse9';
      await expect(ItemTable.create(new Float32Array(8), { dim: 2 })).rejects.toThrow(/REGEN_ISA.*sse9/);
    } finally {
      if (saved === undefined) delete process.env.REGEN_ISA;
      else process.env.REGEN_ISA = saved;
    }
    const missing = (['avx512', 'avx2'] as const).find((i) => !ISAS.includes(i));
    if (missing) await expect(ItemTable.create(new Float32Array(8), { dim: 2, isa: missing })).rejects.toThrow(RangeError);
  });
});
