// A trained checkpoint folder (what `regen-bench train` writes and `eval --model DIR` reads):
//   config.json        model, objective, body configuration, hyper-parameters, data signature, seed,
//                      text encoder, best epoch and its valid metrics, versions
//   model.safetensors  the body's tensors by name (F32) and `rows`: the output table (items x dim)
//   item_ids.txt       the item ids (asins) of the rows, one per line, in row order
//   train.jsonl        one line per epoch: epoch, seconds, loss, positions, valid metrics
//   state/             the last completed epoch (parameters, AdamW moments, counters): resuming
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

import type { BodyConfig } from '../engine/train-kernels.js';
import { writeFileAtomic } from '../util/files.js';
import type { Objective } from './data.js';
import type { TextEncoderInfo } from './text-features.js';

export const CHECKPOINT_FORMAT = 'regen-bench-train-1';
export const TRAIN_MODELS = ['sasrec', 'bert4rec', 'flare'] as const;
export type TrainModelName = (typeof TRAIN_MODELS)[number];

export interface CheckpointConfig {
  format: typeof CHECKPOINT_FORMAT;
  model: TrainModelName;
  objective: Objective;
  body: BodyConfig;
  hyper: Record<string, unknown>;
  data: { name: string; key: string; items: number; trainSequences: number; source: unknown };
  seed: number;
  textEncoder: TextEncoderInfo | null;
  best: { epoch: number; valid: Record<string, number> } | null;
  versions: Record<string, string>;
  backend: Record<string, unknown>;
}

export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

export interface Tensor {
  shape: number[];
  data: Float32Array;
}

/** safetensors (F32 only): an 8-byte header length, the JSON header padded to 8 bytes, the data. */
export function encodeSafetensors(tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): Buffer {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new Error(`internal: tensor ${name} has shape ${t.shape} but ${t.data.length} values`);
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + 4 * n] };
    offset += 4 * n;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const head = Buffer.from(json);
  const out = Buffer.alloc(8 + head.length + offset);
  out.writeBigUInt64LE(BigInt(head.length), 0);
  head.copy(out, 8);
  let o = 8 + head.length;
  for (const t of Object.values(tensors)) {
    Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).copy(out, o);
    o += t.data.byteLength;
  }
  return out;
}

export function decodeSafetensors(buf: Buffer, file: string): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  const bad = (why: string) => new CheckpointError(`${file} is not a readable safetensors file (${why})`);
  if (buf.length < 8) throw bad('shorter than its header length');
  const n = Number(buf.readBigUInt64LE(0));
  if (n > buf.length - 8) throw bad(`header length ${n} exceeds the file`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  } catch {
    throw bad('its header is not JSON');
  }
  const base = 8 + n;
  const tensors: Record<string, Tensor> = {};
  let metadata: Record<string, string> = {};
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = v as Record<string, string>;
      continue;
    }
    const t = v as { dtype: string; shape: number[]; data_offsets: [number, number] };
    if (t.dtype !== 'F32') throw bad(`tensor ${name} has dtype ${t.dtype}; checkpoints hold F32`);
    const [b, e] = t.data_offsets;
    const count = t.shape.reduce((a, c) => a * c, 1);
    if (e - b !== 4 * count || base + e > buf.length) throw bad(`tensor ${name}'s data does not match its shape`);
    // Copied: the file's bytes need not be 4-byte aligned.
    const data = new Float32Array(count);
    Buffer.from(data.buffer).set(buf.subarray(base + b, base + e));
    tensors[name] = { shape: t.shape, data };
  }
  return { tensors, metadata };
}

export function writeSafetensors(file: string, tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): void {
  writeFileAtomic(file, encodeSafetensors(tensors, metadata));
}

export function readSafetensors(file: string) {
  if (!existsSync(file)) throw new CheckpointError(`${file} does not exist`);
  return decodeSafetensors(readFileSync(file), file);
}

export interface LoadedCheckpoint {
  dir: string;
  config: CheckpointConfig;
  tensors: Record<string, Tensor>;
  itemIds: string[];
  /** sha256 of model.safetensors (first 16 hex digits name the checkpoint in signatures). */
  hash: string;
}

/** Whether a folder looks like a `regen-bench train` checkpoint (config.json with our format). */
export function isCheckpointDir(dir: string): boolean {
  const file = path.join(dir, 'config.json');
  if (!existsSync(file)) return false;
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { format?: string }).format === CHECKPOINT_FORMAT;
  } catch {
    return false;
  }
}

export function loadCheckpoint(dir: string): LoadedCheckpoint {
  const cfgFile = path.join(dir, 'config.json');
  if (!existsSync(cfgFile))
    throw new CheckpointError(`--model ${dir}: no config.json there. A trained checkpoint is the --out folder of \`regen-bench train\` (config.json, model.safetensors, item_ids.txt)`);
  let config: CheckpointConfig;
  try {
    config = JSON.parse(readFileSync(cfgFile, 'utf8')) as CheckpointConfig;
  } catch (e) {
    throw new CheckpointError(`${cfgFile} is not JSON: ${(e as Error).message}`);
  }
  if (config.format !== CHECKPOINT_FORMAT) throw new CheckpointError(`${cfgFile} has format ${JSON.stringify(config.format)}; this regen-bench reads ${CHECKPOINT_FORMAT}`);
  const modelFile = path.join(dir, 'model.safetensors');
  if (!existsSync(modelFile))
    throw new CheckpointError(`${dir} has no model.safetensors: training has not completed an epoch yet (its state/ can be resumed with the same \`regen-bench train\` command)`);
  const buf = readFileSync(modelFile);
  const { tensors } = decodeSafetensors(buf, modelFile);
  const idsFile = path.join(dir, 'item_ids.txt');
  if (!existsSync(idsFile)) throw new CheckpointError(`${dir} has no item_ids.txt`);
  const itemIds = readFileSync(idsFile, 'utf8').split('\n');
  if (itemIds[itemIds.length - 1] === '') itemIds.pop();
  if (itemIds.length !== config.body.items) throw new CheckpointError(`${idsFile} lists ${itemIds.length} items but config.json says ${config.body.items}`);
  if (!tensors.rows || tensors.rows.data.length !== config.body.items * config.body.dim)
    throw new CheckpointError(`${modelFile} lacks the output table 'rows' (${config.body.items} x ${config.body.dim})`);
  return { dir, config, tensors, itemIds, hash: createHash('sha256').update(buf).digest('hex') };
}
