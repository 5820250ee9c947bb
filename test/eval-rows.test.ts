// Task 3's two rows evaluated together (src/eval/evaluate.ts evaluateRows): a narrative the second row
// repeats from the first is scored once, so the parts must be exactly those of each row alone; and the
// ASCII fast paths of the text normalisation consistency and the audit run on every narrative.
import { describe, expect, it } from 'vitest';

import { loadDataset } from '../src/data/load.js';
import { normalizeTitle } from '../src/data/titles.js';
import { Engine } from '../src/engine/engine.js';
import { namingWords, wordSet } from '../src/eval/consistency.js';
import { evaluate, evaluateRows, type EvalPart, type EvalSettings, type EvaluateOptions } from '../src/eval/evaluate.js';
import { Bleu } from '../src/metrics/text/bleu.js';
import { Rouge } from '../src/metrics/text/rouge.js';
import { createNarrator, createRecommender } from '../src/models/builtin.js';
import { buildExamples } from '../src/tasks/examples.js';
import { rng } from '../src/util/random.js';

describe('evaluating the rows of task 3 together', () => {
  it('gives each row exactly the part it gets alone, with narratives that differ between the rows, across chunks and resumed chunks', async () => {
    const ds = await loadDataset('demo');
    const all = buildExamples(ds, 3, 'test');
    const engine = Engine.open({ device: 'cpu' });
    // A critique-reading model: its lists, and so the template's narratives, change where a critique is shown.
    const model = createRecommender('critique-bm25:markov', { engine, fusionWeight: 0.5 });
    await model.prepare?.(all);
    const narrator = createNarrator('template');
    const sets = [all.withoutCritiques(), all];
    const options = (critiques: boolean, done?: Map<number, EvalPart>): EvaluateOptions => ({
      settings: {
        tool: 'test',
        dataset: { name: ds.meta.name, key: ds.meta.key },
        split: 'test',
        task: 3,
        critiques,
        k: 10,
        excludeHistory: true,
        model: model.name,
        narrator: narrator.name,
        bleu: new Bleu().settings,
        rouge: new Rouge().settings,
        semsim: { model: null, reason: 'test' },
        inputs: {},
        ci: { samples: 10, confidence: 0.95, seed: 0 },
        backend: engine.name,
      } satisfies EvalSettings,
      kinds: all.narrativeKinds,
      chunkRows: 700,
      done,
    });
    const alone = [await evaluate(sets[0], model, narrator, options(false)), await evaluate(sets[1], model, narrator, options(true))];
    // The rows differ somewhere (else nothing here tests the mixing of reused and fresh statistics).
    expect(alone[0].top1).not.toEqual(alone[1].top1);
    expect(alone[0].text.productEndorsement!.bleu).not.toEqual(alone[1].text.productEndorsement!.bleu);

    const together = await evaluateRows(sets, model, narrator, [options(false), options(true)]);
    expect(JSON.stringify(together)).toBe(JSON.stringify(alone));

    // Row one's second chunk comes from an interrupted run: row two's chunk is scored in full.
    const written: EvalPart[] = [];
    await evaluateRows(sets, model, narrator, [{ ...options(false), onChunk: (p) => written.push(p) }, options(true)]);
    const resumed = await evaluateRows(sets, model, narrator, [options(false, new Map([[700, written[1]]])), options(true)]);
    expect(JSON.stringify(resumed)).toBe(JSON.stringify(alone));
    model.dispose?.();
  }, 120_000);
});

describe('ASCII fast paths', () => {
  const random = rng(5);
  const alphabet = 'aZ09 -_.,;:!?\'"()[]{}#&/\\\t\n\x00\x7fxyzQRS';
  const texts = Array.from({ length: 2000 }, () => Array.from({ length: Math.floor(random() * 40) }, () => alphabet[Math.floor(random() * alphabet.length)]).join(''));
  texts.push('', ' ', 'The Pilot G2 0.5mm, not 0.7mm -- a 12-Pack of THE pens', 'and the of');

  it('normalizeTitle gives on ASCII what the Unicode letter and digit classes give', () => {
    for (const t of texts) expect(normalizeTitle(t), JSON.stringify(t)).toBe(t.normalize('NFKC').toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ').trim());
  });

  it('wordSet splits ASCII text as the naming words do, and falls back to them elsewhere', () => {
    for (const t of [...texts, 'Café crème, 12-Pack', 'ＡＢＣ　pens']) expect([...wordSet(t)], JSON.stringify(t)).toEqual([...new Set(namingWords(t))]);
    expect([...wordSet('The Pilot G2 pens, and the PILOT refills')]).toEqual(['pilot', 'g2', 'pens', 'refills']);
  });
});
