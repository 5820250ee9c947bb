// Semantic similarity: cosine between mean-pooled, L2-normalised sentence embeddings of prediction
// and reference, from a sentence encoder run by @huggingface/transformers (ONNX on the CPU).
// Models come from a local folder or the Hugging Face hub (downloads kept in regen-bench's cache,
// src/util/cache.ts, never inside node_modules); offline mode never touches the network and says
// exactly what is missing. Reference embeddings are cached on disk, keyed by the model and a hash of
// the texts, so scoring many systems against one reference set embeds it once.
// @huggingface/transformers is an optional dependency, imported on first use (src/util/optional-deps.ts).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
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

function isLocalFolder(model: string): boolean {
  return model.startsWith('.') || path.isAbsolute(model) || (existsSync(model) && statSync(model).isDirectory());
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
  ) {}

  static async load(options: SemSimOptions = {}): Promise<SentenceEncoder> {
    const model = options.model ?? DEFAULT_SEMSIM_MODEL;
    const dtype = options.dtype ?? 'fp32';
    const pooling = options.pooling ?? 'mean';
    const batchSize = options.batchSize ?? 32;
    // Checked before transformers.js is imported: a missing folder or file is the clearer error.
    if (!isLocalFolder(model) && options.offline) {
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
    let fingerprint: string;
    let shown: string;
    if (isLocalFolder(model)) {
      const dir = path.resolve(model);
      if (!existsSync(dir)) throw new ModelUnavailableError(`semantic similarity: the model folder ${dir} does not exist`);
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
      fingerprint = createHash('sha256').update(readFileSync(path.join(dir, onnxFile(dtype)))).update(readFileSync(path.join(dir, 'tokenizer.json'))).digest('hex');
    } else {
      id = model;
      shown = model;
      fingerprint = `hub:${model}`;
      env.allowRemoteModels = !options.offline;
    }
    let extractor: Extractor;
    try {
      extractor = (await pipeline('feature-extraction', id, { dtype })) as unknown as Extractor;
    } catch (e) {
      const message = (e as Error).message;
      const local = options.offline || isLocalFolder(model);
      throw new ModelUnavailableError(
        (l) =>
          `semantic similarity: could not load '${shown}': ${message}` +
          (local ? '' : ` (downloading needs network access to the Hugging Face hub; use ${l('offline')} with a local folder otherwise)`),
      );
    }
    return new SentenceEncoder(extractor, shown, `${fingerprint}|${dtype}|${pooling}`, pooling, batchSize);
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
