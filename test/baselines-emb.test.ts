// The embedding variant of the critique-aware model (critique-emb), on a tiny ONNX sentence encoder
// the test writes itself (no download): the critique's candidates are the engine's top 100 items by
// cosine, fusion is tuned on valid, and task 1 is the base model.
import path from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import type { Dataset } from '../src/data/dataset.js';
import { loadDataset } from '../src/data/load.js';
import { SentenceEncoder } from '../src/metrics/text/semsim.js';
import { createRecommender } from '../src/models/builtin.js';
import { CritiqueFusionRecommender, itemText } from '../src/models/critique-fusion.js';
import { buildExamples } from '../src/tasks/examples.js';
import { scratch } from './data-helpers.js';
import { writeTinyEncoder } from './helpers/tiny-encoder.js';

const dir = scratch();
let demo: Dataset;
let encoderDir: string;

beforeAll(async () => {
  demo = await loadDataset('demo');
  encoderDir = writeTinyEncoder(path.join(dir, 'tiny-encoder'));
});

describe('critique-emb (tiny local encoder)', () => {
  it('retrieves the top 100 items by cosine through the engine, tunes on valid, and leaves task 1 to the base', async () => {
    const t2 = buildExamples(demo, 2);
    const model = createRecommender('critique-emb:markov', { encoder: encoderDir, offline: true }) as CritiqueFusionRecommender;
    await model.prepare(t2);
    expect(model.name).toMatch(new RegExp(`^critique-emb\\+markov\\(w=[0-9.]+,tuned-on-valid,encoder=${encoderDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}@[0-9a-f]{16}\\)$`)); // a folder's encoder named with its weights' hash

    // The critique side against a direct computation with the same encoder.
    const encoder = await SentenceEncoder.load({ model: encoderDir, offline: true });
    const items = await encoder.embed(Array.from({ length: demo.items.count }, (_, i) => itemText(demo, i)));
    const critiques = ['Blue Ink, not Red Ink.', 'I need a Fine Tip pen.', 'paper'];
    const got = await model.retriever.retrieve([...critiques, null]);
    const q = await encoder.embed(critiques);
    await encoder.dispose();
    for (let c = 0; c < critiques.length; c++) {
      const cos = Array.from({ length: demo.items.count }, (_, i) => {
        let s = 0;
        for (let j = 0; j < items.dim; j++) s += q.data[c * q.dim + j] * items.data[i * items.dim + j];
        return s;
      });
      const ids = Array.from(got.ids.subarray(got.offsets[c], got.offsets[c + 1]));
      const scores = Array.from(got.scores.subarray(got.offsets[c], got.offsets[c + 1]));
      expect(ids.length).toBeLessThanOrEqual(100);
      if (c === 0) expect(ids.length).toBe(100); // "blue ink" is close to many items
      for (let p = 0; p < ids.length; p++) {
        expect(scores[p]).toBeCloseTo(cos[ids[p]], 5);
        if (p > 0) expect(scores[p] < scores[p - 1] || (scores[p] === scores[p - 1] && ids[p] > ids[p - 1])).toBe(true);
      }
      // Nothing left out beats the last one kept (a full list of 100, or every positive cosine).
      const last = scores.length ? scores[scores.length - 1] : 0;
      const kept = new Set(ids);
      for (let i = 0; i < cos.length; i++) if (!kept.has(i)) expect(cos[i]).toBeLessThan(ids.length === 100 ? last + 1e-5 : 1e-6);
    }
    expect(got.offsets[critiques.length + 1] - got.offsets[critiques.length]).toBe(0); // no critique, no candidates

    const t1 = buildExamples(demo, 1);
    const markov = createRecommender('markov');
    await markov.prepare?.(t1);
    const a = await model.recommend(t1, { k: 10, excludeHistory: true });
    const b = await markov.recommend(t1, { k: 10, excludeHistory: true });
    expect(Array.from(a.ranks)).toEqual(Array.from(b.ranks));
    const withCritique = await model.recommend(t2, { k: 10, excludeHistory: true });
    expect(withCritique.ranks.length).toBe(t2.length);
    model.dispose();
    markov.dispose?.();
  });

  it('says which flag gives the encoder when there is none', async () => {
    const model = createRecommender('critique-emb', { encoder: path.join(dir, 'missing'), offline: true });
    await expect(model.prepare!(buildExamples(demo, 2))).rejects.toThrow(/critique-emb needs a sentence encoder \(--encoder hub-id\|folder\).*does not exist/);
  });
});
