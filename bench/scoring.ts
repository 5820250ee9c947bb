// The scoring benchmark: ItemTable.search at the REGEN shapes (Office: 27,887 items; Clothing:
// 376,847), against a single-threaded JavaScript implementation run in the same process.
// Runs fp32 tables, and bf16 ones where the CPU has AVX512-BF16.
// Usage: npm run bench -- scoring [--quick] [--isa avx512|avx2|scalar] [--threads N] [--precision fp32|bf16]
import { mkdirSync } from 'node:fs';
import path from 'node:path';

import { writeFileAtomic } from '../src/util/files.js';
import { rng } from '../src/util/random.js';
import { ItemTable } from '../src/engine/item-table.js';
import { loadCpuBinding, type IsaName, type Precision } from '../src/engine/binding.js';
import { jsSearchRow } from './js-baseline.js';

interface Shape {
  precision: Precision;
  dataset: 'office' | 'clothing';
  items: number;
  dim: number;
  rows: number;
  /** The target on a 2-core AVX-512 machine, when it sets one. */
  targetMs?: number;
}

const K = 10;
const EXCLUDED_PER_ROW = 50;

function shapes(quick: boolean, precisions: Precision[]): Shape[] {
  const out: Shape[] = [];
  for (const [dataset, items] of [['office', 27_887], ['clothing', 376_847]] as const)
    for (const dim of [64, 256])
      for (const precision of precisions)
        for (const rows of [1, 32, 256]) {
          if (quick && (dataset === 'clothing' || rows === 256)) continue;
          const clothing = dataset === 'clothing';
          const targetMs =
            clothing && dim === 64 && rows === 32 ? 7 : clothing && dim === 64 && rows === 256 ? 45 : clothing && dim === 256 && rows === 32 ? 26 : undefined;
          out.push({ precision, dataset, items, dim, rows, targetMs });
        }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export async function benchScoring(args: string[]): Promise<void> {
  const quick = args.includes('--quick');
  const isaArg = args.indexOf('--isa');
  const threadsArg = args.indexOf('--threads');
  const isa = isaArg >= 0 ? (args[isaArg + 1] as IsaName) : undefined;
  const threads = threadsArg >= 0 ? Number(args[threadsArg + 1]) : undefined;
  const precisionArg = args.indexOf('--precision');
  const precisions: Precision[] =
    precisionArg >= 0 ? [args[precisionArg + 1] as Precision] : loadCpuBinding().bf16Supported() && !isa ? ['fp32', 'bf16'] : ['fp32'];
  const r = rng(12345);
  const results = [];
  let tableKey = '';
  let table: ItemTable | undefined;
  let items = new Float32Array(0);

  console.log('shape                      rows   native ms   GFLOP/s   JS ms (est.)   speed-up   target');
  for (const shape of shapes(quick, precisions)) {
    const key = `${shape.items}x${shape.dim}`;
    if (key !== tableKey) {
      items = Float32Array.from({ length: shape.items * shape.dim }, () => r() * 2 - 1);
      tableKey = key;
    }
    if (!table || table.count !== shape.items || table.dim !== shape.dim || table.precision !== shape.precision) {
      table?.dispose();
      table = await ItemTable.create(items, { dim: shape.dim, isa, threads, precision: shape.precision });
    }
    const t = table!;
    const queries = Float32Array.from({ length: shape.rows * shape.dim }, () => r() * 2 - 1);
    const offsets = Int32Array.from({ length: shape.rows + 1 }, (_, b) => b * EXCLUDED_PER_ROW);
    const ids = Int32Array.from({ length: shape.rows * EXCLUDED_PER_ROW }, () => Math.floor(r() * shape.items));
    const targets = Int32Array.from({ length: shape.rows }, () => Math.floor(r() * shape.items));
    const options = { k: K, exclude: { offsets, ids }, targets };

    await t.search(queries, options); // warm-up
    const flops = 2 * shape.rows * shape.items * shape.dim;
    const reps = Math.max(3, Math.min(30, Math.round(2e10 / flops)));
    const times: number[] = [];
    for (let i = 0; i < reps; i++) {
      const start = performance.now();
      await t.search(queries, options);
      times.push(performance.now() - start);
    }
    const ms = median(times);

    // The JavaScript yardstick costs the same per row, so it is timed on a few rows and scaled.
    const jsRows = Math.min(shape.rows, shape.items * shape.dim > 3e7 ? 1 : 4);
    const jsRow = (b: number) => {
      const excluded = new Set(ids.subarray(b * EXCLUDED_PER_ROW, (b + 1) * EXCLUDED_PER_ROW));
      jsSearchRow(items, shape.dim, queries.subarray(b * shape.dim, (b + 1) * shape.dim), K, excluded, targets[b]);
    };
    jsRow(0); // warm-up (JIT)
    const jsStart = performance.now();
    for (let b = 0; b < jsRows; b++) jsRow(b);
    const jsMs = ((performance.now() - jsStart) / jsRows) * shape.rows;

    const row = { ...shape, isa: t.isa, threads: t.threads, ms, gflops: flops / ms / 1e6, jsMs, jsRowsTimed: jsRows, speedup: jsMs / ms, reps };
    results.push(row);
    const name = `${shape.dataset} d=${shape.dim} ${shape.precision}`.padEnd(26);
    const target = shape.targetMs ? `<= ${shape.targetMs} ms ${ms <= shape.targetMs ? 'met' : 'MISSED'}` : '';
    console.log(
      `${name} ${String(shape.rows).padStart(4)} ${ms.toFixed(2).padStart(11)} ${row.gflops.toFixed(1).padStart(9)} ${jsMs.toFixed(0).padStart(14)} ${row.speedup.toFixed(0).padStart(9)}x   ${target}`,
    );
  }
  table?.dispose();
  const outDir = path.join('bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `scoring-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileAtomic(file, JSON.stringify({ k: K, excludedPerRow: EXCLUDED_PER_ROW, results }, null, 2));
  console.log(`\nwrote ${file}`);
}
