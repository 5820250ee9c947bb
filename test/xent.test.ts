// The fused cross-entropy (ItemTable.crossEntropy) against the float64 reference, on fresh random
// inputs every run (the seed is in each test's name; REGEN_TEST_SEED replays), on every kernel
// this CPU can run, plus the reference's own finite-difference check, bit identity across thread
// counts and runs, argument errors, and arguments changed or transferred right after the call.
import { describe, expect, it } from 'vitest';

import { cpuCapabilities } from '../src/engine/engine.js';
import { ItemTable, type CrossEntropyOptions, type ItemTableOptions } from '../src/engine/item-table.js';
import { XENT_CHECK_CASES, makeXentCase, type XentCase } from '../src/engine/selftest/cases.js';
import { checkCrossEntropy } from '../src/engine/selftest/check.js';
import { referenceCrossEntropy, roundToBf16 } from '../src/engine/selftest/reference.js';
import { rng } from '../src/util/random.js';

const ISAS = cpuCapabilities().supportedIsas;
const BF16 = cpuCapabilities().bf16;
const SEED = Number(process.env.REGEN_TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));

interface Run {
  loss: Float32Array;
  gradQueries: Float32Array;
  gradItems: Float32Array;
  gradBias: Float32Array;
}

// One crossEntropy on a fresh table, gradients accumulated into zeros.
async function run(c: XentCase, init: Partial<ItemTableOptions> = {}, extra: CrossEntropyOptions = {}): Promise<Run> {
  const table = await ItemTable.create(c.items, { dim: c.spec.dim, ...init });
  try {
    const gradItems = new Float32Array(c.items.length);
    const gradBias = new Float32Array(c.spec.count);
    const r = await table.crossEntropy(c.queries, c.targets, { ...c.options, gradItems, gradBias, ...extra });
    return { loss: r.loss, gradQueries: r.gradQueries, gradItems, gradBias };
  } finally {
    table.dispose();
  }
}

function sameBits(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

describe.each(ISAS)(`crossEntropy, kernel %s (seed ${SEED})`, (isa) => {
  // Tolerances (checkCrossEntropy): the float32 error bounds of the scores, logZ and the exp
  // polynomial carried through G = w (p - onehot), then (n + 2) u of each sum's magnitude for the
  // float32 accumulation of dQ (n = items) and of dE and dBias (n = rows).
  it.each(XENT_CHECK_CASES.map((spec, i) => [spec.name, i] as const))('%s', async (_name, i) => {
    const c = makeXentCase(XENT_CHECK_CASES[i], SEED + i);
    const r = await run(c, { isa });
    expect(checkCrossEntropy(c.items, c.spec.dim, c.queries, c.targets, c.options, r, r)).toEqual([]);
  });

  it('1000 rows, every row contributing, against the reference', async () => {
    const c = makeXentCase({ name: 'B=1000', count: 613, dim: 24, rows: 1000, exclude: 12, bias: true, weights: true }, SEED + 100);
    const r = await run(c, { isa });
    expect(checkCrossEntropy(c.items, 24, c.queries, c.targets, c.options, r, r, { maxProblems: 5 })).toEqual([]);
  });

  it('loss is bit for bit -targetLogProb of search() over the rows that have a target', async () => {
    const c = makeXentCase({ name: 'bits', count: 5000, dim: 20, rows: 37, exclude: 15, bias: true, weights: true }, SEED + 200);
    const table = await ItemTable.create(c.items, { dim: 20, isa });
    const x = await table.crossEntropy(c.queries, c.targets, c.options);
    const s = await table.search(c.queries, { k: 1, targets: c.targets, exclude: c.options.exclude, bias: c.options.bias });
    expect(sameBits(x.loss, s.targetLogProb.map((v) => -v))).toBe(true);
    // Ignored rows leave the search: it runs over the others alone, in order.
    const kept = Array.from(c.targets.keys()).filter((b) => b % 4 !== 1);
    const targets = c.targets.map((t, b) => (b % 4 === 1 ? -1 : t));
    const y = await table.crossEntropy(c.queries, targets, c.options);
    const sub = new Float32Array(kept.flatMap((b) => Array.from(c.queries.subarray(b * 20, (b + 1) * 20))));
    const offsets = [0];
    const ids: number[] = [];
    for (const b of kept) {
      ids.push(...c.options.exclude!.ids.subarray(c.options.exclude!.offsets[b], c.options.exclude!.offsets[b + 1]));
      offsets.push(ids.length);
    }
    const s2 = await table.search(sub, {
      k: 1,
      targets: Int32Array.from(kept.map((b) => c.targets[b])),
      exclude: { offsets: Int32Array.from(offsets), ids: Int32Array.from(ids) },
      bias: c.options.bias,
    });
    kept.forEach((b, i) => expect(Object.is(y.loss[b], -s2.targetLogProb[i])).toBe(true));
    for (let b = 1; b < 37; b += 4) expect(y.loss[b]).toBe(0);
    table.dispose();
  });
});

describe.skipIf(!BF16)(`crossEntropy on bf16 tables (seed ${SEED})`, () => {
  // A bf16 table's scores are float32 sums of exact products of the bf16-rounded inputs: the
  // float64 reference of the rounded inputs, with the same float32 tolerances, plus G rounded to
  // bfloat16 (relative 2^-8) before the dQ and dE products (VDPBF16PS), and p from a degree-3
  // polynomial (relative 7.5e-5) there.
  it.each(XENT_CHECK_CASES.map((spec, i) => [spec.name, i] as const))('%s', async (_name, i) => {
    const c = makeXentCase(XENT_CHECK_CASES[i], SEED + i);
    const r = await run(c, { precision: 'bf16' });
    const items = roundToBf16(c.items);
    const queries = roundToBf16(c.queries);
    expect(checkCrossEntropy(items, c.spec.dim, queries, c.targets, c.options, r, r, { gRounding: 2 ** -8, expError: 7.5e-5 })).toEqual([]);
  });
});

describe(`crossEntropy: determinism (seed ${SEED})`, () => {
  it('the same bits for 1, 2 and 3 threads, and run to run', async () => {
    const c = makeXentCase({ name: 'threads', count: 30011, dim: 20, rows: 70, exclude: 20, bias: true, weights: true, ignored: true }, SEED + 300);
    for (const isa of ISAS) {
      const runs: Run[] = [];
      for (const threads of [1, 2, 3, 2]) runs.push(await run(c, { isa, threads }));
      for (const r of runs.slice(1))
        for (const key of ['loss', 'gradQueries', 'gradItems', 'gradBias'] as const)
          expect(sameBits(r[key], runs[0][key]), `${isa} ${key}`).toBe(true);
    }
    if (BF16) {
      const a = await run(c, { precision: 'bf16', threads: 1 });
      const b = await run(c, { precision: 'bf16', threads: 3 });
      for (const key of ['loss', 'gradQueries', 'gradItems', 'gradBias'] as const) expect(sameBits(a[key], b[key]), `bf16 ${key}`).toBe(true);
    }
  });
});

describe('referenceCrossEntropy', () => {
  it('matches central finite differences of sum_b w_b loss_b in float64', () => {
    const r = rng(SEED + 400);
    const count = 7;
    const dim = 3;
    const rows = 5;
    const items = Float64Array.from({ length: count * dim }, () => r() * 2 - 1);
    const queries = Float64Array.from({ length: rows * dim }, () => r() * 2 - 1);
    const bias = Float64Array.from({ length: count }, () => r() - 0.5);
    const rowWeights = Float64Array.from([0.5, 2, 0, 1.5, -0.75]);
    const targets = Int32Array.from([2, 2, 5, -1, 0]); // a repeated target, a zero weight, an ignored row
    const exclude = { offsets: Int32Array.from([0, 2, 2, 3, 3, 4]), ids: Int32Array.from([4, 6, 1, 3]) };
    const total = (it: Float64Array, q: Float64Array, bi: Float64Array) => {
      const x = referenceCrossEntropy(it, dim, q, targets, { exclude, bias: bi, rowWeights });
      let sum = 0;
      for (let b = 0; b < rows; b++) sum += rowWeights[b] * x.loss[b];
      return sum;
    };
    const ref = referenceCrossEntropy(items, dim, queries, targets, { exclude, bias, rowWeights });
    const h = 1e-6;
    // Central differences have error O(h^2) (~1e-12 here) plus rounding ~1e-16 / h: 1e-8 is ample.
    const check = (values: Float64Array, grad: Float64Array) => {
      for (let i = 0; i < values.length; i++) {
        const saved = values[i];
        values[i] = saved + h;
        const up = total(items, queries, bias);
        values[i] = saved - h;
        const down = total(items, queries, bias);
        values[i] = saved;
        expect(Math.abs((up - down) / (2 * h) - grad[i])).toBeLessThan(1e-8);
      }
    };
    check(queries, ref.gradQueries);
    check(items, ref.gradItems);
    check(bias, ref.gradBias);
    // Loss: logZ over the non-excluded items minus the target's score.
    expect(ref.loss[3]).toBe(0);
    let z = 0;
    const s = (b: number, n: number) => queries[b * dim] * items[n * dim] + queries[b * dim + 1] * items[n * dim + 1] + queries[b * dim + 2] * items[n * dim + 2] + bias[n];
    for (let n = 0; n < count; n++) if (n !== 4 && n !== 6) z += Math.exp(s(0, n));
    expect(ref.loss[0]).toBeCloseTo(Math.log(z) - s(0, 2), 12);
  });
});

describe(`crossEntropy: API (seed ${SEED})`, () => {
  const c = makeXentCase({ name: 'api', count: 300, dim: 8, rows: 12, exclude: 4, bias: true, weights: true, ignored: true }, SEED + 500);

  it('accumulates into gradItems and gradBias (+=)', async () => {
    const once = await run(c);
    const table = await ItemTable.create(c.items, { dim: 8 });
    const gradItems = Float32Array.from({ length: c.items.length }, (_, i) => (i % 5) - 2);
    const gradBias = Float32Array.from({ length: 300 }, (_, i) => i / 7);
    const before = [Float32Array.from(gradItems), Float32Array.from(gradBias)];
    await table.crossEntropy(c.queries, c.targets, { ...c.options, gradItems, gradBias });
    for (let i = 0; i < gradItems.length; i++) expect(gradItems[i]).toBe(Math.fround(before[0][i] + once.gradItems[i]));
    for (let i = 0; i < gradBias.length; i++) expect(gradBias[i]).toBe(Math.fround(before[1][i] + once.gradBias[i]));
    // Only one of them, or neither: the same dQ.
    const none = await table.crossEntropy(c.queries, c.targets, c.options);
    expect(sameBits(none.gradQueries, once.gradQueries)).toBe(true);
    const biasOnly = new Float32Array(300);
    await table.crossEntropy(c.queries, c.targets, { ...c.options, gradBias: biasOnly });
    expect(sameBits(biasOnly, once.gradBias)).toBe(true);
    // The table reuses its gradient buffers: a later call adds only its own gradient.
    for (let i = 0; i < 2; i++) {
      const again = new Float32Array(c.items.length);
      await table.crossEntropy(c.queries, c.targets, { ...c.options, gradItems: again });
      expect(sameBits(again, once.gradItems)).toBe(true);
    }
    table.dispose();
  });

  it('ignored rows, zero weights and excluded targets: loss as documented, no gradient', async () => {
    const targets = Int32Array.from(c.targets);
    targets[0] = -1;
    targets[1] = c.options.exclude!.ids[c.options.exclude!.offsets[1]]; // excluded
    // Row 2 keeps a target its random exclusions do not hold (they may hold the drawn one): its loss is finite.
    const excluded2 = c.options.exclude!.ids.subarray(c.options.exclude!.offsets[2], c.options.exclude!.offsets[3]);
    while (excluded2.includes(targets[2])) targets[2] = (targets[2] + 1) % 300;
    const rowWeights = Float32Array.from(c.options.rowWeights!);
    rowWeights[2] = 0;
    const table = await ItemTable.create(c.items, { dim: 8 });
    const r = await table.crossEntropy(c.queries, targets, { ...c.options, rowWeights });
    expect(r.loss[0]).toBe(0);
    expect(r.loss[1]).toBe(Infinity);
    expect(Number.isFinite(r.loss[2]) && r.loss[2] > 0).toBe(true);
    for (const b of [0, 1, 2]) expect(Array.from(r.gradQueries.subarray(b * 8, (b + 1) * 8))).toEqual(new Array(8).fill(0));
    table.dispose();
  });

  it('zero rows gives empty results', async () => {
    const table = await ItemTable.create(c.items, { dim: 8 });
    const gradItems = new Float32Array(c.items.length);
    const r = await table.crossEntropy(new Float32Array(0), new Int32Array(0), { gradItems, rowWeights: new Float32Array(0), exclude: { offsets: new Int32Array(1), ids: new Int32Array(0) } });
    expect([r.loss.length, r.gradQueries.length]).toEqual([0, 0]);
    expect(gradItems.every((v) => v === 0)).toBe(true);
    table.dispose();
  });

  it('rejects bad arguments with what was expected', async () => {
    const table = await ItemTable.create(c.items, { dim: 8 });
    const q = c.queries;
    const t = c.targets;
    const ce = (queries: unknown, targets: unknown, options?: unknown) =>
      table.crossEntropy(queries as Float32Array, targets as Int32Array, options as CrossEntropyOptions);
    await expect(ce(Array.from(q), t)).rejects.toThrow(/Expected a Float32Array for queries but received an Array\(96\)/);
    await expect(ce(q.subarray(1), t)).rejects.toThrow(/queries.length to be a multiple of the table's dim \(8\)/);
    await expect(ce(q, t.subarray(1))).rejects.toThrow(/Expected targets to have length 12 \(one per query row\) but received length 11/);
    await expect(ce(q, Int32Array.from(t).fill(300, 4, 5))).rejects.toThrow(/targets\[4\] is 300/);
    await expect(ce(q, Int32Array.from(t).fill(-2, 4, 5))).rejects.toThrow(/-1 \(none\) or an item id in \[0, 300\)/);
    await expect(ce(q, t, { gradItems: new Float32Array(299 * 8) })).rejects.toThrow(/options.gradItems to have length 2400 \(count x dim = 300 x 8, like the items\) but received length 2392/);
    await expect(ce(q, t, { gradItems: new Float64Array(2400) })).rejects.toThrow(/Expected a Float32Array for options.gradItems/);
    await expect(ce(q, t, { gradBias: new Float32Array(3) })).rejects.toThrow(/options.gradBias to have length 300 \(one per item\)/);
    await expect(ce(q, t, { bias: new Float32Array(3) })).rejects.toThrow(/options.bias to have length 300/);
    await expect(ce(q, t, { rowWeights: new Float32Array(11) })).rejects.toThrow(/options.rowWeights to have length 12/);
    await expect(ce(q, t, { rowWeights: new Float32Array(12).fill(NaN, 3, 4) })).rejects.toThrow(/finite numbers but options.rowWeights\[3\] is NaN/);
    await expect(ce(q, t, { exclude: { offsets: new Int32Array(12), ids: new Int32Array(0) } })).rejects.toThrow(/options.exclude.offsets to have length 13/);
    await expect(ce(q, t, { exclude: { offsets: new Int32Array(13).fill(1, 12), ids: new Int32Array([300]) } })).rejects.toThrow(/options.exclude.ids\[0\] is 300/);
    await expect(ce(q, t, null)).rejects.toThrow(/Expected an options object for crossEntropy but received null/);
    table.dispose();
    await expect(ce(q, t)).rejects.toThrow(/disposed/);
  });

  it('copies its inputs: changing or transferring them right after the call changes nothing', async () => {
    const expected = await run(c);
    const table = await ItemTable.create(c.items, { dim: 8 });
    const queries = Float32Array.from(c.queries);
    const targets = Int32Array.from(c.targets);
    const bias = Float32Array.from(c.options.bias!);
    const rowWeights = Float32Array.from(c.options.rowWeights!);
    const exclude = { offsets: Int32Array.from(c.options.exclude!.offsets), ids: Int32Array.from(c.options.exclude!.ids) };
    const gradItems = new Float32Array(c.items.length);
    const gradBias = new Float32Array(300);
    const pending = table.crossEntropy(queries, targets, { exclude, bias, rowWeights, gradItems, gradBias });
    queries.fill(NaN);
    targets.fill(299);
    bias.fill(1e30);
    rowWeights.fill(-7);
    exclude.ids.fill(0);
    structuredClone(exclude.offsets.buffer, { transfer: [exclude.offsets.buffer] }); // detaches it
    structuredClone(queries.buffer, { transfer: [queries.buffer] });
    const r = await pending;
    expect(sameBits(r.loss, expected.loss)).toBe(true);
    expect(sameBits(r.gradQueries, expected.gradQueries)).toBe(true);
    expect(sameBits(gradItems, expected.gradItems)).toBe(true);
    expect(sameBits(gradBias, expected.gradBias)).toBe(true);

    // gradItems transferred while the call runs: nothing to add into, and the call says so.
    const lost = new Float32Array(c.items.length);
    const p2 = table.crossEntropy(c.queries, c.targets, { ...c.options, gradItems: lost });
    structuredClone(lost.buffer, { transfer: [lost.buffer] });
    await expect(p2).rejects.toThrow(/gradItems was transferred or resized while crossEntropy ran/);
    table.dispose();
  });

  it('setItems replaces the items in place; running calls keep the old ones', async () => {
    for (const precision of BF16 ? (['fp32', 'bf16'] as const) : (['fp32'] as const)) {
      const other = makeXentCase({ ...c.spec }, SEED + 501);
      const table = await ItemTable.create(c.items, { dim: 8, precision });
      const oldResult = await table.crossEntropy(c.queries, c.targets, c.options);
      const running = table.crossEntropy(c.queries, c.targets, c.options);
      table.setItems(other.items); // a call is in flight: the table is replaced, not overwritten
      expect(sameBits((await running).gradQueries, oldResult.gradQueries)).toBe(true);
      const fresh = await ItemTable.create(other.items, { dim: 8, precision });
      const want = await fresh.crossEntropy(c.queries, c.targets, c.options);
      const got = await table.crossEntropy(c.queries, c.targets, c.options);
      expect(sameBits(got.loss, want.loss) && sameBits(got.gradQueries, want.gradQueries)).toBe(true);
      table.setItems(c.items); // nothing in flight: overwritten in place
      const back = await table.crossEntropy(c.queries, c.targets, c.options);
      expect(sameBits(back.gradQueries, oldResult.gradQueries)).toBe(true);
      const s = await table.search(c.queries, { k: 3 });
      const s0 = await (await ItemTable.create(c.items, { dim: 8, precision })).search(c.queries, { k: 3 });
      expect(s.ids).toEqual(s0.ids);
      expect(() => table.setItems(new Float32Array(7))).toThrow(/Expected items to have length 2400 \(count x dim = 300 x 8, as at create\(\)\) but received length 7/);
      table.dispose();
      fresh.dispose();
      expect(() => table.setItems(c.items)).toThrow(/disposed/);
    }
  });
});
