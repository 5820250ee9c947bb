// Evaluating LLM recommenders as they answer: titles resolved to catalogue items (exact id, exact
// normalised title, fuzzy; ambiguous and invented counted, never guessed), answer hygiene (duplicates,
// history items, short lists) with exact counts on crafted files, the fuzzy index against brute force,
// narrative-item consistency and text metrics by item hit, and the critique lift.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { beforeAll, describe, expect, it } from 'vitest';

import type { Dataset } from '../src/data/dataset.js';
import { loadDataset } from '../src/data/load.js';
import { compareParts } from '../src/eval/compare.js';
import { itemMentions, MENTION } from '../src/eval/consistency.js';
import { mergePartFiles } from '../src/eval/merge.js';
import { runEval } from '../src/eval/run.js';
import { computeStatsWith } from '../src/metrics/text/score.js';
import { Bleu } from '../src/metrics/text/bleu.js';
import { Rouge } from '../src/metrics/text/rouge.js';
import { answerEntries, HOW, normalizeTitle, TitleResolver } from '../src/models/title-resolver.js';
import { buildExamples } from '../src/tasks/examples.js';
import { rng } from '../src/util/random.js';
import { regenUser, scratch, writeLines, type PurchaseSpec } from './data-helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'regen-bench.js');
const SEED = Number(process.env.REGEN_TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));
const dir = scratch();
const quick = { semsim: false as const, bootstrapSamples: 200 };

// A crafted catalogue: two colour variants, a duplicated title, and items used as history.
const T = {
  black: 'Pilot G2 Premium Gel Roller Pens, Fine Point, Black, 12-Pack',
  blue: 'Pilot G2 Premium Gel Roller Pens, Fine Point, Blue, 12-Pack',
  tape: 'Scotch Magic Tape, 3/4 x 1000 Inches, 6 Rolls',
  marker: 'Sharpie Permanent Markers, Fine Point, Black, 12 Count',
  notes: 'Post-it Super Sticky Notes, 3 x 3 in, 24 Pads',
  folders: 'AmazonBasics Hanging File Folders, Letter Size, Green, 25-Pack',
  stapler: 'Swingline Classic Desktop Stapler, 20 Sheet Capacity, Black',
};
const P = (asin: string, title: string, time = 1_500_000_000, extra: Partial<PurchaseSpec> = {}): PurchaseSpec => ({ asin, title, time, ...extra });
let crafted: Dataset;
let craftedFile: string;

beforeAll(async () => {
  craftedFile = writeLines(path.join(dir, 'crafted.jsonl'), [
    regenUser('u1', [P('B0000TAPE1', T.tape), P('B000NOTES1', T.notes), P('B000BLACK1', T.black)]),
    regenUser('u2', [P('B00FOLDER1', T.folders), P('B0000BLUE1', T.blue), P('B000MARKA1', T.marker)]),
    regenUser('u3', [P('B000NOTES1', T.notes), P('B0000BLUE1', T.blue)]),
    regenUser('u4', [P('B0000TAPE1', T.tape), P('B000MARKB1', T.marker), P('B0STAPLER1', T.stapler)]),
    regenUser('u5', [P('B000BLACK1', T.black), P('B0STAPLER1', T.stapler)]),
  ]);
  crafted = await loadDataset(craftedFile, { cacheDir: path.join(dir, 'cache') });
});

const id = (asin: string) => crafted.itemId(asin)!;

describe('title resolution', () => {
  it('exact id, id inside the text, exact normalised title, fuzzy, ambiguous (duplicate titles, near-ties), invented', () => {
    const r = new TitleResolver(crafted);
    expect(r.resolve('B000BLACK1')).toEqual({ id: id('B000BLACK1'), how: HOW.id });
    expect(r.resolve(' b000black1 ')).toEqual({ id: id('B000BLACK1'), how: HOW.id });
    expect(r.resolve('Pilot pens (B0000BLUE1), my favourite')).toEqual({ id: id('B0000BLUE1'), how: HOW.id });
    expect(r.resolve('Pilot (B0000BLUE1) or (B000BLACK1)').id).toBe(-1); // two ids: not guessed
    expect(r.resolve('pilot g2 premium gel roller pens   fine point black 12 pack')).toEqual({ id: id('B000BLACK1'), how: HOW.title });
    expect(r.resolve('PILOT G2 PREMIUM GEL ROLLER PENS, FINE POINT, BLUE, 12-PACK')).toEqual({ id: id('B0000BLUE1'), how: HOW.title });
    const typo = r.resolve('Pilot G2 Premium Gel Rollr Pens, Fine Piont, Black, 12-Pack');
    expect([typo.id, typo.how]).toEqual([id('B000BLACK1'), HOW.fuzzy]);
    expect(typo.score!).toBeGreaterThan(0.8);
    // The colour left out: both variants are as close, so the answer is ambiguous, not the first one.
    const noColour = r.resolve('Pilot G2 Premium Gel Roller Pens, Fine Point, 12-Pack');
    expect(noColour.how).toBe(HOW.ambiguous);
    expect(noColour.candidates!.sort()).toEqual([id('B000BLACK1'), id('B0000BLUE1')].sort());
    // A title two catalogue items share.
    const dup = r.resolve(T.marker);
    expect([dup.id, dup.how, dup.candidates!.length]).toEqual([-1, HOW.ambiguous, 2]);
    for (const invented of ['Quantum Stapler 3000, Chrome', '', '   ', '!!!', 'Pilot'])
      expect(r.resolve(invented)).toMatchObject({ id: -1, how: HOW.unresolved });
    // --resolve exact: no fuzzy step; --resolve off: ids only.
    expect(new TitleResolver(crafted, { mode: 'exact' }).resolve('Pilot G2 Premium Gel Rollr Pens, Fine Piont, Black, 12-Pack').how).toBe(HOW.unresolved);
    expect(new TitleResolver(crafted, { mode: 'exact' }).resolve(T.tape).how).toBe(HOW.title);
    const off = new TitleResolver(crafted, { mode: 'off' });
    expect(off.resolve(T.tape).how).toBe(HOW.unresolved);
    expect(off.resolve('B0000TAPE1').how).toBe(HOW.id);
  });

  it(`the fuzzy index finds exactly the titles brute force finds above the floor (seed ${SEED})`, async () => {
    const ds = await loadDataset('demo');
    const res = new TitleResolver(ds);
    const r = rng(SEED);
    const titles = Array.from({ length: ds.items.count }, (_, i) => normalizeTitle(ds.items.title.get(i) ?? ''));
    const grams = (s: string) => {
      const p = ` ${s} `;
      const out = new Set<string>();
      for (let i = 0; i + 3 <= p.length; i++) out.add(p.slice(i, i + 3));
      return out;
    };
    const sets = titles.map(grams);
    for (let c = 0; c < 60; c++) {
      const base = titles[Math.floor(r() * titles.length)];
      const chars = [...base];
      for (let e = 0; e < 1 + Math.floor(r() * 6); e++) chars.splice(Math.floor(r() * chars.length), 1, String.fromCharCode(97 + Math.floor(r() * 26)));
      const query = normalizeTitle(chars.join(''));
      const floor = [0.6, 0.7, 0.8, 0.9][c % 4];
      const q = grams(query);
      const brute: [number, number][] = [];
      sets.forEach((s, i) => {
        let overlap = 0;
        for (const g of q) if (s.has(g)) overlap++;
        const dice = (2 * overlap) / (q.size + s.size);
        if (dice >= floor) brute.push([i, dice]);
      });
      brute.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
      const got = res.fuzzyMatches(query, floor);
      expect(got.map(([i]) => i)).toEqual(brute.map(([i]) => i));
      got.forEach(([, s], j) => expect(s).toBeCloseTo(brute[j][1], 12));
    }
  });

  it(`resolving many at once on the native kernel gives what resolving one by one in TypeScript gives (seed ${SEED})`, async () => {
    const ds = await loadDataset('demo');
    const r = rng(SEED + 1);
    const answers: string[] = [];
    for (let c = 0; c < 400; c++) {
      const t = ds.items.title.get(Math.floor(r() * ds.items.count))!;
      const chars = [...t];
      const edits = Math.floor(r() * 8);
      for (let e = 0; e < edits; e++) chars.splice(Math.floor(r() * chars.length), r() < 0.5 ? 1 : 0, String.fromCharCode(97 + Math.floor(r() * 26)));
      answers.push(r() < 0.2 ? t.split(', ').slice(0, -1).join(', ') : chars.join(''));
    }
    answers.push('', 'B0FR5WPS77', 'nothing like it at all');
    const many = await new TitleResolver(ds).resolveMany(answers);
    const one = new TitleResolver(ds);
    answers.forEach((a, i) => expect(many[i]).toEqual(one.resolve(a)));
    expect(new Set(many.map((x) => x.how)).size).toBeGreaterThanOrEqual(4); // fuzzy, ambiguous, unresolved, title, id all occur
  });

  it('the native search checks its index and queries', async () => {
    const { diceSearch } = await import('../src/engine/engine.js');
    const index = { titleOffsets: Int32Array.of(0, 2), titleGrams: Int32Array.of(0, 1), postOffsets: Int32Array.of(0, 1, 2), postTitles: Int32Array.of(0, 0) };
    const q = (grams: number[], size: number) => ({ offsets: Int32Array.of(0, grams.length), grams: Int32Array.from(grams), sizes: Int32Array.of(size) });
    const hit = await diceSearch(index, q([0, 1], 2), 0.8, 0.02, 4)!;
    expect([hit.titles[0], hit.scores[0], hit.counts[0]]).toEqual([0, 1, 1]);
    expect(() => diceSearch(index, q([1, 0], 2), 0.8, 0.02, 4)).toThrow(/queries\.grams row 0 to hold ascending distinct values in \[0, 2\)/);
    expect(() => diceSearch(index, q([0, 5], 2), 0.8, 0.02, 4)).toThrow(/in \[0, 2\) but it holds 5/);
    expect(() => diceSearch(index, q([0, 1], 1), 0.8, 0.02, 4)).toThrow(/queries\.sizes\[0\] >= its 2 known trigrams/);
    expect(() => diceSearch(index, q([0], 1), 0, 0.02, 4)).toThrow(/floor in \(0, 1\]/);
    expect(() => diceSearch({ ...index, postTitles: Int32Array.of(0, 3) }, q([0], 1), 0.5, 0, 4)).toThrow(/index\.postTitles row 1/);
  });

  it('free text: one entry per line or numbered item, markers and quotes removed', () => {
    expect(answerEntries('1. Pilot pens\n2) "Scotch tape"\n\n- Post-it notes\n• Stapler')).toEqual(['Pilot pens', 'Scotch tape', 'Post-it notes', 'Stapler']);
    expect(answerEntries('1. Pilot pens 2. Scotch tape 3) Post-it notes')).toEqual(['Pilot pens', 'Scotch tape', 'Post-it notes']);
    expect(answerEntries('Just one product')).toEqual(['Just one product']);
    expect(answerEntries('')).toEqual([]);
  });
});

describe('answer hygiene', () => {
  it('counts every entry of crafted answers exactly, and says how each counted in the metrics', async () => {
    const file = writeLines(path.join(dir, 'llm.jsonl'), [
      // u1 (target black; history tape, notes): a history item, the target by typo, the target again, an invented product.
      { user: 'u1', titles: [T.tape, 'Pilot G2 Premium Gel Rollr Pens, Fine Point, Black, 12-Pack', T.black, 'Quantum Stapler 3000'] },
      // u2 (target marker A, whose title marker B shares): ambiguous with the target among its items, then a history item by id.
      { user: 'u2', text: `1. ${T.marker}\n2. B0000BLUE1 is great` },
      // u3 (target blue): ids, one unknown.
      { user: 'u3', items: ['B0000BLUE1', 'NOT-AN-ID'] },
      // u4: an empty answer. u5: no line at all.
      { user: 'u4', titles: [] },
    ]);
    const r = await runEval({ ...quick, data: craftedFile, dataOptions: { cacheDir: path.join(dir, 'cache') }, task: 1, predictions: file, k: 3 });
    const a = (r.json as { answers: Record<string, unknown> }).answers;
    expect(a).toMatchObject({
      entries: 8,
      resolved_id: 2, // u2's history item, u3's blue
      resolved_title: 2, // u1's tape and black
      resolved_fuzzy: 1,
      ambiguous: 1,
      unresolved: 2, // u1's invented, u3's unknown id
      duplicates: 1, // u1's black, named twice
      history: 2, // u1's tape, u2's blue
      short_lists: 5, // every list has fewer than 3 rankable items
      lines: 5,
      k: 3,
      ambiguous_with_target: 1,
    });
    const perExample = a.per_example as Record<string, { examples: number; mean_rate: number }>;
    expect(perExample.unresolved.examples).toBe(2);
    expect(perExample.unresolved.mean_rate).toBeCloseTo((1 / 4 + 1 / 2) / 5, 12);
    expect((a.counted_as as Record<string, string>).history).toMatch(/removed with the history/);
    // The metrics: u1's target at rank 0 (the history item removed, the duplicate dropped), u3's at 0; u2's ambiguous entry is not credited.
    expect(r.parts[0].ranks).toEqual([0, null, 0, null, null]);
    expect(r.markdown).toMatch(/## Answers/);
    expect(r.markdown).toMatch(/1 ambiguous entries had the target among their items \(not credited\)/);
    expect((r.json as { signature: string }).signature).toContain('model:predictions:llm.jsonl+resolve:fuzzy(dice>=0.8,margin=0.02)');

    // --resolve exact: the typo is unresolved (u1's exact title after it still counts).
    const exact = await runEval({ ...quick, data: craftedFile, dataOptions: { cacheDir: path.join(dir, 'cache') }, task: 1, predictions: file, k: 3, resolve: 'exact' });
    expect((exact.json as { answers: Record<string, number> }).answers).toMatchObject({ resolved_fuzzy: 0, unresolved: 3, duplicates: 0 });
    await expect(runEval({ ...quick, data: craftedFile, dataOptions: { cacheDir: path.join(dir, 'cache') }, task: 1, predictions: file, resolve: 'maybe' as never })).rejects.toThrow(/options\.resolve to be one of fuzzy, exact, off/);
    // Bad answer fields are counted as bad lines, not guessed.
    const bad = writeLines(path.join(dir, 'bad.jsonl'), [{ user: 'u1', titles: 'not a list' }, { user: 'u2', text: 5 }, { user: 'u3', items: ['B0000BLUE1'], titles: ['x'] }]);
    const rb = await runEval({ ...quick, data: craftedFile, dataOptions: { cacheDir: path.join(dir, 'cache') }, task: 1, predictions: bad });
    expect((rb.json as { answers: Record<string, number> }).answers).toMatchObject({ entries: 1, resolved_id: 1 });
  });

  it('built-in models: clean id lists; the history counted when kept', async () => {
    const kept = await runEval({ ...quick, task: 1, model: 'pop', excludeHistory: false });
    const a = (kept.json as { answers: Record<string, number> }).answers;
    expect(a.entries).toBe(30_000);
    expect(a.resolved_id).toBe(30_000);
    expect(a.duplicates).toBe(0);
    expect(a.history).toBeGreaterThan(0);
    const excluded = await runEval({ ...quick, task: 1, model: 'pop' });
    expect((excluded.json as { answers: Record<string, number> }).answers).toMatchObject({ history: 0, short_lists: 0 });
  });

  it('the CLI takes --resolve', () => {
    const file = writeLines(path.join(dir, 'cli.jsonl'), [{ user: 'u1', titles: [T.black] }]);
    const r = spawnSync(process.execPath, [bin, 'eval', '--data', craftedFile, '--cache-dir', path.join(dir, 'cache'), '--task', '1', '--predictions', file, '--resolve', 'off', '--json', '--bootstrap', '20'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).answers).toMatchObject({ entries: 1, unresolved: 1 });
    const bad = spawnSync(process.execPath, [bin, 'eval', '--resolve', 'sometimes'], { encoding: 'utf8' });
    expect(bad.stderr).toMatch(/--resolve.*sometimes.*fuzzy, exact, off/);
  });
});

describe('narrative-item consistency and text by item hit', () => {
  it('names an item by brand and product type or most of its weight; not a random item', async () => {
    const ds = await loadDataset('demo');
    const m = itemMentions(ds);
    const words = (s: string) => new Set(normalizeTitle(s).split(' '));
    const title = ds.items.title.get(0)!; // "Halley MaxForm Tear-Resistant Security Tint Envelopes, #10, 24-Pack"
    expect(m.names(0, words(`Try the ${title}.`))).toBe(true);
    expect(m.names(0, words('They bought the Halley security tint envelopes for their office.'))).toBe(true);
    expect(m.names(0, words('They bought envelopes for their office.'))).toBe(false);
    expect(m.names(0, words('A shopper who loves colored pencils.'))).toBe(false);
    expect(m.names(-1, words(title))).toBe(false);
  });

  it('splits the text metrics by hit exactly (the parts of each split scored alone agree) and counts what each narrative names', async () => {
    const r = await runEval({ ...quick, model: 'sknn', narrator: 'template' });
    const json = r.json as { text_by_hit: Record<string, { hit: { n: number; bleu: number; rougeL: number }; miss: { n: number; bleu: number } }>; consistency: Record<string, { pairs: number; hits: number; miss: { n: number; recommended_only: number; both: number; target_only: number; neither: number } }> };
    const part = r.parts[r.parts.length - 1];
    const examples = buildExamples(await loadDataset('demo'), 3);
    const hits = part.ranks.filter((x) => x === 0).length;
    expect(hits).toBeGreaterThan(20);
    for (const [kind, split] of Object.entries(json.text_by_hit)) {
      expect(split.hit.n + split.miss.n).toBe(3000);
      expect(split.hit.n).toBe(hits);
      expect(json.consistency[kind].pairs).toBe(3000);
      expect(json.consistency[kind].hits).toBe(hits);
    }
    // The template names the recommended item in every endorsement: every miss names it.
    const e = json.consistency.product_endorsement.miss;
    expect(e.recommended_only + e.both).toBe(e.n);
    // Scored alone, the hit pairs give the split's BLEU and ROUGE-L.
    const narrator = (await import('../src/models/template-narrator.js')).TemplateNarrator;
    const top = new Int32Array(3000).fill(-1);
    part.top1.forEach((t, i) => (top[i] = t));
    const texts = new narrator().narrate(examples, top, 1, ['productEndorsement']).productEndorsement;
    const pairs = part.ranks.map((x, i) => [x, i] as const).filter(([x]) => x === 0).map(([, i]) => ({ hyp: texts[i], refs: [examples.narrative(i, 'productEndorsement')!] }));
    const stats = await computeStatsWith(pairs, new Bleu(), new Rouge());
    expect(json.text_by_hit.product_endorsement.hit.bleu).toBeCloseTo(new Bleu().corpus(stats.bleu, pairs.length).score, 9);
    expect(json.text_by_hit.product_endorsement.hit.rougeL).toBeCloseTo(new Rouge().means(stats.rouge, pairs.length).rougeL!.fmeasure, 12);
    // Mention codes travel with their pairs.
    expect(part.mentions!.productEndorsement!.every((c) => (c & MENTION.recommended) !== 0)).toBe(true);
  });
});

describe('critique lift', () => {
  it('task 2 with a critique-reading model: both rows, paired differences as compare computes them, split by critique', async () => {
    const out = path.join(dir, 'lift');
    const r = await runEval({ ...quick, task: 2, model: 'critique-bm25:markov', fusionWeight: 0.5, out });
    expect(r.parts).toHaveLength(2);
    type Split = { n: number; metrics: { metric: string; without: number; with: number; delta: number; low: number; high: number; p_randomisation: number }[] };
    const lift = (r.json as { critique_lift: { all: Split; with_critique: Split; without_critique: Split } }).critique_lift;
    expect(lift.with_critique.n + lift.without_critique.n).toBe(3000);
    expect(lift.with_critique.n).toBe(530);
    // Without a critique the model ranks as its base, bit for bit.
    for (const m of lift.without_critique.metrics) expect([m.delta, m.low, m.high]).toEqual([0, 0, 0]);
    const recall = lift.with_critique.metrics.find((m) => m.metric === 'recall@10')!;
    expect(recall.delta).toBeGreaterThan(0.1);
    expect(recall.low).toBeGreaterThan(0);
    expect(recall.p_randomisation).toBeLessThan(0.01);
    // The same numbers as compare on the two parts.
    const c = compareParts(r.parts[0], r.parts[1], { samples: 200, seed: 0 });
    const all = c.metrics.find((m) => m.metric === 'recall@10')!;
    expect(lift.all.metrics.find((m) => m.metric === 'recall@10')).toMatchObject({ without: all.a, with: all.b, delta: all.delta, low: all.low, high: all.high });
    expect(r.markdown).toMatch(/## Critique lift/);
    // merge gives the same lift from the folder.
    const merged = await mergePartFiles([out]);
    expect(merged.json.critique_lift).toEqual((r.json as { critique_lift: unknown }).critique_lift);
    // A model that reads no critiques has one row and no lift.
    const sknn = await runEval({ ...quick, task: 2, model: 'markov' });
    expect(sknn.parts).toHaveLength(1);
    expect((sknn.json as { critique_lift?: unknown }).critique_lift).toBeUndefined();
  });
});
