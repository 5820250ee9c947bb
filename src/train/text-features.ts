// Text features for the FLARE-style model: a frozen embedding of each item's text (title, brand,
// category path) and of each critique. Either a sentence encoder (a hub id or a local folder, as
// `--semsim` takes; embeddings cached on disk) or the built-in encoder, which needs no download:
//
//   builtin-hash-v1: lower-cased word unigrams and bigrams plus character trigrams of each word
//   (with word boundaries), weighted 1 + log(count), each feature added with a random sign to 4
//   hashed coordinates of a 256-dimensional vector (a count sketch, i.e. a fixed sparse random
//   projection of the hashed n-gram space), then L2-normalised.
//
// Why: it is deterministic and offline, words and character n-grams catch shared brands, product
// words and their variants ("pen", "pens", "0.5mm"), and a sparse random projection keeps cosine
// similarities of the n-gram vectors in expectation at a fixed small width. It knows no synonyms:
// a sentence encoder does better where one is available.
import os from 'node:os';
import path from 'node:path';

import { categoryPath } from '../data/categories.js';
import type { Dataset } from '../data/dataset.js';
import { cachedEmbeddings, DEFAULT_SEMSIM_MODEL, ModelUnavailableError, SentenceEncoder } from '../metrics/text/semsim.js';
import { mix32 } from './reference.js';

export const BUILTIN_TEXT_ENCODER = 'builtin-hash-v1';
const BUILTIN_DIM = 256;
const BUILTIN_HASHES = 4;

export interface TextEncoderInfo {
  kind: 'builtin' | 'sentence';
  /** 'builtin-hash-v1', or the sentence encoder's hub id or folder. */
  model: string;
  dim: number;
  /** Identifies the weights (sentence encoders) or the algorithm version (built-in). */
  fingerprint: string;
}

export interface TextFeaturizer {
  readonly info: TextEncoderInfo;
  /** texts.length x dim, L2-normalised rows. */
  embed(texts: readonly string[], progress?: (done: number, total: number) => void): Promise<Float32Array>;
  dispose(): Promise<void>;
}

/** FNV-1a over UTF-16 code units, then mixed: a 32-bit hash of a string. */
function hashString(s: string, salt: number): number {
  let h = (0x811c9dc5 ^ salt) >>> 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return mix32(h);
}

export function builtinEmbedding(text: string, out: Float32Array): void {
  out.fill(0);
  const words = text.toLowerCase().split(/[^\p{L}\p{N}.]+/u).map((w) => w.replace(/^\.+|\.+$/g, '')).filter((w) => w.length > 0);
  const counts = new Map<string, number>();
  const add = (f: string, w: number) => counts.set(f, (counts.get(f) ?? 0) + w);
  for (let i = 0; i < words.length; i++) {
    add(`w:${words[i]}`, 1);
    if (i + 1 < words.length) add(`b:${words[i]} ${words[i + 1]}`, 1);
    const padded = `#${words[i]}#`;
    // Character trigrams share one word's weight, so long words do not dominate.
    const n = Math.max(1, padded.length - 2);
    for (let j = 0; j + 3 <= padded.length; j++) add(`c:${padded.slice(j, j + 3)}`, 1 / n);
  }
  for (const [f, c] of counts) {
    const w = c >= 1 ? 1 + Math.log(c) : c;
    for (let k = 0; k < BUILTIN_HASHES; k++) {
      const h = hashString(f, k * 0x9e3779b9);
      out[h % BUILTIN_DIM] += h & 0x80000000 ? -w : w;
    }
  }
  let norm = 0;
  for (let i = 0; i < BUILTIN_DIM; i++) norm += out[i] * out[i];
  if (norm > 0) {
    const s = 1 / Math.sqrt(norm);
    for (let i = 0; i < BUILTIN_DIM; i++) out[i] *= s;
  }
}

class BuiltinEncoder implements TextFeaturizer {
  readonly info: TextEncoderInfo = { kind: 'builtin', model: BUILTIN_TEXT_ENCODER, dim: BUILTIN_DIM, fingerprint: BUILTIN_TEXT_ENCODER };

  async embed(texts: readonly string[], progress?: (done: number, total: number) => void): Promise<Float32Array> {
    const out = new Float32Array(texts.length * BUILTIN_DIM);
    for (let i = 0; i < texts.length; i++) {
      builtinEmbedding(texts[i], out.subarray(i * BUILTIN_DIM, (i + 1) * BUILTIN_DIM));
      if (progress && (i % 4096 === 4095 || i === texts.length - 1)) progress(i + 1, texts.length);
    }
    return out;
  }

  async dispose(): Promise<void> {}
}

class SentenceFeaturizer implements TextFeaturizer {
  constructor(
    private readonly encoder: SentenceEncoder,
    readonly info: TextEncoderInfo,
    private readonly cacheDir: string | null,
  ) {}

  async embed(texts: readonly string[], progress?: (done: number, total: number) => void): Promise<Float32Array> {
    const r = await cachedEmbeddings(this.encoder, texts, this.cacheDir, progress);
    return r.data;
  }

  async dispose(): Promise<void> {
    await this.encoder.dispose();
  }
}

/**
 * The text encoder: 'builtin' gives builtin-hash-v1; a hub id or folder a sentence encoder loaded
 * as the semantic-similarity metric loads it; undefined the metric's default encoder when it is
 * available offline (in the transformers.js cache), else builtin-hash-v1 (`note` says why).
 */
export async function openTextEncoder(
  model: string | undefined,
  o: { offline?: boolean; cacheDir?: string | null; note?: (line: string) => void } = {},
): Promise<TextFeaturizer> {
  if (model === 'builtin' || model === BUILTIN_TEXT_ENCODER) return new BuiltinEncoder();
  if (model === undefined) {
    try {
      return await openTextEncoder(DEFAULT_SEMSIM_MODEL, { ...o, offline: true });
    } catch (e) {
      if (!(e instanceof ModelUnavailableError)) throw e;
      o.note?.(`text encoder: ${DEFAULT_SEMSIM_MODEL} is not available offline, so the built-in ${BUILTIN_TEXT_ENCODER} is used (pass --text-encoder MODEL for a sentence encoder)`);
      return new BuiltinEncoder();
    }
  }
  const encoder = await SentenceEncoder.load({ model, offline: o.offline });
  const probe = await encoder.embed(['probe']);
  const cacheDir =
    o.cacheDir === undefined ? path.join(process.env.REGEN_BENCH_CACHE || path.join(os.homedir(), '.cache', 'regen-bench'), 'embeddings') : o.cacheDir;
  return new SentenceFeaturizer(encoder, { kind: 'sentence', model: encoder.model, dim: probe.dim, fingerprint: encoder.fingerprint }, cacheDir);
}

/** The text an item is embedded from: title, brand and category path (root first). */
export function itemContentText(ds: Dataset, item: number): string {
  const parts = [ds.items.title.get(item), ds.items.brand.get(item)];
  if (ds.items.category[item] >= 0) parts.push(categoryPath(ds.categories, ds.items.category[item]).join(' > '));
  return parts.filter((p): p is string => !!p).join(' . ');
}

/** Every event's critique embedded once: row[e] >= 0 where event e has a critique. */
export async function critiqueFeatures(ds: Dataset, enc: TextFeaturizer, progress?: (done: number, total: number) => void) {
  const row = new Int32Array(ds.events.count).fill(-1);
  const texts: string[] = [];
  for (let e = 0; e < ds.events.count; e++) {
    if (ds.events.critique.isNull(e)) continue;
    const t = ds.events.critique.get(e);
    if (!t) continue;
    row[e] = texts.length;
    texts.push(t);
  }
  const feats = texts.length ? await enc.embed(texts, progress) : new Float32Array(0);
  return { dim: enc.info.dim, row, feats, count: texts.length };
}
