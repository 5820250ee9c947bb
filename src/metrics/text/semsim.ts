// Semantic similarity: cosine between mean-pooled, L2-normalised sentence embeddings of prediction
// and reference, from a sentence encoder run by @huggingface/transformers (ONNX on the CPU).
// Models come from a local folder or the Hugging Face hub (downloads kept in regen-bench's cache,
// src/util/cache.ts, never inside node_modules); offline mode never touches the network and says
// exactly what is missing. Reference embeddings are cached on disk, keyed by the model and a hash of
// the texts, so scoring many systems against one reference set embeds it once.
// @huggingface/transformers is an optional dependency, imported on first use (src/util/optional-deps.ts).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { cacheDir } from '../../util/cache.js';
import { OptionError, type OptionMessage } from '../../util/option-error.js';
import { importOptional } from '../../util/optional-deps.js';

/**
 * The default encoder for users with network: sentence-transformers/all-MiniLM-L6-v2 as exported for
 * transformers.js (384 dimensions, mean pooling, about 90 MB in fp32). Stronger, slower choices with
 * mean pooling: 'Xenova/all-mpnet-base-v2' (768 d), 'Xenova/multi-qa-mpnet-base-dot-v1'.
 */
export const DEFAULT_SEMSIM_MODEL = 'Xenova/all-MiniLM-L6-v2';

export interface SemSimOptions {
  /** A hub model id (default DEFAULT_SEMSIM_MODEL) or a local folder with config.json, tokenizer.json, tokenizer_config.json and onnx/model.onnx. */
  model?: string;
  /** Never download: use a local folder or what the hub cache already holds. */
  offline?: boolean;
  /** Where hub downloads are cached (transformers.js's env.cacheDir; default the models/ folder of regen-bench's cache). */
  modelCacheDir?: string;
  /** Where reference embeddings are cached (default the embeddings/ folder of regen-bench's cache); null disables. */
  embeddingCacheDir?: string | null;
  /** Texts per forward pass (default 32). */
  batchSize?: number;
  /** ONNX weights: 'fp32' (onnx/model.onnx, default) or 'q8' (onnx/model_quantized.onnx). */
  dtype?: 'fp32' | 'q8';
  /** 'mean' (sentence-transformers default) or 'cls' (for encoders trained with CLS pooling). */
  pooling?: 'mean' | 'cls';
  onProgress?: (done: number, total: number) => void;
  /** Hears what is downloaded and from where (the CLI prints it on stderr). */
  log?: (line: string) => void;
  /** An encoder already loaded (it is left open); otherwise one is loaded and disposed per call. */
  encoder?: SentenceEncoder;
}

/** A sentence encoder that cannot be loaded (messages name the options semsim and offline as the caller calls them). */
export class ModelUnavailableError extends OptionError {
  constructor(message: string | OptionMessage) {
    super('semsim', typeof message === 'string' ? () => message : message);
  }
}

const MODEL_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json'];
const onnxFile = (dtype: 'fp32' | 'q8') => (dtype === 'q8' ? 'onnx/model_quantized.onnx' : 'onnx/model.onnx');

/** A hub model id: `name` or `owner/name` (letters, digits, '.', '_', '-'). */
const HUB_ID = /^[A-Za-z0-9][\w.-]*(\/[A-Za-z0-9][\w.-]*)?$/;

/**
 * What a model argument names: a folder here, or a hub id. A path that looks local (./x, ../x, /x, ~/x,
 * a\\b, a/b/c, x/) must exist: a missing one is an error, never a hub id to download; `owner/name`
 * is a folder when one exists here, else a hub id.
 */
export function resolveModelRef(model: string, option: string): { kind: 'folder'; dir: string } | { kind: 'hub'; id: string } {
  const expanded = model === '~' || model.startsWith('~/') ? path.join(os.homedir(), model.slice(1)) : model;
  const isDir = existsSync(expanded) && statSync(expanded).isDirectory();
  if (isDir) return { kind: 'folder', dir: path.resolve(expanded) };
  if (existsSync(expanded))
    throw new ModelUnavailableError((l) => `${l(option)} ${model} is a file; give a model folder (config.json, tokenizer.json, tokenizer_config.json, onnx/model.onnx) or a hub id`);
  if (!HUB_ID.test(model) || model.startsWith('.'))
    throw new ModelUnavailableError(
      (l) => `${l(option)} ${model}: no such folder (${path.resolve(expanded)}). A path that does not exist is not looked up on the hub; give an existing model folder, or a hub id such as ${DEFAULT_SEMSIM_MODEL}`,
    );
  return { kind: 'hub', id: model };
}

/** Whether a model argument names a folder here (or looks like a path), not a hub id. */
function isLocalFolder(model: string): boolean {
  if (model.startsWith('.') || model.startsWith('~') || path.isAbsolute(model) || !HUB_ID.test(model)) return true;
  return existsSync(model) && statSync(model).isDirectory();
}

/** sha256 over a model folder's files that decide its embeddings (weights, tokenizer, config). */
function modelHash(dir: string, dtype: 'fp32' | 'q8'): string | null {
  const h = createHash('sha256');
  for (const f of [onnxFile(dtype), ...MODEL_FILES]) {
    const file = path.join(dir, f);
    if (!existsSync(file)) return null;
    h.update(f).update('\0').update(readFileSync(file)).update('\0');
  }
  return h.digest('hex');
}

function missingFiles(dir: string, dtype: 'fp32' | 'q8'): string[] {
  return [...MODEL_FILES, onnxFile(dtype)].filter((f) => !existsSync(path.join(dir, f)));
}

/** Where hub models are downloaded: the models/ folder of regen-bench's cache (src/util/cache.ts). */
export function defaultModelCacheDir(): string {
  return cacheDir('models');
}

/** The folder of a hub model in the download cache (transformers.js's layout: <cache>/<owner>/<name>). */
function modelCacheFolder(model: string, modelCacheDir?: string): string {
  return path.join(modelCacheDir ?? defaultModelCacheDir(), model);
}

function missingFromCache(model: string, dtype: 'fp32' | 'q8', modelCacheDir?: string): string[] {
  return missingFiles(modelCacheFolder(model, modelCacheDir), dtype);
}

/** Whether a hub model is in the download cache, so that it loads offline (checked without loading transformers.js). */
export function isModelCached(model: string, options: { dtype?: 'fp32' | 'q8'; modelCacheDir?: string } = {}): boolean {
  return !isLocalFolder(model) && missingFromCache(model, options.dtype ?? 'fp32', options.modelCacheDir).length === 0;
}

type Extractor = ((texts: string[], options: { pooling: 'mean' | 'cls'; normalize: boolean }) => Promise<{ data: Float32Array; dims: number[] }>) & {
  dispose?: () => Promise<void>;
};

export class SentenceEncoder {
  private constructor(
    private readonly extractor: Extractor,
    /** The model as given (hub id) or the folder's absolute path. */
    readonly model: string,
    /** Identifies the weights for the embedding cache. */
    readonly fingerprint: string,
    readonly pooling: 'mean' | 'cls',
    readonly batchSize: number,
    /** sha256 of the weights, tokenizer and config (null when they could not be read back from the cache). */
    readonly sha256: string | null,
  ) {}

  static async load(options: SemSimOptions = {}): Promise<SentenceEncoder> {
    const model = options.model ?? DEFAULT_SEMSIM_MODEL;
    const dtype = options.dtype ?? 'fp32';
    const pooling = options.pooling ?? 'mean';
    const batchSize = options.batchSize ?? 32;
    // Checked before transformers.js is imported: a missing folder or file is the clearer error.
    const ref = resolveModelRef(model, 'semsim');
    if (ref.kind === 'hub' && options.offline) {
      const missing = missingFromCache(model, dtype, options.modelCacheDir);
      if (missing.length > 0)
        throw new ModelUnavailableError(
          (l) =>
            `semantic similarity: model '${model}' is not available offline: the model cache ${modelCacheFolder(model, options.modelCacheDir)} lacks ${missing.join(', ')}. ` +
            `Fix: run once with network access and without ${l('offline')} (it downloads into that cache), or pass a local model folder`,
        );
    }
    const { env, pipeline } = await importOptional<typeof import('@huggingface/transformers')>('@huggingface/transformers', 'semantic similarity (a sentence encoder)');
    env.cacheDir = options.modelCacheDir ?? defaultModelCacheDir();
    let id: string;
    let shown: string;
    let folder: string | null;
    if (ref.kind === 'folder') {
      const dir = ref.dir;
      const missing = missingFiles(dir, dtype);
      if (missing.length > 0)
        throw new ModelUnavailableError(
          `semantic similarity: the model folder ${dir} lacks ${missing.join(', ')}. ` +
            `A transformers.js sentence encoder folder holds ${[...MODEL_FILES, onnxFile(dtype)].join(', ')}`,
        );
      env.allowLocalModels = true;
      env.allowRemoteModels = false;
      env.localModelPath = path.dirname(dir) + path.sep;
      id = path.basename(dir);
      shown = dir;
      folder = dir;
    } else {
      id = model;
      shown = model;
      folder = env.cacheDir ? path.join(env.cacheDir, model) : null;
      // The network only when asked: a hub id without offline. The library's default models load offline.
      env.allowRemoteModels = !options.offline;
    }
    let extractor: Extractor;
    const host = String((env as { remoteHost?: string }).remoteHost ?? 'https://huggingface.co/');
    const progress_callback = (p: { status?: string; name?: string; file?: string }) => {
      // Every file fetched from the network is announced, with where it comes from and where it goes.
      if (p.status === 'download') options.log?.(`downloading ${p.name ?? id}/${p.file ?? ''} from ${host} into ${env.cacheDir ?? '(memory)'}`);
    };
    try {
      extractor = (await pipeline('feature-extraction', id, { dtype, progress_callback } as never)) as unknown as Extractor;
    } catch (e) {
      const message = (e as Error).message;
      const local = options.offline || ref.kind === 'folder';
      throw new ModelUnavailableError(
        (l) =>
          `semantic similarity: could not load '${shown}': ${message}` +
          (local
            ? ''
            : ` ('${model}' is not a folder here, so it was looked up on the Hugging Face hub: check the id, or the network; use ${l('offline')} with a local folder otherwise)`),
      );
    }
    // The weights by content: a hub id names whatever the hub served, so its cached files are hashed.
    const sha256 = folder ? modelHash(folder, dtype) : null;
    const fingerprint = sha256 ?? `hub:${model}`;
    return new SentenceEncoder(extractor, shown, `${fingerprint}|${dtype}|${pooling}`, pooling, batchSize, sha256);
  }

  /** Embeddings (rows of length dim, L2-normalised), batched. */
  async embed(texts: readonly string[], onProgress?: (done: number, total: number) => void): Promise<{ data: Float32Array; dim: number }> {
    let data = new Float32Array(0);
    let dim = 0;
    for (let start = 0; start < texts.length; start += this.batchSize) {
      const batch = texts.slice(start, start + this.batchSize);
      const t = await this.extractor(batch, { pooling: this.pooling, normalize: true });
      if (dim === 0) {
        dim = t.dims[t.dims.length - 1];
        data = new Float32Array(texts.length * dim);
      }
      data.set(t.data, start * dim);
      onProgress?.(Math.min(texts.length, start + this.batchSize), texts.length);
    }
    return { data, dim };
  }

  async dispose(): Promise<void> {
    await this.extractor.dispose?.();
  }
}

function textsHash(texts: readonly string[]): string {
  const h = createHash('sha256');
  for (const t of texts) h.update(String(t.length)).update('\0').update(t);
  return h.digest('hex');
}

/** Reference embeddings from the on-disk cache, or computed and stored (atomically). */
export async function cachedEmbeddings(encoder: SentenceEncoder, texts: readonly string[], cacheDir: string | null, onProgress?: SemSimOptions['onProgress']) {
  if (cacheDir === null) return { ...(await encoder.embed(texts, onProgress)), cached: false };
  const dir = path.join(cacheDir, createHash('sha256').update(encoder.fingerprint).digest('hex').slice(0, 24));
  const file = path.join(dir, `${textsHash(texts)}.f32`);
  if (existsSync(file)) {
    const buf = readFileSync(file);
    const dim = buf.readUInt32LE(0);
    const data = new Float32Array(buf.buffer.slice(buf.byteOffset + 4, buf.byteOffset + buf.length));
    if (dim > 0 && data.length === dim * texts.length) return { data, dim, cached: true };
  }
  const { data, dim } = await encoder.embed(texts, onProgress);
  mkdirSync(dir, { recursive: true });
  const header = Buffer.alloc(4);
  header.writeUInt32LE(dim, 0);
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, Buffer.concat([header, Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
    renameSync(tmp, file);
  } catch {
    rmSync(tmp, { force: true }); // a cache that cannot be written only costs time
  }
  return { data, dim, cached: false };
}

export interface SemSimResult {
  /** Per pair: the highest cosine over its references. */
  scores: Float64Array;
  mean: number;
  model: string;
  pooling: 'mean' | 'cls';
  dim: number;
  /** Whether the reference embeddings came from the on-disk cache. */
  referencesCached: boolean;
}

/** Cosine similarity of each hypothesis to its references (the best one when several). */
export async function semanticSimilarity(hyps: readonly string[], refs: readonly (readonly string[])[], options: SemSimOptions = {}): Promise<SemSimResult> {
  if (hyps.length !== refs.length) throw new RangeError(`Expected one reference list per hypothesis but received ${hyps.length} hypotheses and ${refs.length} reference lists`);
  const encoder = options.encoder ?? (await SentenceEncoder.load(options));
  try {
    const flat = refs.flat();
    const embeddings = options.embeddingCacheDir === undefined ? cacheDir('embeddings') : options.embeddingCacheDir;
    const r = await cachedEmbeddings(encoder, flat, embeddings, options.onProgress);
    const h = await encoder.embed(hyps);
    const dim = r.dim || h.dim;
    const scores = new Float64Array(hyps.length);
    let k = 0;
    let sum = 0;
    for (let i = 0; i < hyps.length; i++) {
      let best = -Infinity;
      for (let j = 0; j < refs[i].length; j++, k++) {
        let dot = 0;
        let na = 0;
        let nb = 0;
        for (let d = 0; d < dim; d++) {
          const a = h.data[i * dim + d];
          const b = r.data[k * dim + d];
          dot += a * b;
          na += a * a;
          nb += b * b;
        }
        const cos = na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
        if (cos > best) best = cos;
      }
      scores[i] = best;
      sum += best;
    }
    return { scores, mean: hyps.length ? sum / hyps.length : 0, model: encoder.model, pooling: encoder.pooling, dim, referencesCached: r.cached };
  } finally {
    if (!options.encoder) await encoder.dispose();
  }
}
