// `regen-bench train` end to end on tiny data: a planted sequential pattern is learned (loss falls,
// valid recall far above popularity), resuming gives the uninterrupted run's weights bit for bit,
// batches follow leave-one-out, and bad settings and data get clear errors.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { loadDataset } from '../src/data/load.js';
import { synthConfig, writeSynthetic } from '../src/data/synth/generate.js';
import { runEval } from '../src/eval/run.js';
import { readSafetensors, loadCheckpoint } from '../src/train/checkpoint.js';
import { epochBatches, scoringBatch, trainingSequences } from '../src/train/data.js';
import { EngineLossHead } from '../src/train/engine-loss.js';
import { TransformerBody } from '../src/engine/train-kernels.js';
import { gpuUnavailableReason } from '../src/engine/device.js';
import { cpuCapabilities, Engine } from '../src/engine/engine.js';
import { ReferenceLossHead } from '../src/train/loss.js';
import { trainModel, TrainUsageError, type TrainOptions } from '../src/train/trainer.js';
import { rng } from '../src/util/random.js';
import { flagLabel } from '../src/cli/flags.js';
import { isOptionProblem } from '../src/util/option-error.js';
import { scratch } from './data-helpers.js';
import { writeTinyEncoder } from './helpers/tiny-encoder.js';

/** The largest |x - y| over the largest |y| (a loop: spreading 320,000 values into Math.max overflows the stack). */
function relativeError(x: Float32Array, y: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < y.length; i++) {
    diff = Math.max(diff, Math.abs(x[i] - y[i]));
    scale = Math.max(scale, Math.abs(y[i]));
  }
  return diff / scale;
}

const SEED = Number(process.env.REGEN_TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));
const noGpu = gpuUnavailableReason();
if (noGpu) console.log(`train: GPU checks skipped: ${noGpu}`);
const dir = scratch();

/** Users walk the items i -> i + 1 or i + 2 (mod N), with a random start: a pattern a sequential model learns and popularity cannot. */
function plantedSequences(file: string, users: number, items: number, seed: number): string {
  const r = rng(seed);
  const lines: string[] = [];
  for (let u = 1; u <= users; u++) {
    const len = 5 + Math.floor(r() * 6);
    let i = Math.floor(r() * items);
    const seq: number[] = [];
    for (let k = 0; k < len; k++) {
      seq.push(i + 1);
      i = (i + (r() < 0.8 ? 1 : 2)) % items;
    }
    lines.push(`${u} ${seq.join(' ')}`);
  }
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

const tiny = (o: Partial<TrainOptions>): TrainOptions => ({
  model: 'sasrec',
  data: '',
  out: '',
  dim: 16,
  layers: 1,
  maxLen: 8,
  batch: 32,
  lr: 5e-3,
  dropout: 0.1,
  loss: 'reference',
  threads: 2,
  seed: SEED % 1000,
  ...o,
});

describe(`train (seed ${SEED})`, () => {
  const data = plantedSequences(path.join(dir, 'planted.txt'), 300, 60, SEED);

  it('batches follow leave-one-out: training never sees the valid or test item', async () => {
    const ds = await loadDataset(data);
    const seqs = trainingSequences(ds, 'next', 8);
    const seen = new Set<string>();
    for (const b of epochBatches(seqs, { objective: 'next', maxLen: 8, batchSize: 50, seed: 1, epoch: 1, maskId: 60, maskProb: 0.2 }))
      for (let s = 0; s + 1 < b.body.offsets.length; s++) {
        const items = Array.from(b.body.inputs.subarray(b.body.offsets[s], b.body.offsets[s + 1]));
        seen.add(items.join(','));
      }
    // Every training sequence's inputs end two items before the user's last (n-2 train items, the last of them a target only).
    let checked = 0;
    for (let u = 0; u < ds.users.count; u++) {
      const seq = Array.from(ds.sequence(u));
      const inputs = seq.slice(0, seq.length - 3).slice(-8);
      expect(seen.has(inputs.join(','))).toBe(true);
      checked++;
    }
    expect(checked).toBe(300);
    // Scoring the valid split reads the history only (targets are not in the inputs).
    const v = ds.split.valid;
    const { body } = scoringBatch({ history: v.history }, 0, 5, { objective: 'masked', maxLen: 8, maskId: 60 });
    for (let s = 0; s < 5; s++) {
      const last = body.offsets[s + 1] - 1;
      expect(body.inputs[last]).toBe(60);
      expect(body.outIndex[s]).toBe(last);
    }
  });

  it("the engine's fused loss gives the float64 reference's mean loss and gradients", async () => {
    const r = rng(SEED + 5);
    const [N, C, R] = [301, 24, 37];
    const hidden = Float32Array.from({ length: R * C }, () => r() * 2 - 1);
    const rows = Float32Array.from({ length: N * C }, () => r() - 0.5);
    const targets = Int32Array.from({ length: R }, () => Math.floor(r() * N));
    const engine = await EngineLossHead.create(N, C);
    const a = await engine.compute(hidden, rows, targets);
    engine.dispose();
    const b = await new ReferenceLossHead(N, C).compute(hidden, rows, targets);
    // Scores carry float32 rounding of 24-term dot products (about 1e-6 relative); gradients sum
    // 301 items x 37 rows of probabilities: 1e-5 of the largest entry is a wide margin.
    expect(Math.abs(a.loss - b.loss)).toBeLessThan(1e-5 * b.loss);
    expect(relativeError(a.dHidden, b.dHidden)).toBeLessThan(1e-5);
    expect(relativeError(a.dRows, b.dRows)).toBeLessThan(1e-5);
  });

  it('the fused training step (one native call) gives the bits of forward + item-table loss + backward', async () => {
    const ds = await loadDataset(data);
    const seqs = trainingSequences(ds, 'next', 8);
    const states: Float32Array[] = [];
    const losses: number[] = [];
    for (const fused of [true, false]) {
      const body = await TransformerBody.create({ items: 60, dim: 16, layers: 1, maxLen: 8, dropout: 0.2 }, { seed: 3, threads: 2 });
      const head = await EngineLossHead.create(60, 16);
      let step = 0;
      for (const b of epochBatches(seqs, { objective: 'next', maxLen: 8, batchSize: 64, seed: 1, epoch: 1, maskId: 60, maskProb: 0.2 })) {
        b.body.seed = 9;
        b.body.step = ++step;
        const adam = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, t: step };
        if (fused) losses.push(await body.trainStep(b.body, b.targets, adam));
        else {
          const hidden = await body.forward(b.body);
          const l = await head.compute(hidden, await body.rows(), b.targets);
          losses.push(l.loss);
          await body.backward(l.dHidden, l.dRows, adam);
        }
      }
      states.push(body.getState('params'));
      head.dispose();
      body.dispose();
    }
    expect(Buffer.from(states[0].buffer).equals(Buffer.from(states[1].buffer))).toBe(true);
    const half = losses.length / 2;
    for (let i = 0; i < half; i++) expect(Math.abs(losses[i] - losses[half + i])).toBeLessThan(1e-6 * losses[i]);
  });

  it('sasrec learns the pattern: loss falls, valid recall@10 far above popularity', async () => {
    const out = path.join(dir, 'sasrec');
    const r = await trainModel(tiny({ data, out, epochs: 12, patience: 12 }));
    expect(r.epochs.length).toBe(12);
    expect(r.epochs[r.epochs.length - 1].loss).toBeLessThan(r.epochs[0].loss - 1);
    // Popularity's recall@10 here is about 10/60; the pattern allows about 1 (two successors).
    const best = Math.max(...r.epochs.map((e) => e['valid_recall@10']));
    expect(best).toBeGreaterThan(0.8);
    for (const f of ['config.json', 'model.safetensors', 'item_ids.txt', 'train.jsonl']) expect(existsSync(path.join(out, f))).toBe(true);
    const lines = readFileSync(path.join(out, 'train.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.epoch)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    for (const l of lines) for (const k of ['seconds', 'loss', 'valid_recall@10', 'valid_ndcg@10']) expect(typeof l[k]).toBe('number');
    const ck = loadCheckpoint(out);
    expect(ck.config.best?.epoch).toBe(r.bestEpoch);
    expect(ck.itemIds.length).toBe(60);
  });

  it('bert4rec learns the pattern with the masked objective (the engine loss)', async () => {
    const r = await trainModel(tiny({ model: 'bert4rec', data, out: path.join(dir, 'bert4rec'), epochs: 15, patience: 15, maskProb: 0.3, loss: 'engine' }));
    expect(Math.max(...r.epochs.map((e) => e['valid_recall@10']))).toBeGreaterThan(0.6);
  });

  it('flare reads critiques: task 2 (critiques shown) beats task 1 on the same checkpoint, through eval --model DIR', async () => {
    const syn = path.join(dir, 'syn');
    await writeSynthetic(synthConfig('demo', 7, { users: 1000, items: 300 }), syn, {});
    const data = path.join(syn, 'demo.jsonl');
    const out = path.join(dir, 'flare');
    const r = await trainModel({ model: 'flare', data, out, dim: 32, layers: 1, maxLen: 10, batch: 64, lr: 3e-3, dropout: 0.1, epochs: 10, patience: 20, threads: 2, seed: 0, textEncoder: 'builtin' });
    expect(r.config.textEncoder?.model).toBe('builtin-hash-v1');
    expect(r.config.body.critiqueDim).toBeGreaterThan(0);
    const last = r.epochs[r.epochs.length - 1];
    expect(last['valid_critique_ndcg@10']!).toBeGreaterThan(last['valid_ndcg@10']);
    const t1 = await runEval({ data, task: 1, model: out, semsim: false });
    const t2 = await runEval({ data, task: 2, model: out, semsim: false });
    const recall = (x: typeof t1) => (x.json.ranking as Record<string, number>)['recall@10'];
    expect(recall(t2)).toBeGreaterThan(recall(t1) + 0.01);
    expect(String(t2.json.signature)).toMatch(/model:trained:flare@[0-9a-f]{16}/);
    // A sentence encoder (a local folder) instead: recorded in config.json, used again by eval.
    const enc = writeTinyEncoder(path.join(dir, 'tiny-encoder'));
    const out2 = path.join(dir, 'flare-encoder');
    const r2 = await trainModel({ model: 'flare', data, out: out2, dim: 16, layers: 1, maxLen: 10, batch: 64, epochs: 2, patience: 5, threads: 2, textEncoder: enc });
    expect(r2.config.textEncoder).toMatchObject({ kind: 'sentence', dim: 6 });
    expect(r2.config.body.contentDim).toBe(6);
    const t2b = await runEval({ data, task: 2, model: out2, semsim: false });
    expect((t2b.json.ranking as Record<string, number>).n).toBe(1000);
  });

  it('resuming after an interruption gives the uninterrupted run bit for bit', async () => {
    const a = path.join(dir, 'resume-a');
    const b = path.join(dir, 'resume-b');
    await trainModel(tiny({ data, out: a, epochs: 3, patience: 10 }));
    const first = await trainModel(tiny({ data, out: b, epochs: 3, patience: 10, stopAfter: 1 }));
    expect(first.epochs.length).toBe(1);
    const second = await trainModel(tiny({ data, out: b, epochs: 3, patience: 10 }));
    expect(second.resumedFrom).toBe(1);
    expect(second.epochs.map((e) => e.epoch)).toEqual([1, 2, 3]);
    const sa = readSafetensors(path.join(a, 'state', 'state.safetensors')).tensors;
    const sb = readSafetensors(path.join(b, 'state', 'state.safetensors')).tensors;
    for (const k of ['params', 'adam_m', 'adam_v']) expect(Buffer.from(sa[k].data.buffer).equals(Buffer.from(sb[k].data.buffer))).toBe(true);
    expect(readFileSync(path.join(a, 'model.safetensors')).equals(readFileSync(path.join(b, 'model.safetensors')))).toBe(true);
  });

  it('gives the same weights for 1 and 2 threads (engine loss, dropout on)', async () => {
    const files: Buffer[] = [];
    for (const threads of [1, 2]) {
      const out = path.join(dir, `threads-${threads}`);
      await trainModel(tiny({ data, out, epochs: 2, patience: 5, threads, loss: 'engine', dropout: 0.3 }));
      files.push(readFileSync(path.join(out, 'state', 'state.safetensors')));
    }
    expect(files[0].equals(files[1])).toBe(true);
  });

  it.skipIf(noGpu !== null)('with a GPU: the loss on GPU 0 gives the CPU loss and gradients; --gpu 0 trains to the same quality', async () => {
    const r = rng(SEED + 11);
    const [N, C, R] = [5003, 64, 300];
    const hidden = Float32Array.from({ length: R * C }, () => r() * 2 - 1);
    const rows = Float32Array.from({ length: N * C }, () => (r() - 0.5) * 0.2);
    const targets = Int32Array.from({ length: R }, () => Math.floor(r() * N));
    const gpu = await EngineLossHead.create(N, C, Engine.open({ device: { gpu: 0 } }));
    const cpu = await EngineLossHead.create(N, C);
    const a = await gpu.compute(hidden, rows, targets);
    const b = await cpu.compute(hidden, rows, targets);
    gpu.dispose();
    cpu.dispose();
    // fp32 scores are the CPU's bits on the GPU (README, GPU); the sums' order differs: 1e-5 relative.
    expect(Math.abs(a.loss - b.loss)).toBeLessThan(1e-5 * b.loss);
    expect(relativeError(a.dHidden, b.dHidden)).toBeLessThan(1e-5);
    expect(relativeError(a.dRows, b.dRows)).toBeLessThan(1e-5);
    const t = await trainModel(tiny({ data, out: path.join(dir, 'gpu'), epochs: 12, patience: 12, gpu: 0, loss: 'engine' }));
    expect(Math.max(...t.epochs.map((e) => e['valid_recall@10']))).toBeGreaterThan(0.8);
  });

  it.skipIf(!cpuCapabilities().bf16)('bf16 loss scores (AVX512-BF16): the step loss stays within bf16 rounding of fp32, and the pattern is learned', async () => {
    const ds = await loadDataset(data);
    const seqs = trainingSequences(ds, 'next', 8);
    const [b] = epochBatches(seqs, { objective: 'next', maxLen: 8, batchSize: 64, seed: 1, epoch: 1, maskId: 60, maskProb: 0.2 });
    const losses: number[] = [];
    for (const precision of ['fp32', 'bf16'] as const) {
      const body = await TransformerBody.create({ items: 60, dim: 16, layers: 1, maxLen: 8, dropout: 0 }, { seed: 3, isa: 'avx512' });
      losses.push(await body.trainStep(b.body, b.targets, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, t: 1 }, precision));
      body.dispose();
    }
    // Scores of 16 products of bfloat16-rounded inputs: within 2^-8 of sum |q e| each; the mean loss moves far less than 1%.
    expect(Math.abs(losses[1] - losses[0])).toBeLessThan(0.01 * losses[0]);
    const r = await trainModel(tiny({ data, out: path.join(dir, 'bf16'), epochs: 12, patience: 12, loss: 'engine', precision: 'bf16', isa: 'avx512' }));
    expect(Math.max(...r.epochs.map((e) => e['valid_recall@10']))).toBeGreaterThan(0.8);
  });

  it('reads --data as eval does: a folder of several categories needs options.category (--category)', async () => {
    const syn = path.join(dir, 'syn-small');
    await writeSynthetic(synthConfig('demo', 3, { users: 300, items: 80 }), syn, {});
    const folder = path.join(dir, 'regen-folder');
    mkdirSync(folder, { recursive: true });
    for (const category of ['office', 'clothing']) copyFileSync(path.join(syn, 'demo.jsonl'), path.join(folder, `${category}.jsonl`));
    const out = path.join(dir, 'folder-run');
    await expect(trainModel(tiny({ data: folder, out, epochs: 1 }))).rejects.toThrow(/several categories .*pick one with options\.category clothing\|office/);
    const r = await trainModel(tiny({ data: folder, dataOptions: { category: 'office' }, out, epochs: 1 }));
    expect(r.epochs.length).toBe(1);
    expect(JSON.stringify(r.config.data.source)).toMatch(/office\.jsonl/);
  });

  it('rejects bad settings and data with the flag and the fix', async () => {
    const out = path.join(dir, 'bad');
    await expect(trainModel(tiny({ data, out, heads: 3 }))).rejects.toThrow(/options.heads expects a divisor of options.dim \(16\)/);
    await expect(trainModel(tiny({ data, out, dropout: 1 }))).rejects.toThrow(/options.dropout expects a number in \[0, 1\)/);
    await expect(trainModel(tiny({ data, out, lr: 0 }))).rejects.toThrow(/options.lr expects/);
    await expect(trainModel(tiny({ data, out, model: 'gru4rec' as 'sasrec' }))).rejects.toThrow(/options.model expects one of sasrec, bert4rec, flare/);
    await expect(trainModel(tiny({ data, out, objective: 'masked' }))).rejects.toThrow(/options.objective applies to flare only/);
    // The command line names its flags instead.
    const e = await trainModel(tiny({ data, out, heads: 3 })).catch((x: unknown) => x);
    expect(isOptionProblem(e) && e.as(flagLabel)).toMatch(/--heads expects a divisor of --dim \(16\)/);
    const short = path.join(dir, 'short.txt');
    writeFileSync(short, '1 1 2\n2 2 3\n');
    await expect(trainModel(tiny({ data: short, out }))).rejects.toThrow(TrainUsageError);
    await expect(trainModel(tiny({ data: path.join(dir, 'missing.txt'), out }))).rejects.toThrow(/no such file/);
    // Another run's folder is not overwritten.
    await expect(trainModel(tiny({ data, out: path.join(dir, 'sasrec'), dim: 8 }))).rejects.toThrow(/holds a run with other settings/);
  });
});
