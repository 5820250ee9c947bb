// The cross-entropy benchmark: ItemTable.crossEntropy (loss, gradQueries, gradItems, gradBias) at
// the REGEN shapes (Office: 27,887 items; Clothing: 376,847; d = 64; B = 1024 and 4096), fp32 and
// bf16, against
//   - the hardware floor measured in the same run: the FMA (bf16: VDPBF16PS) throughput of the
//     same threads (native fmaPeak), and the 6 B N d flops an unfused forward + backward needs
//     (scores, dQ, dE: three GEMMs; the fused pass does 8 B N d, recomputing the scores);
//   - PyTorch on the same machine, run after this process's measurements (bench/xent_torch.py:
//     F.cross_entropy(Q @ E.T + b, t) then .backward()), with its own GEMM rate for context.
// Memory: the call's own accounting of its buffers (scratchBytes) and the process's resident-set
// high-water mark over the call (reset through /proc/self/clear_refs), minus the resident set before,
// for the first call (which allocates the table's gradient buffers) and a later one (which reuses them).
// Usage: npm run bench -- xent [--quick] [--gpu N] [--isa I] [--threads N] [--precision fp32|bf16]
//        [--no-torch] [--torch-max-bytes N] [--out DIR]   (REGEN_PYTHON: the python with torch)
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { Engine, cpuCapabilities, type IsaName, type Precision } from '../src/engine/engine.js';
import { ItemTable } from '../src/engine/item-table.js';
import { fmaPeak, type FmaPeak } from '../src/engine/peak.js';
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

/** REGEN_PYTHON, else the first of python3 and /usr/bin/python3 (Debian's python3-torch) that imports torch. */
function pythonWithTorch(): string {
  const candidates = [process.env.REGEN_PYTHON, 'python3', '/usr/bin/python3'].filter((p): p is string => !!p);
  for (const p of candidates) if (spawnSync(p, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) return p;
  return candidates[0];
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

  // Peaks over elapsed time and over CPU time (the threads' rate with their cores to themselves:
  // on a machine shared with other work the steadier yardstick), best of 3 each.
  const peaks: Partial<Record<Precision, FmaPeak>> = {};
  let threadsUsed: number | undefined;
  if (device === 'cpu') {
    const engine = Engine.open({ isa, threads });
    threadsUsed = engine.threads;
    for (const precision of precisions) {
      const best: FmaPeak = { wallGflops: 0, cpuGflops: 0 };
      for (let i = 0; i < 3; i++) {
        const p = await fmaPeak(engine, precision, 0.5);
        if (!p) break;
        best.wallGflops = Math.max(best.wallGflops, p.wallGflops);
        best.cpuGflops = Math.max(best.cpuGflops, p.cpuGflops);
      }
      if (best.wallGflops > 0) peaks[precision] = best;
    }
    console.log(`CPU: ${engine.isa}, ${engine.threads} threads. FMA peak (best of 3), elapsed / CPU time:`);
    for (const p of precisions)
      console.log(`  ${p}: ${peaks[p]?.wallGflops.toFixed(1) ?? 'n/a'} / ${peaks[p]?.cpuGflops.toFixed(1) ?? 'n/a'} GFLOP/s`);
  }

  const results: Record<string, unknown>[] = [];
  console.log('\nGFLOP/s against the 6 B N d floor; elapsed, and per CPU time (CPU seconds / threads: "core ms")');
  console.log('shape                       rows       ms  GFLOP/s  %peak    core ms  GFLOP/s  %peak       scratch  peak RSS extra: 1st call, later');
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

    // And of a later call: the table keeps its gradient buffers for reuse, as a trainer calls it.
    const rssBefore2 = status('VmRSS');
    resetHighWaterMark();
    await call();
    const rssPeak2 = hwm ? status('VmHWM') : null;
    const peakExtraSteady = rssBefore2 !== null && rssPeak2 !== null ? rssPeak2 - rssBefore2 : null;

    const flops = 6 * shape.rows * shape.items * shape.dim;
    const times: number[] = [];
    const cpuTimes: number[] = []; // process CPU seconds (every thread) per call
    const start = performance.now();
    while (times.length < 3 || (times.length < 10 && performance.now() - start < 20_000)) {
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await call();
      times.push(performance.now() - t0);
      const cpu = process.cpuUsage(cpu0);
      cpuTimes.push((cpu.user + cpu.system) / 1e6);
    }
    const ms = median(times);
    const gflops = flops / ms / 1e6;
    // CPU time per thread: the elapsed time the call would take with its cores to itself.
    const coreMs = (median(cpuTimes) * 1000) / t.threads;
    const gflopsCpu = t.backend === 'cpu' ? flops / coreMs / 1e6 : null;
    const peak = peaks[shape.precision];
    const row = {
      ...shape,
      device: t.deviceName,
      isa: t.isa,
      threads: t.threads,
      ms,
      best: Math.min(...times),
      reps: times.length,
      coreMs: t.backend === 'cpu' ? coreMs : null,
      gflopsFloor: gflops,
      gflopsFloorCpu: gflopsCpu,
      fmaPeak: peak ?? null,
      fractionOfPeak: peak ? gflops / peak.wallGflops : null,
      fractionOfPeakCpu: peak && gflopsCpu ? gflopsCpu / peak.cpuGflops : null,
      scratchBytes: first.scratchBytes,
      peakRssExtraBytes: peakExtra,
      peakRssExtraBytesLaterCall: peakExtraSteady,
    };
    results.push(row);
    const name = `${shape.dataset} d=${shape.dim} ${shape.precision}`.padEnd(26);
    const pct = (x: number | null) => (x === null ? '  n/a' : `${(100 * x).toFixed(0).padStart(4)}%`);
    console.log(
      `${name} ${String(shape.rows).padStart(5)} ${ms.toFixed(1).padStart(8)} ${gflops.toFixed(1).padStart(8)} ${pct(row.fractionOfPeak)}   ` +
        // A GPU has no CPU-time columns (n/a).
        `${(row.coreMs === null ? 'n/a' : row.coreMs.toFixed(1)).padStart(8)} ${(gflopsCpu === null ? 'n/a' : gflopsCpu.toFixed(1)).padStart(8)} ${pct(row.fractionOfPeakCpu)}   ` +
        `${mib(first.scratchBytes).padStart(11)}  ${mib(peakExtra).padStart(12)} ${mib(peakExtraSteady).padStart(12)}`,
    );
  }
  table?.dispose();

  // PyTorch after our measurements (never at the same time: the cores are shared).
  let torch: { torch?: string; device?: string; threads?: number; rows: Record<string, unknown>[] } | null = null;
  if (!args.includes('--no-torch')) {
    const spec = shapes.map((s) => `${s.dataset}:${s.items}:${s.dim}:${s.rows}:${s.precision}`).join(',');
    const py = spawnSync(
      pythonWithTorch(),
      [
        path.join('bench', 'xent_torch.py'),
        '--device',
        device === 'cpu' ? 'cpu' : `cuda:${device.gpu}`,
        '--shapes',
        spec,
        // Default: the Python side's (8 GiB on the CPU, half the free memory on a GPU).
        ...(arg(args, '--torch-max-bytes') !== undefined ? ['--max-bytes', arg(args, '--torch-max-bytes')!] : []),
        ...(threadsUsed ? ['--threads', String(threadsUsed)] : []),
      ],
      { encoding: 'utf8', maxBuffer: 1 << 24 },
    );
    if (py.status === 0) torch = JSON.parse(py.stdout.trim().split('\n').pop()!);
    else console.log(`\nPyTorch reference not run: ${(py.stderr || py.error?.message || '').trim().split('\n').pop()} (apt-get install python3-torch)`);
  }
  if (torch) {
    console.log(`\nPyTorch ${torch.torch} on ${torch.device} (${torch.threads} threads): F.cross_entropy(Q @ E.T + b, t) + backward`);
    console.log('shape                       rows        ms   core ms  GEMM GF/s    peak extra      logits   speed-up (elapsed, core)   memory ratio');
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
      const tcore = typeof tr.cpuMs === 'number' && torch.threads ? tr.cpuMs / torch.threads : null;
      const extra = tr.peakExtraBytes as number | undefined;
      // On a GPU PyTorch's figure is device memory; ours is the call's scratch (the device's and the
      // host gradient buffers), which bounds the device memory it took.
      const ours = (device !== 'cpu' ? row.scratchBytes : (row.peakRssExtraBytesLaterCall ?? row.peakRssExtraBytes ?? row.scratchBytes)) as number;
      const speedCore = tcore !== null && row.coreMs ? `${(tcore / (row.coreMs as number)).toFixed(1)}x` : 'n/a';
      console.log(
        `${name} ${String(row.rows).padStart(5)} ${tms.toFixed(0).padStart(9)} ${(tcore ?? NaN).toFixed(0).padStart(9)} ${(tr.gemmGflops as number).toFixed(1).padStart(9)}   ` +
          `${mib(extra).padStart(11)}  ${mib(tr.logitsBytes as number).padStart(10)}   ${(tms / (row.ms as number)).toFixed(1).padStart(6)}x ${speedCore.padStart(8)}   ` +
          `${extra ? ((100 * ours) / extra).toFixed(2) + '%' : 'n/a'}`,
      );
    }
  }
  mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `xent-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileAtomic(file, JSON.stringify({ peaks, results, torch }, null, 2));
  console.log(`\nwrote ${file}`);
}
