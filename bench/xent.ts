// The cross-entropy benchmark: ItemTable.crossEntropy (loss, gradQueries, gradItems, gradBias) at
// the REGEN shapes (Office: 27,887 items; Clothing: 376,847; d = 64; B = 1024 and 4096), fp32 and
// bf16, against
//   - the hardware floor measured in the same run: the FMA (bf16: VDPBF16PS) throughput of the
//     same threads (native fmaPeak), and the 6 B N d flops an unfused forward + backward needs
//     (scores, dQ, dE: three GEMMs; the fused pass does 8 B N d, recomputing the scores);
//   - PyTorch on the same machine, run after this process's measurements (bench/xent_torch.py:
//     F.cross_entropy(Q @ E.T + b, t) then .backward()), with its own GEMM rate for context.
// Memory: the call's own accounting of its buffers (scratchBytes) and the process's resident-set
// high-water mark over the call (reset through /proc/self/clear_refs), minus the resident set before.
// Usage: npm run bench -- xent [--quick] [--gpu N] [--isa I] [--threads N] [--precision fp32|bf16]
//        [--no-torch] [--torch-max-bytes N] [--out DIR]
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { Engine, cpuCapabilities, type IsaName, type Precision } from '../src/engine/engine.js';
import { ItemTable } from '../src/engine/item-table.js';
import { fmaPeakGflops } from '../src/engine/peak.js';
import { writeFileAtomic } from '../src/util/files.js';
import { rng } from '../src/util/random.js';

interface Shape {
  dataset: 'office' | 'clothing';
  items: number;
  dim: number;
  rows: number;
  precision: Precision;
}

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function randomArray(n: number, seed: number, scale = 1): Float32Array {
  const r = rng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (r() * 2 - 1) * scale;
  return a;
}

function status(key: 'VmRSS' | 'VmHWM'): number | null {
  try {
    const m = readFileSync('/proc/self/status', 'utf8').match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

function resetHighWaterMark(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

const mib = (bytes: number | null | undefined) => (bytes == null ? 'n/a' : `${(bytes / 2 ** 20).toFixed(1)} MiB`);

export async function benchXent(args: string[]): Promise<void> {
  const quick = args.includes('--quick');
  const gpuArg = arg(args, '--gpu');
  const device = gpuArg !== undefined ? { gpu: Number(gpuArg) } : 'cpu';
  const isa = arg(args, '--isa') as IsaName | undefined;
  const threads = arg(args, '--threads') !== undefined ? Number(arg(args, '--threads')) : undefined;
  const outDir = arg(args, '--out') ?? path.join('bench', 'results');
  const precisions: Precision[] = arg(args, '--precision')
    ? [arg(args, '--precision') as Precision]
    : device !== 'cpu' || cpuCapabilities().bf16
      ? ['fp32', 'bf16']
      : ['fp32'];
  const shapes: Shape[] = [];
  for (const [dataset, items] of [['office', 27_887], ['clothing', 376_847]] as const)
    for (const rows of [1024, 4096])
      for (const precision of precisions) {
        if (quick && (dataset === 'clothing' || rows === 4096)) continue;
        shapes.push({ dataset, items, dim: 64, rows, precision });
      }

  // The hardware floor: FMA throughput of the same threads, best of a few (other processes share
  // the cores; the best run is the machine's).
  const peaks: Partial<Record<Precision, number>> = {};
  if (device === 'cpu') {
    const engine = Engine.open({ isa, threads });
    for (const precision of precisions) {
      let best = 0;
      for (let i = 0; i < 3; i++) best = Math.max(best, (await fmaPeakGflops(engine, precision, 0.5)) ?? 0);
      if (best > 0) peaks[precision] = best;
    }
    console.log(
      `CPU: ${engine.isa}, ${engine.threads} threads; FMA peak (best of 3): ` +
        precisions.map((p) => `${p} ${peaks[p]?.toFixed(1) ?? 'n/a'} GFLOP/s`).join(', '),
    );
  }

  const results: Record<string, unknown>[] = [];
  console.log('\nshape                       rows   ms      GFLOP/s (6BNd)  % of peak   scratch      peak RSS extra');
  let tableKey = '';
  let table: ItemTable | undefined;
  let items: Float32Array = new Float32Array(0);
  let bias: Float32Array = new Float32Array(0);
  for (const shape of shapes) {
    const key = `${shape.items}x${shape.dim}`;
    if (key !== tableKey) {
      // Embeddings of a trained model's scale (scores of a few units), so the softmax is not flat.
      items = randomArray(shape.items * shape.dim, shape.items, 0.5);
      bias = randomArray(shape.items, shape.items + 1, 0.5);
      tableKey = key;
    }
    if (!table || table.count !== shape.items || table.precision !== shape.precision) {
      table?.dispose();
      table = await ItemTable.create(items, { dim: shape.dim, isa, threads, precision: shape.precision, device });
    }
    const t = table;
    const queries = randomArray(shape.rows * shape.dim, shape.rows, 0.5);
    const r = rng(shape.rows + 7);
    const targets = Int32Array.from({ length: shape.rows }, () => Math.floor(r() * shape.items));
    const gradItems = new Float32Array(shape.items * shape.dim);
    const gradBias = new Float32Array(shape.items);
    const call = () => t.crossEntropy(queries, targets, { bias, gradItems, gradBias });

    // Memory of the first call: the high-water mark over it, minus the resident set before.
    const rssBefore = status('VmRSS');
    const hwm = resetHighWaterMark();
    const first = await call();
    const rssPeak = hwm ? status('VmHWM') : null;
    const peakExtra = rssBefore !== null && rssPeak !== null ? rssPeak - rssBefore : null;

    const flops = 6 * shape.rows * shape.items * shape.dim;
    const times: number[] = [];
    const start = performance.now();
    while (times.length < 3 || (times.length < 10 && performance.now() - start < 20_000)) {
      const t0 = performance.now();
      await call();
      times.push(performance.now() - t0);
    }
    const ms = median(times);
    const gflops = flops / ms / 1e6;
    const peak = peaks[shape.precision];
    const row = {
      ...shape,
      device: t.deviceName,
      isa: t.isa,
      threads: t.threads,
      ms,
      best: Math.min(...times),
      reps: times.length,
      gflopsFloor: gflops,
      fmaPeakGflops: peak ?? null,
      fractionOfPeak: peak ? gflops / peak : null,
      scratchBytes: first.scratchBytes,
      peakRssExtraBytes: peakExtra,
    };
    results.push(row);
    const name = `${shape.dataset} d=${shape.dim} ${shape.precision}`.padEnd(26);
    console.log(
      `${name} ${String(shape.rows).padStart(5)} ${ms.toFixed(1).padStart(8)} ${gflops.toFixed(1).padStart(10)}      ` +
        `${peak ? ((100 * gflops) / peak).toFixed(0).padStart(5) + '%' : '  n/a '}   ${mib(first.scratchBytes).padStart(11)}  ${mib(peakExtra).padStart(12)}`,
    );
  }
  table?.dispose();

  // PyTorch after our measurements (never at the same time: the cores are shared).
  let torch: { torch?: string; device?: string; threads?: number; rows: Record<string, unknown>[] } | null = null;
  if (!args.includes('--no-torch')) {
    const spec = shapes.map((s) => `${s.dataset}:${s.items}:${s.dim}:${s.rows}:${s.precision}`).join(',');
    const py = spawnSync(
      'python3',
      [
        path.join('bench', 'xent_torch.py'),
        '--device',
        device === 'cpu' ? 'cpu' : 'cuda',
        '--shapes',
        spec,
        '--max-bytes',
        arg(args, '--torch-max-bytes') ?? String(8 * 2 ** 30),
      ],
      { encoding: 'utf8', maxBuffer: 1 << 24 },
    );
    if (py.status === 0) torch = JSON.parse(py.stdout.trim().split('\n').pop()!);
    else console.log(`\nPyTorch reference not run: ${(py.stderr || py.error?.message || '').trim().split('\n').pop()} (apt-get install python3-torch)`);
  }
  if (torch) {
    console.log(`\nPyTorch ${torch.torch} on ${torch.device} (${torch.threads} threads): F.cross_entropy(Q @ E.T + b, t) + backward`);
    console.log('shape                       rows   ms        its GEMM GFLOP/s   peak extra     logits     regen-bench speed-up   memory ratio');
    for (const row of results) {
      const tr = torch.rows.find((x) => x.dataset === row.dataset && x.rows === row.rows && x.precision === row.precision);
      if (!tr) continue;
      (row as Record<string, unknown>).torch = tr;
      const name = `${row.dataset} d=${row.dim} ${row.precision}`.padEnd(26);
      if (tr.skipped) {
        console.log(`${name} ${String(row.rows).padStart(5)}   not run: ${tr.skipped}`);
        continue;
      }
      const tms = tr.ms as number;
      const extra = tr.peakExtraBytes as number | undefined;
      const ours = (row.peakRssExtraBytes ?? row.scratchBytes) as number;
      console.log(
        `${name} ${String(row.rows).padStart(5)} ${tms.toFixed(0).padStart(9)} ${(tr.gemmGflops as number).toFixed(1).padStart(12)}       ` +
          `${mib(extra).padStart(11)}  ${mib(tr.logitsBytes as number).padStart(10)}   ${(tms / (row.ms as number)).toFixed(1).padStart(8)}x        ` +
          `${extra ? ((100 * ours) / extra).toFixed(2) + '%' : 'n/a'}`,
      );
    }
  }
  mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `xent-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileAtomic(file, JSON.stringify({ peaks, results, torch }, null, 2));
  console.log(`\nwrote ${file}`);
}
