// Bad input is a TypeError or RangeError that names the argument and what was expected; never a
// crash, never a silent wrong answer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ItemTable, type SearchOptions } from '../src/engine/item-table.js';

const DIM = 4;
const COUNT = 10;
let table: ItemTable;
const items = Float32Array.from({ length: COUNT * DIM }, (_, i) => (i % 7) - 3);
const queries = new Float32Array(3 * DIM).fill(1);

beforeAll(async () => {
  table = await ItemTable.create(items, { dim: DIM });
});
afterAll(() => table.dispose());

describe('ItemTable.create', () => {
  const cases: [string, () => Promise<unknown>, ErrorConstructor, RegExp][] = [
    ['items not a Float32Array', () => ItemTable.create([1, 2] as unknown as Float32Array, { dim: 1 }), TypeError, /Float32Array for items.*Array\(2\)/],
    ['items a Float64Array', () => ItemTable.create(new Float64Array(4) as unknown as Float32Array, { dim: 2 }), TypeError, /Float32Array for items.*Float64Array/],
    ['no options', () => ItemTable.create(items, undefined as unknown as { dim: number }), TypeError, /options object/],
    ['dim missing', () => ItemTable.create(items, {} as { dim: number }), TypeError, /integer for options.dim/],
    ['dim 0', () => ItemTable.create(items, { dim: 0 }), RangeError, /options.dim in \[1, .*received 0/],
    ['dim fractional', () => ItemTable.create(items, { dim: 1.5 }), TypeError, /integer for options.dim/],
    ['length not a multiple of dim', () => ItemTable.create(items, { dim: 3 }), RangeError, /multiple of options.dim \(3\).*length 40/],
    ['no items', () => ItemTable.create(new Float32Array(0), { dim: 3 }), RangeError, /at least one item/],
    // No machine has a GPU 1000: the error names what was found (no CUDA build, no driver, or the devices).
    ['gpu not there', () => ItemTable.create(items, { dim: DIM, device: { gpu: 1000 } }), Error, /options.device asks for GPU 1000, but (this build|no NVIDIA driver|found|the CUDA driver|the NVIDIA driver)/],
    ['gpu -1', () => ItemTable.create(items, { dim: DIM, device: { gpu: -1 } }), RangeError, /options.device.gpu/],
    ['unknown device', () => ItemTable.create(items, { dim: DIM, device: 'tpu' as unknown as 'cpu' }), TypeError, /options.device/],
    ['unknown isa', () => ItemTable.create(items, { dim: DIM, isa: 'neon' as unknown as 'avx2' }), TypeError, /options.isa.*neon/],
    ['threads 0', () => ItemTable.create(items, { dim: DIM, threads: 0 }), RangeError, /options.threads/],
    ['unknown precision', () => ItemTable.create(items, { dim: DIM, precision: 'fp16' as unknown as 'fp32' }), TypeError, /options.precision.*fp16/],
  ];
  it.each(cases)('%s', async (_name, call, type, message) => {
    const err = await call().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(type);
    expect((err as Error).message).toMatch(message);
  });
});

describe('ItemTable.search', () => {
  const ok = (extra: Partial<SearchOptions> = {}): SearchOptions => ({ k: 2, ...extra });
  const cases: [string, () => Promise<unknown>, ErrorConstructor, RegExp][] = [
    ['queries an Array', () => table.search([1, 2, 3, 4] as unknown as Float32Array, ok()), TypeError, /Float32Array for queries/],
    ['queries of the wrong width', () => table.search(new Float32Array(6), ok()), RangeError, /queries.length.*multiple.*dim \(4\).*6/],
    ['no options', () => table.search(queries, undefined as unknown as SearchOptions), TypeError, /options object/],
    ['k missing', () => table.search(queries, {} as SearchOptions), TypeError, /integer for options.k/],
    ['k 0', () => table.search(queries, { k: 0 }), RangeError, /options.k in \[1, .*received 0/],
    ['k NaN', () => table.search(queries, { k: NaN }), TypeError, /options.k/],
    ['rows x k too large', () => table.search(queries, { k: 2 ** 30 }), RangeError, /rows x k/],
    ['exclude not an object', () => table.search(queries, ok({ exclude: 5 as unknown as SearchOptions['exclude'] })), TypeError, /options.exclude/],
    ['exclude offsets an Array', () => table.search(queries, ok({ exclude: { offsets: [0, 0, 0, 0] as unknown as Int32Array, ids: new Int32Array(0) } })), TypeError, /Int32Array for options.exclude.offsets/],
    ['exclude offsets too short', () => table.search(queries, ok({ exclude: { offsets: new Int32Array(3), ids: new Int32Array(0) } })), RangeError, /options.exclude.offsets to have length 4/],
    ['exclude offsets decreasing', () => table.search(queries, ok({ exclude: { offsets: Int32Array.from([0, 2, 1, 2]), ids: new Int32Array(2) } })), RangeError, /non-decreasing.*\[2\] = 1/],
    ['exclude offsets past ids', () => table.search(queries, ok({ exclude: { offsets: Int32Array.from([0, 1, 2, 5]), ids: new Int32Array(2) } })), RangeError, /offsets\[3\] in \[0, 2\]/],
    ['exclude offsets negative', () => table.search(queries, ok({ exclude: { offsets: Int32Array.from([-1, 0, 0, 0]), ids: new Int32Array(2) } })), RangeError, /offsets\[0\]/],
    ['exclude id out of range', () => table.search(queries, ok({ exclude: { offsets: Int32Array.from([0, 1, 1, 1]), ids: Int32Array.from([COUNT]) } })), RangeError, /options.exclude.ids\[0\] is 10/],
    ['exclude id -1', () => table.search(queries, ok({ exclude: { offsets: Int32Array.from([0, 1, 1, 1]), ids: Int32Array.from([-1]) } })), RangeError, /exclude.ids\[0\] is -1/],
    ['targets of the wrong length', () => table.search(queries, ok({ targets: new Int32Array(2) })), RangeError, /options.targets to have length 3/],
    ['targets a Float32Array', () => table.search(queries, ok({ targets: new Float32Array(3) as unknown as Int32Array })), TypeError, /Int32Array for options.targets/],
    ['target out of range', () => table.search(queries, ok({ targets: Int32Array.from([0, 11, 0]) })), RangeError, /targets\[1\] is 11/],
    ['target -2', () => table.search(queries, ok({ targets: Int32Array.from([0, -2, 0]) })), RangeError, /-1 \(none\).*targets\[1\] is -2/],
    ['bias of the wrong length', () => table.search(queries, ok({ bias: new Float32Array(3) })), RangeError, /options.bias to have length 10/],
    ['bias an Int32Array', () => table.search(queries, ok({ bias: new Int32Array(10) as unknown as Float32Array })), TypeError, /Float32Array for options.bias/],
  ];
  it.each(cases)('%s', async (_name, call, type, message) => {
    const err = await call().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(type);
    expect((err as Error).message).toMatch(message);
  });

  it('still answers correctly after rejecting bad calls', async () => {
    const r = await table.search(queries, { k: 2, targets: Int32Array.from([0, 1, -1]) });
    expect(r.ids.length).toBe(6);
    expect(r.targetRank[2]).toBe(-1);
  });
});
