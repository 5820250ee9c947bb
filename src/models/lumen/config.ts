// A LUMEN checkpoint's config.json: sizes, special token ids and file names. Every problem is an
// error naming the file, the key and the fix. The format is documented in the README ("LUMEN
// decoding"); export scripts write it.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

import { describe } from '../../engine/validate.js';
import { parseJsonLine } from '../../util/json.js';
import { checkLimit, LimitError } from '../../util/limits.js';
import { OptionError, type OptionMessage } from '../../util/option-error.js';

export const LUMEN_FORMAT = 'regen-lumen';
export const LUMEN_FORMAT_VERSION = 1;

export interface LumenConfig {
  dir: string;
  hiddenSize: number;
  numLayers: number;
  /** Key/value heads and their size: the shape [batch, heads, past, headDim] of each cache tensor. */
  numKvHeads: number;
  headDim: number;
  textVocabSize: number;
  itemVocabSize: number;
  /** Positions the body accepts (prompt + generated tokens), or null when unbounded. */
  maxPositions: number | null;
  startTokenId: number;
  endTokenId: number;
  idTokenId: number;
  eosTokenId: number;
  /** Input embeddings (text and item rows) are multiplied by this (Gemma: sqrt(hidden_size)). */
  embeddingScale: number;
  /** Text appended to every prompt before decoding (e.g. "ID: START" to begin with the item). */
  generationPrefix: string;
  /** Text tokens never generated (default: ID_TOKEN, a placeholder for inputs only). */
  suppressTokenIds: number[];
  files: { decoder: string; weights: string; itemIds: string };
  tensors: { textHead: string; textEmbeddings: string; itemEmbeddings: string };
}

/** A checkpoint that cannot be used (the message names the option that gave it: options.model, or --model). */
export class LumenCheckpointError extends OptionError {
  override name = 'LumenCheckpointError';
  constructor(message: string | OptionMessage) {
    super('model', typeof message === 'string' ? () => message : message);
  }
}

/** Reads and checks DIR/config.json. */
export function readLumenConfig(dir: string): LumenConfig {
  const root = path.resolve(dir);
  if (!existsSync(root) || !statSync(root).isDirectory())
    throw new LumenCheckpointError((l) => `${l('model')} ${dir}: no such folder. A LUMEN checkpoint is a folder with config.json, the decoder ONNX, heads.safetensors, item_ids.txt and the tokenizer files (see the README, "LUMEN decoding")`);
  const file = path.join(root, 'config.json');
  if (!existsSync(file)) throw new LumenCheckpointError(`${file} is missing: a LUMEN checkpoint folder needs a config.json (see the README, "LUMEN decoding")`);
  let raw: Record<string, unknown>;
  try {
    checkLimit('fileBytes', statSync(file).size, file, `a config.json of ${statSync(file).size.toLocaleString('en-US')} bytes`);
    raw = parseJsonLine(readFileSync(file, 'utf8'), file) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof LimitError) throw e;
    throw new LumenCheckpointError(`${file} is not valid JSON (${(e as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new LumenCheckpointError(`${file} must hold a JSON object`);
  const fail = (key: string, expected: string): never => {
    throw new LumenCheckpointError(`${file}: "${key}" must be ${expected} but is ${raw[key] === undefined ? 'missing' : describe(raw[key])}`);
  };
  if (raw.format !== LUMEN_FORMAT) fail('format', `"${LUMEN_FORMAT}"`);
  if (raw.format_version !== LUMEN_FORMAT_VERSION)
    fail('format_version', `${LUMEN_FORMAT_VERSION} (this regen-bench reads version ${LUMEN_FORMAT_VERSION})`);
  const int = (key: string, min: number, fallback?: number): number => {
    const v = raw[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) fail(key, `an integer >= ${min}`);
    return v as number;
  };
  const str = (key: string, fallback: string): string => {
    const v = raw[key] ?? fallback;
    if (typeof v !== 'string') fail(key, 'a string');
    return v as string;
  };
  const hiddenSize = int('hidden_size', 1);
  const textVocabSize = int('text_vocab_size', 1);
  const token = (key: string) => {
    const id = int(key, 0);
    if (id >= textVocabSize) fail(key, `a text token id below text_vocab_size (${textVocabSize})`);
    return id;
  };
  const maxPositions = raw.max_position_embeddings === undefined || raw.max_position_embeddings === null ? null : int('max_position_embeddings', 1);
  const embeddingScale = raw.embedding_scale ?? 1;
  if (typeof embeddingScale !== 'number' || !Number.isFinite(embeddingScale) || embeddingScale <= 0) fail('embedding_scale', 'a positive number');
  const idTokenId = token('id_token_id');
  let suppress = [idTokenId];
  if (raw.suppress_token_ids !== undefined) {
    const s = raw.suppress_token_ids;
    if (!Array.isArray(s) || s.some((x) => typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x >= textVocabSize))
      fail('suppress_token_ids', `an array of text token ids below ${textVocabSize}`);
    suppress = s as number[];
  }
  const cfg: LumenConfig = {
    dir: root,
    hiddenSize,
    numLayers: int('num_hidden_layers', 1),
    numKvHeads: int('num_key_value_heads', 1),
    headDim: int('head_dim', 1),
    textVocabSize,
    itemVocabSize: int('item_vocab_size', 1),
    maxPositions,
    startTokenId: token('start_token_id'),
    endTokenId: token('end_token_id'),
    idTokenId,
    eosTokenId: token('eos_token_id'),
    embeddingScale: embeddingScale as number,
    generationPrefix: str('generation_prefix', ''),
    suppressTokenIds: suppress,
    files: { decoder: str('decoder', 'decoder.onnx'), weights: str('weights', 'heads.safetensors'), itemIds: str('item_ids', 'item_ids.txt') },
    tensors: {
      textHead: str('text_head_tensor', 'text_head'),
      textEmbeddings: str('text_embeddings_tensor', 'text_embeddings'),
      itemEmbeddings: str('item_embeddings_tensor', 'item_embeddings'),
    },
  };
  if (cfg.eosTokenId === cfg.startTokenId) fail('eos_token_id', 'different from start_token_id');
  if (cfg.suppressTokenIds.includes(cfg.eosTokenId) || cfg.suppressTokenIds.includes(cfg.startTokenId))
    fail('suppress_token_ids', 'free of eos_token_id and start_token_id (decoding needs both)');
  for (const [key, name] of Object.entries(cfg.files)) {
    const f = path.join(root, name);
    if (!existsSync(f)) throw new LumenCheckpointError(`${f} is missing (config.json "${key === 'itemIds' ? 'item_ids' : key}" names it)`);
  }
  return cfg;
}
