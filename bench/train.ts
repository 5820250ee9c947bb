// The training benchmark: epoch time of `regen-bench train` against the FMA floor of its arithmetic,
// measured in the same run:
//   - peak: the FMA throughput of the same threads (native fmaPeak, the cross-entropy benchmark's);
//   - arithmetic of one epoch: the loss's 6 R N d (scores, dQ, dE of every output row against every
//     item; the fused kernel recomputes the scores, 8 R N d, which counts against it), the body's
//     matrix products (forward 2 T (3C^2 + C^2 + 2 C F) per layer, backward twice that) and its
//     attention (QK^T and AV over the real positions only, forward and backward);
//   - floor = arithmetic / peak; the epoch reaches floor / seconds of the peak.
// Shapes: Beauty (S3Rec file: 22,363 users, 12,101 items) with SASRec's default settings, the
// Office-scale synthetic set (89,489 users, 27,887 items), and Clothing's scale (376,847 items,
// sequences of the Clothing preset's lengths) for memory and positions/s over a few hundred steps.
// PyTorch (bench/train_torch.py, Debian's python3-torch) trains the same architecture on the same
// Beauty sequences for context, with its own matmul rate.
// Usage: npm run bench -- train [--quick] [--threads N] [--epochs N] [--no-torch] [--office] [--clothing-steps N] [--out DIR]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { loadDataset } from '../src/data/load.js';
import { TransformerBody } from '../src/engine/train-kernels.js';
import { Engine } from '../src/engine/engine.js';
import { fmaPeak, type FmaPeak } from '../src/engine/peak.js';
import { epochBatches, trainingSequences, type TrainingBatch } from '../src/train/data.js';
import { writeFileAtomic } from '../src/util/files.js';
import { rng } from '../src/util/random.js';
import { officeSynthetic } from './office.js';

const BEAUTY = path.join('..', 'shared', 'fixtures', 'amazon-beauty-s3rec', 'Beauty.txt');
const BEAUTY_ABS = path.resolve(process.cwd(), BEAUTY);

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

function status(key: 'VmRSS' | 'VmHWM'): number | null {
  try {
    const m = readFileSync('/proc/self/status', 'utf8').match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

interface Config {
  items: number;
  dim: number;
  layers: number;
  heads: number;
  maxLen: number;
  batch: number;
  causal: boolean;
}

/** Floating-point operations of one step (see the header), split into loss and body. */
function stepFlops(c: Config, b: TrainingBatch): { loss: number; body: number } {
  const R = b.targets.length;
  const T = b.body.inputs.length;
  const C = c.dim;
  const F = 4 * C;
  const hs = C / c.heads;
  let pairs = 0;
  for (let s = 0; s + 1 < b.body.offsets.length; s++) {
    const l = b.body.offsets[s + 1] - b.body.offsets[s];
    pairs += c.causal ? (l * (l + 1)) / 2 : l * l;
  }
  const matmul = 3 * c.layers * 2 * T * (3 * C * C + C * C + 2 * C * F);
  const attention = 3 * c.layers * 2 * 2 * pairs * hs * c.heads;
  return { loss: 6 * R * c.items * C, body: matmul + attention };
}

interface EpochTiming {
  seconds: number;
  /** Process CPU seconds (every thread) over the steps. */
  cpuSeconds: number;
  positions: number;
  steps: number;
  flops: { loss: number; body: number };
}

/** The trainer's step on the CPU (one native call: forward, fused loss, backward, AdamW) over batches. */
async function timeSteps(c: Config, batches: Iterable<TrainingBatch>, engine: Engine, maxSteps = Infinity): Promise<EpochTiming> {
  const body = await TransformerBody.create({ items: c.items, dim: c.dim, layers: c.layers, heads: c.heads, maxLen: c.maxLen, causal: c.causal, dropout: 0.5 }, { seed: 1, engine });
  const t: EpochTiming = { seconds: 0, cpuSeconds: 0, positions: 0, steps: 0, flops: { loss: 0, body: 0 } };
  try {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (const b of batches) {
      if (t.steps >= maxSteps) break;
      t.steps++;
      b.body.seed = 1;
      b.body.step = t.steps;
      await body.trainStep(b.body, b.targets, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, t: t.steps });
      t.positions += b.targets.length;
      const f = stepFlops(c, b);
      t.flops.loss += f.loss;
      t.flops.body += f.body;
    }
    t.seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    t.cpuSeconds = (cpu.user + cpu.system) / 1e6;
  } finally {
    body.dispose();
  }
  return t;
}

/** The body alone (forward, backward with a constant gradient, AdamW) over the same batches: the loss's share by difference. */
async function timeBody(c: Config, batches: Iterable<TrainingBatch>, engine: Engine, maxSteps: number): Promise<{ seconds: number; steps: number; flops: number }> {
  const body = await TransformerBody.create({ items: c.items, dim: c.dim, layers: c.layers, heads: c.heads, maxLen: c.maxLen, causal: c.causal, dropout: 0.5 }, { seed: 1, engine });
  let steps = 0;
  let flops = 0;
  const t0 = performance.now();
  try {
    for (const b of batches) {
      if (steps >= maxSteps) break;
      steps++;
      b.body.seed = 1;
      b.body.step = steps;
      const h = await body.forward(b.body);
      await body.backward(h.fill(1e-3), null, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, t: steps });
      flops += stepFlops(c, b).body;
    }
  } finally {
    body.dispose();
  }
  return { seconds: (performance.now() - t0) / 1000, steps, flops };
}

function report(name: string, t: EpochTiming, peak: FmaPeak, threads: number, epochPositions: number, bodyOnly?: { seconds: number; steps: number; flops: number }) {
  const total = t.flops.loss + t.flops.body;
  const floorWall = total / (peak.wallGflops * 1e9);
  const floorCpu = total / (peak.cpuGflops * 1e9);
  const coreSeconds = t.cpuSeconds / threads; // the elapsed time with the cores to ourselves
  const row = {
    name,
    steps: t.steps,
    positions: t.positions,
    seconds: t.seconds,
    core_seconds: coreSeconds,
    epoch_seconds: (t.seconds * epochPositions) / t.positions,
    epoch_core_seconds: (coreSeconds * epochPositions) / t.positions,
    positions_per_s: t.positions / t.seconds,
    gflop: total / 1e9,
    loss_gflop: t.flops.loss / 1e9,
    body_gflop: t.flops.body / 1e9,
    share_of_peak: floorWall / t.seconds,
    share_of_peak_cpu_time: floorCpu / coreSeconds,
    body_only_seconds_per_step: bodyOnly ? bodyOnly.seconds / bodyOnly.steps : null,
    body_only_share_of_peak: bodyOnly ? bodyOnly.flops / (peak.wallGflops * 1e9) / bodyOnly.seconds : null,
  };
  console.log(
    `${name}: ${t.steps} steps, ${t.positions.toLocaleString('en-US')} positions in ${t.seconds.toFixed(2)} s, ${coreSeconds.toFixed(2)} s of CPU per core ` +
      `(${Math.round(row.positions_per_s).toLocaleString('en-US')} positions/s; epoch ${row.epoch_seconds.toFixed(1)} s, ${row.epoch_core_seconds.toFixed(1)} s on idle cores)\n` +
      `  arithmetic ${row.gflop.toFixed(1)} GFLOP (loss ${row.loss_gflop.toFixed(1)}, body ${row.body_gflop.toFixed(1)}): ${(100 * row.share_of_peak).toFixed(1)}% of peak over elapsed time, ` +
      `${(100 * row.share_of_peak_cpu_time).toFixed(1)}% over CPU time` +
      (bodyOnly ? `; the body alone ${(1000 * row.body_only_seconds_per_step!).toFixed(1)} ms/step at ${(100 * row.body_only_share_of_peak!).toFixed(1)}% of peak` : ''),
  );
  return row;
}

function runTorch(args: string[]): Record<string, unknown> | null {
  for (const py of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(py, [path.join('bench', 'train_torch.py'), ...args], { encoding: 'utf8', timeout: 1_800_000 });
    if (r.status === 0) return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    if (py === 'python3') console.log(`PyTorch reference not run: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()} (apt-get install python3-torch)`);
  }
  return null;
}

export async function benchTrain(args: string[]): Promise<void> {
  const quick = args.includes('--quick');
  const threads = arg(args, '--threads') !== undefined ? Number(arg(args, '--threads')) : undefined;
  const outDir = arg(args, '--out') ?? path.join('bench', 'results');
  const engine = Engine.open({ threads });
  const isa = engine.isa;
  const nThreads = engine.threads;
  const peak = await fmaPeak(engine, 'fp32', 2);
  if (peak === null) throw new Error('this addon has no fmaPeak; rebuild it (npm run build:native)');
  console.log(`FMA peak (fp32, ${isa}, ${nThreads} threads, measured now): ${peak.wallGflops.toFixed(1)} GFLOP/s over elapsed time, ${peak.cpuGflops.toFixed(1)} over CPU time`);
  const results: Record<string, unknown>[] = [];

  // Beauty, SASRec's defaults: d = 64, 2 layers, 1 head, max-len 50, batch 128.
  const beauty = existsSync(BEAUTY_ABS) ? BEAUTY_ABS : null;
  if (beauty) {
    const ds = await loadDataset(beauty);
    const c: Config = { items: ds.items.count, dim: 64, layers: 2, heads: 1, maxLen: 50, batch: 128, causal: true };
    const seqs = trainingSequences(ds, 'next', c.maxLen);
    const batches = () => epochBatches(seqs, { objective: 'next', maxLen: c.maxLen, batchSize: c.batch, seed: 0, epoch: 1, maskId: c.items, maskProb: 0.2 });
    const t = await timeSteps(c, batches(), engine, quick ? 40 : Infinity);
    const b = await timeBody(c, batches(), engine, 40);
    results.push(report(`beauty sasrec (${ds.items.count.toLocaleString('en-US')} items)`, t, peak, nThreads, seqs.positions, b));
    if (!args.includes('--no-torch')) {
      const steps = quick ? 2 : 4; // its CPU matmul is slow: a few steps give the rate
      const torch = runTorch(['--data', beauty, '--items', String(c.items), '--steps', String(steps), '--threads', String(nThreads)]);
      if (torch) {
        console.log(
          `PyTorch ${torch.torch} (BLAS ${torch.blas}, ${torch.threads} threads), same model and data, padded batches: ${Math.round(torch.positions_per_s as number).toLocaleString('en-US')} positions/s ` +
            `(epoch about ${(torch.epoch_seconds_estimate as number).toFixed(0)} s, from ${torch.steps} steps); its ${(torch.matmul_shape as number[]).join(' x ')} matmul runs at ${(torch.matmul_gflops as number).toFixed(1)} GFLOP/s ` +
            `(a generic BLAS: context, not a fair ratio)`,
        );
        results.push({ name: 'beauty sasrec pytorch', ...torch });
      }
    }
  } else console.log(`Beauty not found at ${BEAUTY} (the shared fixtures); skipped`);

  // Office-scale synthetic: one epoch (quick: 100 steps).
  if (args.includes('--office') || !quick) {
    const { jsonl, cacheDir } = await officeSynthetic(arg(args, '--work'));
    const ds = await loadDataset(jsonl, { cacheDir });
    const c: Config = { items: ds.items.count, dim: 64, layers: 2, heads: 1, maxLen: 50, batch: 128, causal: true };
    const seqs = trainingSequences(ds, 'next', c.maxLen);
    const batches = () => epochBatches(seqs, { objective: 'next', maxLen: c.maxLen, batchSize: c.batch, seed: 0, epoch: 1, maskId: c.items, maskProb: 0.2 });
    const t = await timeSteps(c, batches(), engine, quick ? 100 : Infinity);
    const b = await timeBody(c, batches(), engine, 40);
    results.push(report(`office-scale synthetic sasrec (${ds.items.count.toLocaleString('en-US')} items)`, t, peak, nThreads, seqs.positions, b));
  }

  // Clothing's scale: 376,847 items; sequences with the Clothing preset's mean length (9.21 purchases,
  // so 6.21 training targets), random items; memory and positions/s over a few hundred steps.
  {
    const items = 376_847;
    const steps = Number(arg(args, '--clothing-steps') ?? (quick ? 20 : 200));
    const c: Config = { items, dim: 64, layers: 2, heads: 1, maxLen: 50, batch: 128, causal: true };
    const rss0 = status('VmRSS');
    const r = rng(17);
    function* clothing(): Generator<TrainingBatch> {
      for (;;) {
        const offsets = new Int32Array(c.batch + 1);
        const lens: number[] = [];
        for (let s = 0; s < c.batch; s++) {
          // Lengths 3..12 (mean 6.5), about the training targets of Clothing's users.
          const l = 3 + Math.floor(r() * 10);
          lens.push(l);
          offsets[s + 1] = offsets[s] + l;
        }
        const T = offsets[c.batch];
        const inputs = Int32Array.from({ length: T }, () => Math.floor(r() * items));
        const targets = Int32Array.from({ length: T }, () => Math.floor(r() * items));
        yield { body: { offsets, inputs, outIndex: Int32Array.from({ length: T }, (_, i) => i), training: true }, targets };
      }
    }
    const t = await timeSteps(c, clothing(), engine, steps);
    const hwm = status('VmHWM');
    const row = report(`clothing-scale sasrec (376,847 items, ${steps} steps)`, t, peak, nThreads, 1_168_735 * 6.21);
    console.log(`  resident memory: high-water ${hwm ? (hwm / 2 ** 30).toFixed(2) : 'n/a'} GiB for the whole process (before the run ${rss0 ? (rss0 / 2 ** 30).toFixed(2) : 'n/a'} GiB)`);
    results.push({ ...row, rss_high_water_bytes: hwm, rss_before_bytes: rss0 });
  }

  mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `train-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileAtomic(file, JSON.stringify({ peak, isa, threads: nThreads, results }, null, 2) + '\n');
  console.log(`results: ${file}`);
}
