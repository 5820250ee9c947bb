import { ItemTable } from '../src/engine/item-table.js';
import { rng } from '../src/engine/cases.js';
const r = rng(1);
const dim = 64, N = 376847, B = 32;
const items = new Float32Array(N * dim); for (let i = 0; i < items.length; i++) items[i] = r() * 2 - 1;
const t = await ItemTable.create(items, { dim, precision: (process.argv[2] ?? 'bf16') as 'bf16' });
const q = Float32Array.from({ length: B * dim }, () => r() * 2 - 1);
const offsets = Int32Array.from({ length: B + 1 }, (_, b) => b * 50);
const ids = Int32Array.from({ length: B * 50 }, () => Math.floor(r() * N));
const targets = Int32Array.from({ length: B }, () => Math.floor(r() * N));
const o = { k: 10, exclude: { offsets, ids }, targets };
await t.search(q, o);
const ts: number[] = [];
for (let i = 0; i < 40; i++) { const s = performance.now(); await t.search(q, o); ts.push(performance.now() - s); }
ts.sort((a, b) => a - b);
console.log(process.argv[2], 'median', ts[20].toFixed(2), 'min', ts[0].toFixed(2));
