import { ItemTable } from '../src/engine/item-table.js';
import { rng } from '../src/engine/cases.js';
const r = rng(1);
for (const dim of [64, 256]) {
  const N = 376847;
  const items = Float32Array.from({ length: N * dim }, () => r() * 2 - 1);
  for (const precision of ['fp32', 'bf16'] as const) {
    const t = await ItemTable.create(items, { dim, precision });
    for (const B of [1, 32, 256]) {
      const q = Float32Array.from({ length: B * dim }, () => r() * 2 - 1);
      const offsets = Int32Array.from({ length: B + 1 }, (_, b) => b * 50);
      const ids = Int32Array.from({ length: B * 50 }, () => Math.floor(r() * N));
      const targets = Int32Array.from({ length: B }, () => Math.floor(r() * N));
      const o = { k: 10, exclude: { offsets, ids }, targets };
      await t.search(q, o);
      const ts: number[] = [];
      for (let i = 0; i < (B === 256 ? 5 : 15); i++) { const s = performance.now(); await t.search(q, o); ts.push(performance.now() - s); }
      ts.sort((a, b) => a - b);
      console.log(precision, 'd', dim, 'B', B, ts[ts.length >> 1].toFixed(2), 'ms');
    }
    t.dispose();
  }
}
