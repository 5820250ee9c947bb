// The scoring benchmark: ItemTable.search at the REGEN shapes (Office: 27,887 items; Clothing:
// 376,847), against a single-threaded JavaScript implementation run in the same process.
// Runs fp32 tables, and bf16 ones where the CPU has AVX512-BF16.
// Each case is also printed as a multiple of its hardware floor, measured in the same run: the compute
// floor 2*B*N*d / FMA peak (fp32 FMA or bf16 VDPBF16PS, fmaPeak) and the memory floor (table bytes /
// read bandwidth, readBandwidth); the floor is the larger of the two. Both floors move on a shared
// machine, so each case runs in rounds, each after its own sample of the peak (and for at most 8
// rows of the bandwidth, column GB/s), and its multiple is the median over rounds of each round's
// median time against that round's floor. Both over elapsed time (wall) and over CPU time (cpu: the
// search's process CPU time per thread against the peak over the threads' CPU time).
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
// Each case runs in rounds, each after a sample of the FMA peak (0.05 s) and, for at most 8 rows, of
// the read bandwidth (256 MiB, 8x this machine's L3, for 0.05 s).
const ROUNDS = 4;
const PEAK_SAMPLE_SECONDS = 0.05;
const BANDWIDTH_SAMPLE_BYTES = 256 * 2 ** 20;
const BANDWIDTH_SAMPLE_SECONDS = 0.05;

interface Timing {
  wall: number;
  cpu: number;
}

interface Round {
  peak: FmaPeak | null;
  bw: ReadBandwidth | null;
  full: Timing;
  rank: Timing;
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

  // The floors on the kernel and threads the tables use, at the start (printed for context; every
  // case samples them again).
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
    // Short searches get more repetitions: their medians move with every thread wake-up.
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
    // The floors move while the bench runs, and the searches with them: this VM's two-thread read
    // bandwidth between about 30 and 50 GB/s from one second to the next, its FMA rate with whatever
    // else runs on the host's cores (two runs' start-of-run fp32 peaks minutes apart: 231 and 117
    // GFLOP/s). Hence the rounds, each against its own samples (file header).
    const small = shape.rows <= 8;
    const startPeak = peaks.get(shape.precision) ?? null;
    const perRound: Round[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const peak = startPeak ? ((await fmaPeak(engine, shape.precision, PEAK_SAMPLE_SECONDS)) ?? startPeak) : null;
      const bw = bandwidth && small ? ((await readBandwidth(engineThreads, BANDWIDTH_SAMPLE_BYTES, BANDWIDTH_SAMPLE_SECONDS)) ?? bandwidth) : bandwidth;
      const first = times.length;
      for (let i = 0; i < Math.ceil(reps / ROUNDS); i++) {
        await timed(options, times, cpuTimes);
        await timed({ ...options, logZ: false }, rankTimes, rankCpuTimes);
      }
      perRound.push({
        peak,
        bw,
        full: { wall: median(times.slice(first)), cpu: median(cpuTimes.slice(first)) },
        rank: { wall: median(rankTimes.slice(first)), cpu: median(rankCpuTimes.slice(first)) },
      });
    }
    const ms = median(times);
    const cpuMs = median(cpuTimes);
    const rankMs = median(rankTimes);
    const rankCpuMs = median(rankCpuTimes);
    // A round's floors, ms: compute (flops over its peak sample) and memory (table bytes over its bandwidth).
    const roundFloor = (p: Round, kind: 'fma' | 'mem', clock: 'wall' | 'cpu'): number | null => {
      if (kind === 'fma') return p.peak ? flops / (clock === 'wall' ? p.peak.wallGflops : p.peak.cpuGflops) / 1e6 : null;
      return p.bw ? tableBytes / (clock === 'wall' ? p.bw.wallGbps : p.bw.cpuGbps) / 1e6 : null;
    };
    const medianFloor = (kind: 'fma' | 'mem', clock: 'wall' | 'cpu') => {
      const xs = perRound.map((p) => roundFloor(p, kind, clock)).filter((x): x is number => x !== null);
      return xs.length ? median(xs) : null;
    };
    const floorsOf = (kind: 'fma' | 'mem') => {
      const wall = medianFloor(kind, 'wall'), cpu = medianFloor(kind, 'cpu');
      return wall === null || cpu === null ? null : { wall, cpu };
    };
    const computeFloor = floorsOf('fma');
    const memoryFloor = floorsOf('mem');
    const bound = !memoryFloor || (computeFloor && computeFloor.wall >= memoryFloor.wall) ? 'fma' : 'mem';
    const floor = bound === 'fma' ? computeFloor : memoryFloor;
    // The median over rounds of each round's median time against that round's floor.
    const multiple = (pick: (p: Round) => Timing, clock: 'wall' | 'cpu', kind: 'fma' | 'mem' = bound): number | null => {
      const xs = perRound.flatMap((p) => {
        const f = roundFloor(p, kind, clock);
        return f === null ? [] : [pick(p)[clock] / f];
      });
      return xs.length ? median(xs) : null;
    };
    const caseBandwidth = small ? memoryFloor && { wallGbps: tableBytes / memoryFloor.wall / 1e6, cpuGbps: tableBytes / memoryFloor.cpu / 1e6 } : null;

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
      rounds: perRound.map((p) => ({ peak: p.peak, bandwidth: small ? p.bw : undefined, ms: p.full.wall, rankMs: p.rank.wall })),
      floorMultiple: multiple((p) => p.full, 'wall'), cpuFloorMultiple: multiple((p) => p.full, 'cpu'),
      memoryFloorMultiple: multiple((p) => p.full, 'wall', 'mem'),
      rankingOnly: { ms: rankMs, cpuMs: rankCpuMs, floorMultiple: multiple((p) => p.rank, 'wall'), cpuFloorMultiple: multiple((p) => p.rank, 'cpu') },
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
