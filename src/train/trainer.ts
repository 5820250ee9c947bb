// `regen-bench train` as a library call: SASRec, BERT4Rec and a FLARE-style model trained natively
// on the full catalogue. The body (regen/train.h) runs forward and backward on the CPU; the loss is
// the fused full-catalogue cross-entropy of the item table (CPU or GPU). After every epoch the valid
// split is ranked by the engine (full ranking, history excluded) for early stopping on NDCG@10, the
// best parameters are written as the checkpoint, and the epoch's state is saved so an interrupted
// run continues from the last completed epoch with the same result.
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import type { Dataset } from '../data/dataset.js';
import { loadDataset, type LoadOptions } from '../data/load.js';
import type { EvalSplit } from '../data/splits.js';
import { Engine, type Device } from '../engine/engine.js';
import { TransformerBody, type BodyConfig } from '../engine/train-kernels.js';
import { rankWithEngine } from '../models/engine-ranking.js';
import { ExampleSet } from '../tasks/examples.js';
import { writeFileAtomic } from '../util/files.js';
import { OptionRangeError, type OptionLabel } from '../util/option-error.js';
import type { ProgressFn } from '../util/progress.js';
import { rng } from '../util/random.js';
import { VERSION } from '../version.js';
import { CHECKPOINT_FORMAT, readSafetensors, TRAIN_MODELS, writeSafetensors, type CheckpointConfig, type Tensor, type TrainModelName } from './checkpoint.js';
import { encodeRows, epochBatches, trainingSequences, type CritiqueFeatures, type Objective, type ScoringRows } from './data.js';
import { EngineLossHead } from './engine-loss.js';
import { ReferenceLossHead, type LossHead } from './loss.js';
import { critiqueFeatures, itemContentText, openTextEncoder, type TextEncoderInfo } from './text-features.js';

export interface TrainOptions {
  model: TrainModelName;
  /** A dataset source, as eval reads it (REGEN jsonl, prepared folder, sequences file, MiniOneRec folder, demo). */
  data: string;
  /** How `data` is read, as eval reads it (a category of a folder, the format, a schema, the cache folder). */
  dataOptions?: Pick<LoadOptions, 'category' | 'format' | 'schema' | 'cacheDir'>;
  /** The checkpoint folder (created; an unfinished run there is resumed). */
  out: string;
  /** Most epochs (default 200); training stops earlier after `patience` epochs without a better valid NDCG@10. */
  epochs?: number;
  patience?: number;
  dim?: number;
  layers?: number;
  heads?: number;
  maxLen?: number;
  dropout?: number;
  attnDropout?: number;
  lr?: number;
  /** Sequences per batch. */
  batch?: number;
  weightDecay?: number;
  seed?: number;
  threads?: number;
  isa?: 'scalar' | 'avx2' | 'avx512' | 'auto';
  /** Run the loss (the item table's cross-entropy) on this GPU; the body stays on the CPU. */
  gpu?: number;
  /** The loss's scores: 'fp32' (default), or 'bf16' (twice the rate on CPUs with AVX512-BF16 and GPUs of compute capability 8.0+). */
  precision?: 'fp32' | 'bf16';
  /** bert4rec (and flare with objective masked): probability that a position is masked. */
  maskProb?: number;
  /** flare: the probability a critique is withheld in training. */
  critiqueDropout?: number;
  /** flare: 'next' (default) or 'masked'. */
  objective?: Objective;
  /** flare: a sentence encoder (hub id or folder), or 'builtin'; default: all-MiniLM-L6-v2 when cached, else builtin. */
  textEncoder?: string;
  offline?: boolean;
  /** Valid users ranked after each epoch (a seeded sample when the split is larger; default 100,000). */
  validUsers?: number;
  /** 'engine' (default): the fused cross-entropy; 'reference': the float64 unfused one (tests, tiny data). */
  loss?: 'engine' | 'reference';
  /** Stop after this many epochs of this call (for tests of resuming); the run stays resumable. */
  stopAfter?: number;
  strict?: boolean;
  dataProgress?: ProgressFn;
  progress?: (p: TrainProgress) => void;
  log?: (line: string) => void;
}

export interface TrainProgress {
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  /** Target positions done this epoch, and per second. */
  positions: number;
  positionsPerSecond: number;
  /** Running mean loss of the epoch. */
  loss: number;
}

export interface EpochRecord {
  epoch: number;
  seconds: number;
  loss: number;
  positions: number;
  positions_per_s: number;
  'valid_recall@10': number;
  'valid_ndcg@10': number;
  /** flare with critiques: the valid metrics with critiques shown (task 2); the plain ones are task 1. */
  'valid_critique_recall@10'?: number;
  'valid_critique_ndcg@10'?: number;
  /** What early stopping compares. */
  score: number;
  best: boolean;
}

export interface TrainResult {
  dir: string;
  config: CheckpointConfig;
  epochs: EpochRecord[];
  /** The epoch whose parameters the checkpoint holds. */
  bestEpoch: number;
  stoppedEarly: boolean;
  resumedFrom: number | null;
}

export class TrainUsageError extends Error {
  override name = 'TrainUsageError';
}

interface Settings {
  model: TrainModelName;
  objective: Objective;
  body: BodyConfig;
  epochs: number;
  patience: number;
  lr: number;
  batch: number;
  weightDecay: number;
  seed: number;
  maskProb: number;
  critiqueDropout: number;
  validUsers: number;
  precision: 'fp32' | 'bf16';
  content: boolean;
  critiques: boolean;
}

/** An option error naming `options.x` in the library and `--x` on the command line. */
function check(cond: boolean, option: string, expected: string | ((label: OptionLabel) => string), got: unknown): void {
  if (!cond)
    throw new OptionRangeError(option, (label) => `${label(option)} expects ${typeof expected === 'string' ? expected : expected(label)} but received ${JSON.stringify(got)}`);
}

const isInt = (v: unknown, lo: number, hi: number) => typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;
const isNum = (v: unknown, lo: number, hi: number, hiOpen = false) => typeof v === 'number' && v >= lo && (hiOpen ? v < hi : v <= hi);

/** Defaults and checks: the literature's settings for SASRec / BERT4Rec with full cross-entropy. */
export function resolveSettings(o: TrainOptions, items: number): Settings {
  check((TRAIN_MODELS as readonly string[]).includes(o.model), 'model', `one of ${TRAIN_MODELS.join(', ')}`, o.model);
  const objective: Objective = o.model === 'sasrec' ? 'next' : o.model === 'bert4rec' ? 'masked' : (o.objective ?? 'next');
  if (o.objective !== undefined && o.model !== 'flare')
    throw new OptionRangeError('objective', (label) => `${label('objective')} applies to flare only (${o.model} trains with ${objective === 'next' ? 'next-item' : 'masked-item'} prediction)`);
  check(objective === 'next' || objective === 'masked', 'objective', 'next or masked', objective);
  const dim = o.dim ?? 64;
  const heads = o.heads ?? 1;
  check(isInt(dim, 1, 4096), 'dim', 'an integer in [1, 4096]', dim);
  check(isInt(heads, 1, dim) && dim % heads === 0, 'heads', (label) => `a divisor of ${label('dim')} (${dim})`, heads);
  const layers = o.layers ?? 2;
  check(isInt(layers, 0, 32), 'layers', 'an integer in [0, 32]', layers);
  const maxLen = o.maxLen ?? 50;
  check(isInt(maxLen, objective === 'masked' ? 2 : 1, 4096), 'maxLen', `an integer in [${objective === 'masked' ? 2 : 1}, 4096]`, maxLen);
  // RecBole's defaults: 0.5 for SASRec (and the FLARE-style model on its body), 0.2 for BERT4Rec,
  // whose masking already perturbs the inputs. On Beauty, SASRec reached test NDCG@10 0.0575 at
  // 0.5 against 0.053 at 0.2.
  const dropout = o.dropout ?? (o.model === 'bert4rec' ? 0.2 : 0.5);
  check(isNum(dropout, 0, 1, true), 'dropout', 'a number in [0, 1)', dropout);
  const attnDropout = o.attnDropout ?? dropout;
  check(isNum(attnDropout, 0, 1, true), 'attnDropout', 'a number in [0, 1)', attnDropout);
  const lr = o.lr ?? 1e-3;
  check(isNum(lr, 0, 10) && lr > 0, 'lr', 'a number in (0, 10]', lr);
  const batch = o.batch ?? 128;
  check(isInt(batch, 1, 1 << 20), 'batch', 'an integer >= 1 (sequences per batch)', batch);
  const epochs = o.epochs ?? 200;
  check(isInt(epochs, 1, 1 << 20), 'epochs', 'an integer >= 1', epochs);
  const patience = o.patience ?? 10;
  check(isInt(patience, 1, 1 << 20), 'patience', 'an integer >= 1', patience);
  const weightDecay = o.weightDecay ?? 0;
  check(isNum(weightDecay, 0, 10), 'weightDecay', 'a number in [0, 10]', weightDecay);
  const seed = o.seed ?? 0;
  check(isInt(seed, 0, 2 ** 32 - 1), 'seed', 'an integer in [0, 2^32)', seed);
  const maskProb = o.maskProb ?? 0.2;
  check(isNum(maskProb, 0, 1) && maskProb > 0, 'maskProb', 'a number in (0, 1]', maskProb);
  const critiqueDropout = o.critiqueDropout ?? 0.5;
  check(isNum(critiqueDropout, 0, 1, true), 'critiqueDropout', 'a number in [0, 1)', critiqueDropout);
  const validUsers = o.validUsers ?? 100_000;
  check(isInt(validUsers, 1, 2 ** 31 - 1), 'validUsers', 'an integer >= 1', validUsers);
  const precision = o.precision ?? 'fp32';
  check(precision === 'fp32' || precision === 'bf16', 'precision', 'fp32 or bf16', precision);
  const flare = o.model === 'flare';
  return {
    model: o.model,
    objective,
    body: {
      items,
      dim,
      layers,
      heads,
      ffnDim: 4 * dim,
      maxLen,
      causal: objective === 'next',
      maskToken: objective === 'masked',
      contentDim: 0,
      critiqueDim: 0,
      dropout,
      attnDropout,
      initStd: 0.02,
    },
    epochs,
    patience,
    lr,
    batch,
    weightDecay,
    seed,
    maskProb,
    critiqueDropout,
    validUsers,
    precision,
    content: flare,
    critiques: flare,
  };
}

/** The valid rows ranked after each epoch: all of them, or a seeded sample of `limit`. */
function validRows(ds: Dataset, limit: number, seed: number): EvalSplit {
  const v = ds.split.valid;
  const n = v.users.length;
  if (n <= limit) return v;
  const r = rng((seed ^ 0x51ed270b) >>> 0);
  const pick = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < limit; i++) {
    const j = i + Math.floor(r() * (n - i));
    const t = pick[i];
    pick[i] = pick[j];
    pick[j] = t;
  }
  const rows = pick.subarray(0, limit).sort();
  let h = 0;
  for (const i of rows) h += v.history.offsets[i + 1] - v.history.offsets[i];
  const out: EvalSplit = {
    users: new Int32Array(limit),
    events: new Int32Array(limit),
    targets: new Int32Array(limit),
    history: { offsets: new Int32Array(limit + 1), ids: new Int32Array(h) },
  };
  let o = 0;
  rows.forEach((i, k) => {
    out.users[k] = v.users[i];
    out.events[k] = v.events[i];
    out.targets[k] = v.targets[i];
    const hist = v.history.ids.subarray(v.history.offsets[i], v.history.offsets[i + 1]);
    out.history.ids.set(hist, o);
    o += hist.length;
    out.history.offsets[k + 1] = o;
  });
  return out;
}

async function rankValid(
  ds: Dataset,
  body: TransformerBody,
  rows: Float32Array,
  valid: EvalSplit,
  o: { objective: Objective; maxLen: number; critiques: CritiqueFeatures | null; engine: Engine },
): Promise<{ recall: number; ndcg: number }> {
  const scoring: ScoringRows = { history: valid.history };
  if (o.critiques) {
    scoring.firstEvent = Int32Array.from(valid.users, (u) => ds.users.offsets[u]);
    scoring.targetCritique = Int32Array.from(valid.events, (e) => o.critiques!.row[e]);
  }
  const queries = await encodeRows(body, scoring, o);
  const table = await o.engine.createTable(rows, { dim: body.config.dim, precision: 'fp32' });
  try {
    const examples = new ExampleSet(ds, 1, 'valid', valid);
    const r = await rankWithEngine(table, queries, examples, { k: 10, excludeHistory: true });
    let recall = 0;
    let ndcg = 0;
    for (const rank of r.ranks)
      if (rank < 10) {
        recall++;
        ndcg += 1 / Math.log2(rank + 2);
      }
    return { recall: recall / r.ranks.length, ndcg: ndcg / r.ranks.length };
  } finally {
    table.dispose();
  }
}

function settingsKey(s: Settings, dataKey: string, enc: TextEncoderInfo | null, loss: string): string {
  const { epochs: _e, patience: _p, validUsers: _v, ...numerics } = s;
  return createHash('sha256').update(JSON.stringify({ numerics, dataKey, enc: enc?.fingerprint ?? null, loss })).digest('hex').slice(0, 16);
}

interface StateJson {
  key: string;
  epoch: number;
  step: number;
  bestEpoch: number;
  bestScore: number;
  badEpochs: number;
}

function tensorMap(body: TransformerBody, params: Float32Array, rows: Float32Array): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const t of body.tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    out[t.name] = { shape: t.shape, data: params.subarray(t.offset, t.offset + n) };
  }
  out.rows = { shape: [body.config.items, body.config.dim], data: rows };
  return out;
}

export async function trainModel(o: TrainOptions): Promise<TrainResult> {
  const log = o.log ?? (() => {});
  if (!o.data) throw new OptionRangeError('data', (label) => `${label('data')} is required: the dataset to train on (as eval reads it)`);
  if (!o.out) throw new OptionRangeError('out', (label) => `${label('out')} is required: the checkpoint folder to write`);
  const ds = await loadDataset(o.data, { ...o.dataOptions, progress: o.dataProgress, strict: o.strict });
  const N = ds.items.count;
  const s = resolveSettings(o, N);
  const seqs = trainingSequences(ds, s.objective, s.body.maxLen);
  if (seqs.firstEvent.length === 0)
    throw new TrainUsageError(`${o.data}: no user has enough purchases to train on (training uses each user's first n-2 purchases; ${s.objective === 'next' ? 'at least 4 purchases give one next-item target' : 'at least 3 give one'})`);
  if (ds.split.valid.users.length === 0) throw new TrainUsageError(`${o.data}: the valid split is empty (users need at least 3 purchases); early stopping needs it`);

  // Text features (flare): item content and critiques, embedded once.
  let content: Float32Array | null = null;
  let critiques: CritiqueFeatures | null = null;
  let encInfo: TextEncoderInfo | null = null;
  if (s.content) {
    const enc = await openTextEncoder(o.textEncoder, { offline: o.offline, note: log });
    try {
      encInfo = enc.info;
      log(`text encoder: ${enc.info.model} (${enc.info.dim} dimensions)`);
      content = await enc.embed(Array.from({ length: N }, (_, i) => itemContentText(ds, i)), (done, total) => o.dataProgress?.({ phase: 'embedding item texts', done, total, unit: 'rows' }));
      const c = await critiqueFeatures(ds, enc, (done, total) => o.dataProgress?.({ phase: 'embedding critiques', done, total, unit: 'rows' }));
      if (c.count > 0) critiques = c;
      log(`critiques: ${c.count.toLocaleString('en-US')} of ${ds.events.count.toLocaleString('en-US')} purchases carry one${c.count === 0 ? ' (the model trains without critique inputs)' : ''}`);
    } finally {
      await enc.dispose();
    }
    s.body.contentDim = encInfo.dim;
    s.body.critiqueDim = critiques ? encInfo.dim : 0;
  }

  const device: Device = o.gpu === undefined ? 'cpu' : { gpu: o.gpu };
  // The loss and the valid ranking run where --gpu says; the body always on the CPU.
  const engine = Engine.open({ device, isa: o.gpu === undefined ? o.isa : undefined, threads: o.gpu === undefined ? o.threads : undefined });
  const body = await TransformerBody.create(s.body, { seed: s.seed, engine: engine.backend === 'cpu' ? engine : undefined, isa: o.isa, threads: o.threads });
  let head: LossHead | null = null;
  try {
    if (content) body.setContent(content);
    // On the CPU the whole step (forward, fused loss, backward, AdamW) is one native call; on a GPU
    // the loss runs on the item table there, fed each step with the output table.
    const fused = o.loss !== 'reference' && engine.backend === 'cpu';
    if (!fused) head = o.loss === 'reference' ? new ReferenceLossHead(N, s.body.dim) : await EngineLossHead.create(N, s.body.dim, engine, s.precision);
    const lossName = head ? head.name : `engine cpu ${body.isa} ${s.precision} (fused into the body's step)`;
    if (o.gpu !== undefined) log(`the loss (item-table cross-entropy) runs on ${lossName}; the transformer body on the CPU (${body.isa}, ${body.threads} threads)`);
    const key = settingsKey(s, ds.meta.key, encInfo, o.loss ?? 'engine');
    const dir = o.out;
    const stateDir = path.join(dir, 'state');
    mkdirSync(stateDir, { recursive: true });

    // Resume from the last completed epoch of a run with the same settings.
    let epoch0 = 1;
    let step = 0;
    let bestEpoch = 0;
    let bestScore = -Infinity;
    let badEpochs = 0;
    let resumedFrom: number | null = null;
    const records: EpochRecord[] = [];
    const stateFile = path.join(stateDir, 'state.json');
    const trainLog = path.join(dir, 'train.jsonl');
    if (existsSync(stateFile)) {
      const st = JSON.parse(readFileSync(stateFile, 'utf8')) as StateJson;
      if (st.key !== key)
        throw new OptionRangeError(
          'out',
          (label) => `${dir} holds a run with other settings (data, model or hyper-parameters differ from these). Use another ${label('out')}, or delete ${dir} to start over`,
        );
      const { tensors } = readSafetensors(path.join(stateDir, 'state.safetensors'));
      body.setState('params', tensors.params.data);
      body.setState('m', tensors.adam_m.data);
      body.setState('v', tensors.adam_v.data);
      epoch0 = st.epoch + 1;
      step = st.step;
      bestEpoch = st.bestEpoch;
      bestScore = st.bestScore;
      badEpochs = st.badEpochs;
      resumedFrom = st.epoch;
      if (existsSync(trainLog))
        for (const line of readFileSync(trainLog, 'utf8').split('\n')) {
          if (!line.trim()) continue;
          const rec = JSON.parse(line) as EpochRecord;
          if (rec.epoch <= st.epoch) records.push(rec);
        }
      writeFileAtomic(trainLog, records.map((r) => JSON.stringify(r) + '\n').join(''));
      log(`resuming ${dir} after epoch ${st.epoch} (best so far: epoch ${bestEpoch})`);
    } else if (existsSync(trainLog)) rmSync(trainLog);

    const valid = validRows(ds, s.validUsers, s.seed);
    if (valid.users.length < ds.split.valid.users.length)
      log(`early stopping on a seeded sample of ${valid.users.length.toLocaleString('en-US')} of ${ds.split.valid.users.length.toLocaleString('en-US')} valid users`);
    const itemIds = Array.from({ length: N }, (_, i) => ds.items.asin.get(i) ?? String(i));
    const config: CheckpointConfig = {
      format: CHECKPOINT_FORMAT,
      model: s.model,
      objective: s.objective,
      body: s.body,
      hyper: {
        epochs: s.epochs,
        patience: s.patience,
        lr: s.lr,
        batch: s.batch,
        weightDecay: s.weightDecay,
        maskProb: s.objective === 'masked' ? s.maskProb : null,
        critiqueDropout: critiques ? s.critiqueDropout : null,
        validUsers: valid.users.length,
        lossPrecision: s.precision,
        adam: { beta1: 0.9, beta2: 0.999, eps: 1e-8 },
      },
      data: { name: ds.meta.name, key: ds.meta.key, items: N, trainSequences: seqs.firstEvent.length, source: ds.meta.source },
      seed: s.seed,
      textEncoder: encInfo,
      best: null,
      versions: { 'regen-bench': VERSION, node: process.version },
      backend: { body: `cpu-${body.isa}`, threads: body.threads, loss: lossName },
    };
    writeFileAtomic(path.join(dir, 'item_ids.txt'), itemIds.join('\n') + '\n');

    const batches = Math.ceil(seqs.firstEvent.length / s.batch);
    let stoppedEarly = badEpochs >= s.patience;
    let ran = 0;
    for (let epoch = epoch0; epoch <= s.epochs && !stoppedEarly; epoch++) {
      if (o.stopAfter !== undefined && ran >= o.stopAfter) break;
      const t0 = performance.now();
      let lossSum = 0;
      let positions = 0;
      let b = 0;
      for (const batch of epochBatches(seqs, {
        objective: s.objective,
        maxLen: s.body.maxLen,
        batchSize: s.batch,
        seed: s.seed,
        epoch,
        maskId: N,
        maskProb: s.maskProb,
        critiques,
        critiqueDropout: s.critiqueDropout,
      })) {
        step++;
        const R = batch.targets.length;
        if (R === 0) continue;
        batch.body.seed = s.seed;
        batch.body.step = step;
        const adam = { lr: s.lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: s.weightDecay, t: step };
        let loss: number;
        if (head) {
          const hidden = await body.forward(batch.body);
          const rows = await body.rows();
          const l = await head.compute(hidden, rows, batch.targets);
          loss = l.loss;
          if (Number.isFinite(loss)) await body.backward(l.dHidden, l.dRows, adam);
        } else loss = await body.trainStep(batch.body, batch.targets, adam, s.precision);
        if (!Number.isFinite(loss)) throw new Error(`the loss became ${loss} at epoch ${epoch}, step ${step}; lower the learning rate (now ${s.lr}) or raise the dropout`);
        lossSum += loss * R;
        positions += R;
        b++;
        const secs = (performance.now() - t0) / 1000;
        o.progress?.({ epoch, epochs: s.epochs, batch: b, batches, positions, positionsPerSecond: positions / Math.max(secs, 1e-9), loss: lossSum / positions });
      }
      const seconds = (performance.now() - t0) / 1000;
      const rows = await body.rows();
      const plain = await rankValid(ds, body, rows, valid, { objective: s.objective, maxLen: s.body.maxLen, critiques: null, engine });
      const rec: EpochRecord = {
        epoch,
        seconds: Math.round(seconds * 1000) / 1000,
        loss: positions ? lossSum / positions : NaN,
        positions,
        positions_per_s: Math.round(positions / seconds),
        'valid_recall@10': plain.recall,
        'valid_ndcg@10': plain.ndcg,
        score: plain.ndcg,
        best: false,
      };
      if (critiques) {
        const crit = await rankValid(ds, body, rows, valid, { objective: s.objective, maxLen: s.body.maxLen, critiques, engine });
        rec['valid_critique_recall@10'] = crit.recall;
        rec['valid_critique_ndcg@10'] = crit.ndcg;
        // One model serves both rows of the paper's table: stop on their mean.
        rec.score = (plain.ndcg + crit.ndcg) / 2;
      }
      const params = body.getState('params');
      if (rec.score > bestScore) {
        rec.best = true;
        bestScore = rec.score;
        bestEpoch = epoch;
        badEpochs = 0;
        config.best = { epoch, valid: { 'recall@10': plain.recall, 'ndcg@10': plain.ndcg, ...(critiques ? { 'critique_recall@10': rec['valid_critique_recall@10']!, 'critique_ndcg@10': rec['valid_critique_ndcg@10']! } : {}) } };
        writeSafetensors(path.join(dir, 'model.safetensors'), tensorMap(body, params, rows), { format: CHECKPOINT_FORMAT, model: s.model, epoch: String(epoch) });
        writeFileAtomic(path.join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
      } else badEpochs++;
      // The state first, then the log line: a crash between them redoes the epoch, same result.
      writeSafetensors(path.join(stateDir, 'state.safetensors'), {
        params: { shape: [params.length], data: params },
        adam_m: { shape: [params.length], data: body.getState('m') },
        adam_v: { shape: [params.length], data: body.getState('v') },
      });
      const st: StateJson = { key, epoch, step, bestEpoch, bestScore, badEpochs };
      writeFileAtomic(stateFile, JSON.stringify(st) + '\n');
      appendFileSync(trainLog, JSON.stringify(rec) + '\n');
      records.push(rec);
      ran++;
      log(
        `epoch ${epoch}: loss ${rec.loss.toFixed(4)}, ${seconds.toFixed(1)} s (${rec.positions_per_s.toLocaleString('en-US')} positions/s), valid recall@10 ${plain.recall.toFixed(4)} ndcg@10 ${plain.ndcg.toFixed(4)}` +
          (critiques ? `; with critiques ${rec['valid_critique_recall@10']!.toFixed(4)} / ${rec['valid_critique_ndcg@10']!.toFixed(4)}` : '') +
          (rec.best ? ' (best)' : ` (best: epoch ${bestEpoch})`),
      );
      if (badEpochs >= s.patience) stoppedEarly = true;
    }
    if (stoppedEarly) log(`stopped: ${s.patience} epochs without a better valid NDCG@10; the checkpoint holds epoch ${bestEpoch}`);
    if (!existsSync(path.join(dir, 'config.json'))) writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
    const final = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')) as CheckpointConfig;
    return { dir, config: final, epochs: records, bestEpoch, stoppedEarly, resumedFrom };
  } finally {
    head?.dispose();
    body.dispose();
  }
}
