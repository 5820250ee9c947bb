// Semantic similarity through @huggingface/transformers on a tiny ONNX encoder the test writes
// itself (no download anywhere): the real loading, tokenising, mean-pooling and normalising path.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ModelUnavailableError, SentenceEncoder, semanticSimilarity } from '../src/metrics/text/semsim.js';
import { tinyExpectedEmbedding, writeTinyEncoder } from './helpers/tiny-encoder.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'regen-semsim-'));
const modelDir = path.join(dir, 'tiny-encoder');
const cacheDir = path.join(dir, 'embedding-cache');

beforeAll(() => {
  writeTinyEncoder(modelDir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cosine = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i], 0);

describe('semantic similarity (tiny local ONNX encoder)', () => {
  it('embeds as mean-pooled, L2-normalised vectors (batched, padded)', async () => {
    const enc = await SentenceEncoder.load({ model: modelDir, offline: true, batchSize: 2 });
    const texts = ['the cat sat', 'blue ink, fine tip.', 'dog', 'the cat sat on the mat'];
    const { data, dim } = await enc.embed(texts);
    await enc.dispose();
    expect(dim).toBe(6);
    const words = [['the', 'cat', 'sat'], ['blue', 'ink', ',', 'fine', 'tip', '.'], ['dog'], ['the', 'cat', 'sat', 'on', 'the', 'mat']];
    words.forEach((w, i) => {
      const expected = tinyExpectedEmbedding(w);
      Array.from(data.subarray(i * dim, (i + 1) * dim)).forEach((x, j) => expect(x).toBeCloseTo(expected[j], 5));
    });
  });

  it('scores cosine to the best reference, and caches reference embeddings on disk keyed by model and texts', async () => {
    const hyps = ['the cat sat on the mat', 'blue ink pen'];
    const refs = [['the cat sat on the mat'], ['dog', 'fine tip paper']];
    const a = await semanticSimilarity(hyps, refs, { model: modelDir, offline: true, embeddingCacheDir: cacheDir });
    expect(a.referencesCached).toBe(false);
    expect(a.scores[0]).toBeCloseTo(1, 6);
    const best = Math.max(
      cosine(tinyExpectedEmbedding(['blue', 'ink', 'pen']), tinyExpectedEmbedding(['dog'])),
      cosine(tinyExpectedEmbedding(['blue', 'ink', 'pen']), tinyExpectedEmbedding(['fine', 'tip', 'paper'])),
    );
    expect(a.scores[1]).toBeCloseTo(best, 5);
    expect(a.mean).toBeCloseTo((a.scores[0] + a.scores[1]) / 2, 12);
    expect(a.model).toBe(path.resolve(modelDir));
    const b = await semanticSimilarity(hyps, refs, { model: modelDir, offline: true, embeddingCacheDir: cacheDir });
    expect(b.referencesCached).toBe(true);
    expect(Array.from(b.scores)).toEqual(Array.from(a.scores));
    const c = await semanticSimilarity(hyps, [['the cat sat'], ['dog']], { model: modelDir, offline: true, embeddingCacheDir: cacheDir });
    expect(c.referencesCached).toBe(false); // other texts, other key
    expect(readdirSync(cacheDir, { recursive: true }).filter((f) => String(f).includes('.tmp-'))).toEqual([]);
  });

  it('offline mode says what is missing and never downloads', async () => {
    const err = await SentenceEncoder.load({ model: 'Xenova/all-MiniLM-L6-v2', offline: true, modelCacheDir: path.join(dir, 'empty-hub-cache') }).catch((e) => e);
    expect(err).toBeInstanceOf(ModelUnavailableError);
    expect(err.message).toMatch(/'Xenova\/all-MiniLM-L6-v2' is not available offline.*lacks config\.json, tokenizer\.json, tokenizer_config\.json, onnx\/model\.onnx.*Fix: run once with network/);
    const partial = path.join(dir, 'partial');
    writeTinyEncoder(partial);
    rmSync(path.join(partial, 'onnx', 'model.onnx'));
    await expect(SentenceEncoder.load({ model: partial, offline: true })).rejects.toThrow(/lacks onnx\/model\.onnx/);
    await expect(SentenceEncoder.load({ model: path.join(dir, 'nope'), offline: true })).rejects.toThrow(/does not exist/);
    expect(existsSync(path.join(dir, 'empty-hub-cache'))).toBe(false);
  });

  it('rejects mismatched inputs', async () => {
    await expect(semanticSimilarity(['a'], [], { model: modelDir, offline: true })).rejects.toThrow(/one reference list per hypothesis/);
  });
});
