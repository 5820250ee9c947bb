// The scoring benchmark: ItemTable.search at the REGEN shapes (Office: 27,887 items; Clothing:
// 376,847), against a single-threaded JavaScript implementation run in the same process.
// Runs fp32 tables, and bf16 ones where the CPU has AVX512-BF16.
// Each case is also printed as a multiple of its hardware floor, measured in the same run: the compute
// floor 2*B*N*d / FMA peak (fp32 FMA or bf16 VDPBF16PS, fmaPeak) and the memory floor (table bytes /
// read bandwidth: readBandwidth over 512 MiB at the start, and for batches of at most 8 rows
// sampled again over 256 MiB before each round of the case's searches, column GB/s); the floor is
// the larger of the two. Both over elapsed time (wall) and over CPU time (cpu: the search's process
// CPU time per thread against the peak over the threads' CPU time), which is the steadier figure
// when other work shares the cores.
// Usage: npm run bench -- scoring [--quick] [--isa avx512|avx2|scalar] [--threads N] [--precision fp32|bf16]
import { mkdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';

import { writeFileAtomic } from '../src/util/files.js';
import { rng } from '../src/util/random.js';
import { ItemTable } from '../src/engine/item-table.js';
import { Engine } from '../src/engine/engine.js';
import { loadCpuBinding, type IsaName, type Precision } from '../src/engine/binding.js';
import { jsSearchRow } from './js-baseline.js';
import { fmaPeak, readBandwidth, type FmaPeak, type ReadBandwidth } from '../src/engine/peak.js';

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
// Read-bandwidth samples beside each small-batch case: 256 MiB (8x this machine's L3) for 0.05 s.
const BANDWIDTH_ROUNDS = 4;
const BANDWIDTH_SAMPLE_BYTES = 256 * 2 ** 20;
const BANDWIDTH_SAMPLE_SECONDS = 0.05;

interface Timing {
  wall: number;
  cpu: number;
}

function shapes(quick: boolean, precisions: Precision[]): Shape[] {
  const out: Shape[] = [];
  for (const [dataset, items] of [['office', 27_887], ['clothing', 376_847]] as const)
    for (const dim of [64, 256])
      for (const precision of precisions)
        for (const rows of [1, 8, 32, 256]) {
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

  // The floors, measured once per run on the kernel and threads the tables use.
  const engine = Engine.open({ isa, threads });
  const peaks = new Map<Precision, FmaPeak | null>();
  for (const precision of precisions) peaks.set(precision, await fmaPeak(engine, precision));
  const bandwidth: ReadBandwidth | null = await readBandwidth(engine.threads);
  const engineThreads = engine.threads;
  for (const [precision, p] of peaks)
    if (p) console.log(`${precision} peak on ${engineThreads} thread(s): ${p.wallGflops.toFixed(0)} GFLOP/s wall, ${p.cpuGflops.toFixed(0)} GFLOP/s over CPU time`);
  if (bandwidth) console.log(`read bandwidth on ${engineThreads} thread(s): ${bandwidth.wallGbps.toFixed(1)} GB/s wall, ${bandwidth.cpuGbps.toFixed(1)} GB/s over CPU time`);
  console.log(`load average: ${loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);

  // rank ms / x floor: the same search without the log-sum-exp (logZ: false), as the recommenders run it.
  console.log('shape                      rows   native ms   GFLOP/s   JS ms (est.)   speed-up  floor ms  bound  GB/s  x floor  cpu x floor   rank ms  x floor  cpu x floor  goal (issue 20), target');
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
    const tableBytes = shape.items * shape.dim * (shape.precision === 'bf16' ? 2 : 4);
    // Short searches get more rounds: their medians move with every thread wake-up.
    const reps = Math.max(3, Math.min(200, Math.round(2e10 / flops)));
    const times: number[] = [];
    const cpuTimes: number[] = [];
    // The ranking-only search (logZ: false, what the recommenders ask for), timed in turn with the full one.
    const rankTimes: number[] = [];
    const rankCpuTimes: number[] = [];
    const timed = async (opts: typeof options & { logZ?: boolean }, wall: number[], cpuPerThread: number[]) => {
      const cpu0 = process.cpuUsage();
      const start = performance.now();
      await t.search(queries, opts);
      wall.push(performance.now() - start);
      const cpu = process.cpuUsage(cpu0);
      cpuPerThread.push((cpu.user + cpu.system) / 1000 / t.threads); // ms of CPU per thread
    };
    // Small batches are judged against the memory floor, and this VM's two-thread read bandwidth
    // moves between about 30 and 50 GB/s from one second to the next (the scans move with it). So
    // their searches run in rounds, each after its own bandwidth sample, and each round is set
    // against its own floor: a start-of-run figure had made the same search 1.0x or 1.7x.
    const sampled = bandwidth !== null && shape.rows <= 8;
    const rounds = sampled ? BANDWIDTH_ROUNDS : 1;
    const perRound: { bw: ReadBandwidth; full: Timing; rank: Timing }[] = [];
    for (let round = 0; round < rounds; round++) {
      const bw = sampled ? ((await readBandwidth(engineThreads, BANDWIDTH_SAMPLE_BYTES, BANDWIDTH_SAMPLE_SECONDS)) ?? bandwidth!) : bandwidth;
      const first = times.length;
      for (let i = 0; i < Math.ceil(reps / rounds); i++) {
        await timed(options, times, cpuTimes);
        await timed({ ...options, logZ: false }, rankTimes, rankCpuTimes);
      }
      if (bw)
        perRound.push({
          bw,
          full: { wall: median(times.slice(first)), cpu: median(cpuTimes.slice(first)) },
          rank: { wall: median(rankTimes.slice(first)), cpu: median(rankCpuTimes.slice(first)) },
        });
    }
    const ms = median(times);
    const cpuMs = median(cpuTimes);
    const rankMs = median(rankTimes);
    const rankCpuMs = median(rankCpuTimes);
    const peak = peaks.get(shape.precision) ?? null;
    const computeFloor = peak ? { wall: flops / peak.wallGflops / 1e6, cpu: flops / peak.cpuGflops / 1e6 } : null;
    // The bandwidth of this case: the median of its samples (or the start-of-run figure).
    const caseBandwidth: ReadBandwidth | null = perRound.length
      ? { wallGbps: median(perRound.map((p) => p.bw.wallGbps)), cpuGbps: median(perRound.map((p) => p.bw.cpuGbps)) }
      : null;
    const memoryFloor = caseBandwidth ? { wall: tableBytes / caseBandwidth.wallGbps / 1e6, cpu: tableBytes / caseBandwidth.cpuGbps / 1e6 } : null;
    const bound = !memoryFloor || (computeFloor && computeFloor.wall >= memoryFloor.wall) ? 'fma' : 'mem';
    const floor = bound === 'fma' ? computeFloor : memoryFloor;
    // Multiples of the memory floor: the median over rounds of each round's median against its own floor.
    const memoryMultiple = (pick: (p: (typeof perRound)[number]) => number, clock: 'wall' | 'cpu') =>
      perRound.length ? median(perRound.map((p) => (pick(p) * (clock === 'wall' ? p.bw.wallGbps : p.bw.cpuGbps) * 1e6) / tableBytes)) : null;
    const multiple = (ms: number, pick: (p: (typeof perRound)[number]) => number, clock: 'wall' | 'cpu') =>
      bound === 'mem' ? memoryMultiple(pick, clock) : floor ? ms / floor[clock] : null;

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

    const row = {
      ...shape, isa: t.isa, threads: t.threads, ms, cpuMs, gflops: flops / ms / 1e6, jsMs, jsRowsTimed: jsRows, speedup: jsMs / ms, reps,
      tableBytes, computeFloorMs: computeFloor, memoryFloorMs: memoryFloor, bound, bandwidth: caseBandwidth,
      bandwidthSamples: perRound.length > 1 ? perRound.map((p) => p.bw) : undefined,
      floorMultiple: multiple(ms, (p) => p.full.wall, 'wall'), cpuFloorMultiple: multiple(cpuMs, (p) => p.full.cpu, 'cpu'),
      memoryFloorMultiple: memoryMultiple((p) => p.full.wall, 'wall'),
      rankingOnly: { ms: rankMs, cpuMs: rankCpuMs, floorMultiple: multiple(rankMs, (p) => p.rank.wall, 'wall'), cpuFloorMultiple: multiple(rankCpuMs, (p) => p.rank.cpu, 'cpu') },
    };
    results.push(row);
    const name = `${shape.dataset} d=${shape.dim} ${shape.precision}`.padEnd(26);
    // The goal: at most 1.5x the floor from 32 rows on; small batches (LUMEN's steps) at most
    // 1.5x the memory floor.
    const goalMultiple = shape.rows <= 8 ? row.memoryFloorMultiple : row.floorMultiple;
    const goal = goalMultiple !== null ? `1.5x ${shape.rows <= 8 ? 'mem' : 'floor'} ${goalMultiple <= 1.5 ? 'met' : 'MISSED'}` : '';
    const target = [goal, shape.targetMs ? `<= ${shape.targetMs} ms ${ms <= shape.targetMs ? 'met' : 'MISSED'}` : ''].filter(Boolean).join(', ');
    console.log(
      `${name} ${String(shape.rows).padStart(4)} ${ms.toFixed(2).padStart(11)} ${row.gflops.toFixed(1).padStart(9)} ${jsMs.toFixed(0).padStart(14)} ${row.speedup.toFixed(0).padStart(9)}x ${floor ? floor.wall.toFixed(2).padStart(9) : '        -'}  ${bound}  ${caseBandwidth ? caseBandwidth.wallGbps.toFixed(1).padStart(4) : '   -'}  ${row.floorMultiple?.toFixed(2).padStart(7) ?? '      -'} ${row.cpuFloorMultiple?.toFixed(2).padStart(12) ?? '           -'} ${rankMs.toFixed(2).padStart(9)} ${row.rankingOnly.floorMultiple?.toFixed(2).padStart(7) ?? '      -'} ${row.rankingOnly.cpuFloorMultiple?.toFixed(2).padStart(11) ?? '          -'}  ${target}`,
    );
  }
  table?.dispose();
  const outDir = path.join('bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `scoring-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileAtomic(
    file,
    JSON.stringify({ k: K, excludedPerRow: EXCLUDED_PER_ROW, cpu: cpus()[0]?.model, loadAverage: loadavg(), threads: engineThreads, peaks: Object.fromEntries(peaks), bandwidth, results }, null, 2),
  );
  console.log(`\nwrote ${file}`);
}
