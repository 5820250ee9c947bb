// Prompts (src/tasks/prompts.ts): the hybrid and LUMEN templates for tasks 1-3 on a hand-made dataset
// (exact text) and on the demo (structure, no target leakage, placeholders), the token budgets, the
// split rows, option errors, the file writer and `regen-bench prompts` as a user runs it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { beforeAll, describe, expect, it } from 'vitest';

import { DatasetBuilder } from '../src/data/builder.js';
import { NARRATIVE_KINDS, type Dataset, type DatasetMeta, type NarrativeKind } from '../src/data/dataset.js';
import { loadDataset } from '../src/data/load.js';
import { buildExamples, type TaskId } from '../src/tasks/examples.js';
import {
  buildPrompts,
  countWords,
  ID_TOKEN,
  ITEM_SLOT,
  NARRATIVE_NAMES,
  parseNarrativeKind,
  PROMPT_TEMPLATES,
  promptRows,
  truncateWords,
  writePrompts,
  type PromptLine,
  type PromptOptions,
  type PromptSplit,
} from '../src/tasks/prompts.js';
import { regenUser, scratch, writeLines } from './data-helpers.js';

const META: DatasetMeta = {
  name: 'unit',
  key: 'k'.repeat(64),
  source: { kind: 'regen', files: [], options: {} },
  report: { issues: [], unknownKeys: [], notes: [] },
  builtBy: 'test',
};

const seq = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const PENS = ['Office', 'Supplies', 'Writing', 'Pens', 'Gel'];
const LONG_DESCRIPTION = seq('d', 70).join(' '); // over the 64-word description budget
const LONG_REVIEW = seq('r', 120).join('\n'); // over the 96-word review budget, with line breaks

/**
 * u1: five purchases, the last (STAPLER, bought only here) is the test target; u2: two purchases,
 * no narratives; u3: six purchases (three train rows; a repeat of PEN5 as test target).
 */
function tinyDataset(): Dataset {
  const b = new DatasetBuilder();
  const pen7 = b.addItem('PEN7', { title: 'Gel pen 0.7mm', category: PENS, price: 2.5, description: 'Smooth gel ink,\n black.' });
  const pen5 = b.addItem('PEN5', { title: 'Gel pen 0.5mm', category: PENS, price: 2.75 });
  const paper = b.addItem('PAPER', { title: 'Copy paper', category: ['Office', 'Supplies', 'Paper'], price: 8, description: LONG_DESCRIPTION });
  const note = b.addItem('NOTE', { title: 'Spiral notebook', category: ['Office', 'Supplies', 'Paper', 'Notebooks'] });
  const stapler = b.addItem('STAPLER', { title: 'Secret target stapler', category: ['Office', 'Supplies', 'Staplers'], price: 19.99, description: 'target description xyz' });
  const nocat = b.addItem('NOCAT', { title: null });
  b.beginUser('u1');
  b.addEvent({ item: pen7, rating: 5, reviewSummary: 'Great', reviewText: 'u1 review one' });
  b.addEvent({ item: pen5, rating: 4, critique: '0.5mm, not 0.7mm', reviewSummary: 'Fine!', reviewText: 'u1 review two' });
  b.addEvent({ item: paper, rating: 3, reviewText: LONG_REVIEW });
  b.addEvent({ item: note, critique: 'A notebook, please', reviewText: 'u1 review four ID_TOKEN RECOMMENDED_ITEM' });
  b.addEvent({ item: stapler, rating: 2, critique: 'I need a stapler, not paper', reviewSummary: 'Target summary zzz', reviewText: 'target review qqq' });
  b.endUser({ purchaseReason: 'reason u1', userProfile: 'profile u1', userSummaryBrief: 'brief u1' });
  b.beginUser('u2');
  b.addEvent({ item: nocat, reviewText: 'u2 review one' });
  b.addEvent({ item: pen7, reviewText: 'u2 review two' });
  b.endUser();
  b.beginUser('u3');
  for (const [item, critique] of [[pen7], [pen5, 'finer'], [pen7, 'bolder'], [paper], [note], [pen5]] as [number, string?][])
    b.addEvent({ item, rating: 4, critique, reviewText: `u3 review of ${item}` });
  b.endUser({ purchaseReason: 'reason u3' });
  return b.finishInMemory(META);
}

const tiny = tinyDataset();
const lines = (ds: Dataset, o: PromptOptions) => {
  const set = buildPrompts(ds, o);
  return Array.from({ length: set.length }, (_, i) => set.line(i));
};
const occurrences = (text: string, word: string) => text.split(word).length - 1;

// The history blocks of u1 as the templates must write them (default budgets).
const U1_BLOCKS = (id: (asin: string) => string, critiques: boolean) => [
  `First item purchase is START ID: ${id('PEN7')} Title: Gel pen 0.7mm Category: Office > Supplies > Writing > Pens > Gel Description: Smooth gel ink, black. Price: $2.50 Rating: 5 User Review: Great. u1 review one END.`,
  `Next item purchase is START ID: ${id('PEN5')} Title: Gel pen 0.5mm Category: Office > Supplies > Writing > Pens > Gel Price: $2.75 Rating: 4 User Review: Fine! u1 review two${critiques ? ' User Critique: 0.5mm, not 0.7mm' : ''} END.`,
  `Next item purchase is START ID: ${id('PAPER')} Title: Copy paper Category: Office > Supplies > Paper Description: ${seq('d', 64).join(' ')} [...] Price: $8.00 Rating: 3 User Review: ${seq('r', 96).join(' ')} [...] END.`,
  `Next item purchase is START ID: ${id('NOTE')} Title: Spiral notebook Category: Office > Supplies > Paper > Notebooks User Review: u1 review four ID-TOKEN RECOMMENDED-ITEM${critiques ? ' User Critique: A notebook, please' : ''} END.`,
];
const OPENING = "This is the summary of a user's purchase history.";

describe('the templates, exactly (hand-made dataset)', () => {
  it('hybrid task 3: ids in the text, the critique as the request, the recommender slot, the narrative as target', () => {
    const [u1, u2, u3] = lines(tiny, { task: 3, narrative: 'purchase_reason' });
    expect(u2).toBeNull(); // no reference narrative: skipped
    const expected = [
      OPENING,
      ...U1_BLOCKS((a) => a, true),
      'User Critique for the next item purchase: I need a stapler, not paper.',
      `The last item purchase is: ${ITEM_SLOT}.`,
      'Predict the purchase reason for the last purchased item.',
    ].join(' ');
    expect(u1).toEqual({
      input: expected,
      target: 'reason u1',
      task: 3,
      template: 'hybrid',
      split: 'test',
      narrative: 'purchase_reason',
      user: 'u1',
      target_item: 'STAPLER',
      item_slot: ITEM_SLOT,
      has_critique: true,
      history: 4,
      words: countWords(expected),
      truncated: true,
      truncated_fields: { description: 1, review: 1 },
      dropped_history: 0,
    });
    expect(Object.keys(u1!).slice(0, 2)).toEqual(['input', 'target']);
    expect(u3!.target).toBe('reason u3');
    // The recommender's item fills the slot (by dense id or asin); the slot is gone.
    const set = buildPrompts(tiny, { task: 3, narrative: 'purchaseReason' });
    const filled = set.line(0, { recommended: tiny.itemId('PEN5')! })!;
    expect(filled.input).toBe(expected.replace(ITEM_SLOT, 'PEN5'));
    expect(filled.item_slot).toBeUndefined();
    expect(set.line(0, { recommended: 'NOTE' })!.input).toContain('The last item purchase is: NOTE. Predict');
    expect(() => buildPrompts(tiny, { task: 2 }).line(0, { recommended: 1 })).toThrow(/only the hybrid template of task 3 has an item slot/);
  });

  it('LUMEN task 3: ID_TOKEN for every id, the ids listed in order, target "ID: ID_TOKEN Text: <narrative>"', () => {
    const [u1] = lines(tiny, { task: 3, template: 'lumen', narrative: 'user_profile' });
    const expected = [
      OPENING,
      ...U1_BLOCKS(() => ID_TOKEN, true),
      'User Critique for the next item purchase: I need a stapler, not paper.',
      'Predict the next item purchase and the user profile for this user.',
    ].join(' ');
    expect(u1!.input).toBe(expected);
    expect(u1!.target).toBe('ID: ID_TOKEN Text: profile u1');
    expect(u1!.id_tokens).toEqual(['PEN7', 'PEN5', 'PAPER', 'NOTE']);
    expect(u1!.target_item).toBe('STAPLER');
    expect(u1!.item_slot).toBeUndefined();
    expect(occurrences(u1!.input, ID_TOKEN)).toBe(4); // the review's own "ID_TOKEN" was defused
    const [item] = lines(tiny, { task: 3, template: 'lumen', narrative: 'purchase_reason' });
    expect(item!.input.endsWith('Predict the next item purchase and the purchase reason for it.')).toBe(true);
  });

  it('tasks 1 and 2: the item as target; critiques only in task 2, each with the purchase it steered to', () => {
    const [t1] = lines(tiny, { task: 1 });
    expect(t1!.input).toBe([OPENING, ...U1_BLOCKS((a) => a, false), 'Predict the next item purchase.'].join(' '));
    expect(t1!.target).toBe('STAPLER');
    expect(t1!.has_critique).toBeUndefined();
    for (const c of ['0.5mm, not 0.7mm', 'notebook, please', 'stapler', 'Critique']) expect(t1!.input).not.toContain(c);

    const [t2, u2] = lines(tiny, { task: 2, template: 'lumen' });
    expect(t2!.input).toBe(
      [OPENING, ...U1_BLOCKS(() => ID_TOKEN, true), 'User Critique for the next item purchase: I need a stapler, not paper.', 'Predict the next item purchase.'].join(' '),
    );
    expect(t2!.target).toBe('ID: ID_TOKEN');
    expect(t2!.has_critique).toBe(true);
    // u2: no critique to the target, no request sentence; an item without title or category shows its id only.
    expect(u2!.has_critique).toBe(false);
    expect(u2!.input).toBe(`${OPENING} First item purchase is START ID: ${ID_TOKEN} User Review: u2 review one END. Predict the next item purchase.`);
  });

  it('hybrid and LUMEN are the same text up to the ids (every task, every split)', () => {
    for (const split of ['train', 'valid', 'test'] as PromptSplit[])
      for (const task of [1, 2] as TaskId[]) {
        const h = lines(tiny, { task, split });
        const l = lines(tiny, { task, split, template: 'lumen' });
        expect(h.length).toBeGreaterThan(0);
        h.forEach((hl, i) => {
          let k = 0;
          expect(l[i]!.input.replace(/ID_TOKEN/g, () => l[i]!.id_tokens![k++])).toBe(hl!.input);
          expect(k).toBe(l[i]!.id_tokens!.length);
          expect(hl!.target).toBe(l[i]!.target_item);
        });
      }
  });
});

describe('rows per split', () => {
  it('train: every train-part purchase after the first (N-3 per user); valid and test as buildExamples', () => {
    const train = promptRows(tiny, 'train');
    // u1 (5 purchases): targets at positions 1, 2; u2 (2): none; u3 (6): positions 1, 2, 3.
    expect(Array.from(train.users)).toEqual([0, 0, 2, 2, 2]);
    const o = tiny.users.offsets;
    expect(Array.from(train.events)).toEqual([o[0] + 1, o[0] + 2, o[2] + 1, o[2] + 2, o[2] + 3]);
    const t = lines(tiny, { task: 2, split: 'train' });
    expect(t.map((l) => [l!.user, l!.history, l!.target])).toEqual([
      ['u1', 1, 'PEN5'],
      ['u1', 2, 'PAPER'],
      ['u3', 1, 'PEN5'],
      ['u3', 2, 'PEN7'],
      ['u3', 3, 'PAPER'],
    ]);
    expect(t[3]!.input).toContain('User Critique: finer END. User Critique for the next item purchase: bolder. Predict');
    for (const split of ['valid', 'test'] as const) {
      const ex = buildExamples(tiny, 2, split);
      const rows = promptRows(tiny, split);
      expect(Array.from(rows.users)).toEqual(Array.from(ex.users));
      expect(Array.from(rows.events, (e) => tiny.events.item[e])).toEqual(Array.from(ex.targets));
    }
  });

  it('the demo: line counts per split, and task 3 targets are the reference narratives', async () => {
    const demo = await loadDataset('demo');
    let trainRows = 0;
    for (let u = 0; u < demo.users.count; u++) trainRows += Math.max(0, demo.users.offsets[u + 1] - demo.users.offsets[u] - 3);
    expect(promptRows(demo, 'train').users.length).toBe(trainRows);
    expect(trainRows).toBe(demo.events.count - 3 * demo.users.count); // every demo user has >= 5 purchases
    expect(promptRows(demo, 'valid').users.length).toBe(demo.users.count);
    const set = buildPrompts(demo, { task: 3, narrative: 'product_endorsement' });
    expect(set.length).toBe(3000);
    for (let i = 0; i < set.length; i += 97) expect(set.line(i)!.target).toBe(demo.users.narratives.productEndorsement.get(set.rows.users[i]));
  });
});

describe('no target leakage', () => {
  it('hand-made: nothing of the target purchase but its critique is in the input', () => {
    for (const template of PROMPT_TEMPLATES)
      for (const o of [{ task: 1 }, { task: 2 }, ...NARRATIVE_KINDS.map((k) => ({ task: 3, narrative: k }))] as PromptOptions[]) {
        const [u1] = lines(tiny, { ...o, template });
        if (!u1) continue; // u1 lacks that narrative
        for (const leak of ['STAPLER', 'Secret target stapler', 'Staplers', '19.99', 'target description xyz', 'Target summary zzz', 'target review qqq', 'Rating: 2', 'reason u1', 'profile u1', 'brief u1'])
          expect(u1.input, `${template} ${JSON.stringify(o)}: ${leak}`).not.toContain(leak);
        expect(u1.input.includes('I need a stapler, not paper')).toBe(o.task !== 1);
        expect(u1.id_tokens ?? []).not.toContain('STAPLER');
      }
  });

  it('demo, every task, split and template: the target item, its title and review are not in the input', async () => {
    const demo = await loadDataset('demo');
    const asin = (i: number) => demo.items.asin.get(i)!;
    const title = (i: number) => demo.items.title.get(i)!;
    const review = (e: number) => (demo.events.reviewText.get(e) ?? '').split(/\s+/).join(' ');
    let checked = 0;
    const combos: PromptOptions[] = [];
    for (const split of ['train', 'valid', 'test'] as PromptSplit[]) for (const task of [1, 2] as TaskId[]) combos.push({ task, split });
    for (const narrative of ['purchaseReason', 'userProfile'] as NarrativeKind[]) combos.push({ task: 3, narrative });
    for (const o of combos)
      for (const template of PROMPT_TEMPLATES) {
        const set = buildPrompts(demo, { ...o, template });
        const step = o.split === 'train' ? 11 : 4;
        for (let i = 0; i < set.length; i += step) {
          const line = set.line(i)!;
          const u = set.rows.users[i];
          const target = set.rows.events[i];
          const t = demo.events.item[target];
          const historyEvents = Array.from({ length: target - demo.users.offsets[u] }, (_, j) => demo.users.offsets[u] + j);
          const historyItems = historyEvents.map((e) => demo.events.item[e]);
          expect(line.target_item).toBe(asin(t));
          for (const kind of NARRATIVE_KINDS) {
            const n = demo.users.narratives[kind].get(u);
            if (n) expect(line.input).not.toContain(n);
          }
          if (historyItems.includes(t)) continue; // a repeat: the earlier purchase is history, shown as such
          expect(line.input).not.toContain(asin(t));
          if (!historyItems.some((h) => title(h) === title(t))) expect(line.input).not.toContain(title(t));
          const r = review(target);
          if (r && !historyEvents.some((e) => review(e).includes(r))) expect(line.input).not.toContain(r);
          checked++;
        }
      }
    expect(checked).toBeGreaterThan(10_000);
  });

  it('demo, LUMEN: one ID_TOKEN per listed id, the ids are the shown history in order', async () => {
    const demo = await loadDataset('demo');
    for (const o of [{ task: 2, split: 'train' }, { task: 3, narrative: 'user_summary_long' }] as PromptOptions[]) {
      const set = buildPrompts(demo, { ...o, template: 'lumen', budget: { total: 400 } }); // some histories cut
      let dropped = 0;
      for (let i = 0; i < set.length; i++) {
        const line = set.line(i)!;
        const target = set.rows.events[i];
        const shown = Array.from({ length: line.history }, (_, j) => demo.items.asin.get(demo.events.item[target - line.history + j]));
        expect(occurrences(line.input, ID_TOKEN)).toBe(line.id_tokens!.length);
        expect(line.id_tokens).toEqual(shown);
        expect(line.history + line.dropped_history).toBe(target - demo.users.offsets[set.rows.users[i]]);
        expect(occurrences(line.target, ID_TOKEN)).toBe(1);
        dropped += line.dropped_history;
      }
      expect(dropped).toBeGreaterThan(0);
    }
  });
});

describe('budgets', () => {
  it('words are whitespace-separated; a cut field keeps its first words and ends with [...]', () => {
    expect(countWords('  a\tb\n\nc  ')).toBe(3);
    expect(countWords('')).toBe(0);
    expect(countWords('x\u00a0y')).toBe(2);
    expect(truncateWords(' a  b\nc ', 3)).toEqual({ text: 'a b c', truncated: false });
    expect(truncateWords('a b c d', 2)).toEqual({ text: 'a b [...]', truncated: true });
  });

  it('field budgets: every cut counted per field, in the line and in the report', async () => {
    const r = lines(tiny, { task: 2, budget: { fields: { title: 2, review: 3, critique: 1 } } });
    const [u1] = r;
    expect(u1!.input).toContain('Title: Gel pen [...] ');
    expect(u1!.input).toContain('User Review: Great. u1 review [...] END.');
    expect(u1!.input).toContain('User Critique: 0.5mm, [...] END.');
    expect(u1!.input).toContain('User Critique for the next item purchase: I [...] Predict');
    // u1: titles cut on PEN7, PEN5 (the others have two words); reviews on all four; critiques 0.5mm, notebook, the request.
    expect(u1!.truncated_fields).toEqual({ title: 2, review: 4, critique: 3, description: 1 });
    expect(u1!.truncated).toBe(true);
    const dir = scratch();
    const res = await writePrompts(tiny, path.join(dir, 'p.jsonl'), { task: 2, budget: { fields: { title: 2, review: 3, critique: 1 } } });
    const sum = (f: 'title' | 'review' | 'critique' | 'description' | 'category') => r.reduce((s, l) => s + (l!.truncated_fields[f] ?? 0), 0);
    expect(res.truncatedFields).toEqual({ title: sum('title'), category: 0, description: sum('description'), review: sum('review'), critique: sum('critique') });
    expect(res.truncatedLines).toBe(r.filter((l) => l!.truncated).length);
    expect(res.lines).toBe(3);
    // Nothing over budget: nothing flagged.
    const [plain] = lines(tiny, { task: 1, budget: { fields: { description: 100, review: 200 } } });
    expect(plain!.truncated).toBe(false);
    expect(plain!.truncated_fields).toEqual({});
    expect(plain!.input).toContain(`User Review: ${seq('r', 120).join(' ')} END.`);
  });

  it('the total budget drops the oldest purchases first, says so, and counts them', async () => {
    const full = lines(tiny, { task: 1 })[0]!;
    const [one] = lines(tiny, { task: 1, budget: { total: full.words - 1 } });
    expect(one!.dropped_history).toBe(1);
    expect(one!.input.startsWith(`${OPENING} The oldest purchase is left out. Next item purchase is START ID: PEN5 `)).toBe(true);
    expect(one!.words).toBeLessThanOrEqual(full.words - 1);
    expect(countWords(one!.input)).toBe(one!.words);
    expect(one!.truncated).toBe(true);
    // Exactly the words of the input without the two oldest purchases: two are dropped, not more.
    const blocks = U1_BLOCKS(() => ID_TOKEN, false);
    const fits = countWords([OPENING, 'The 2 oldest purchases are left out.', blocks[2], blocks[3], 'Predict the next item purchase.'].join(' '));
    const [two] = lines(tiny, { task: 1, template: 'lumen', budget: { total: fits } });
    expect(two!.input).toContain('The 2 oldest purchases are left out. Next item purchase is START ID: ID_TOKEN Title: Copy paper');
    expect(two!.id_tokens).toEqual(['PAPER', 'NOTE']);
    expect(two!.words).toBe(fits);
    expect(lines(tiny, { task: 1, template: 'lumen', budget: { total: fits - 1 } })[0]!.dropped_history).toBe(3);
    // Too small for even one purchase: the last one stays, the line is over budget and counted.
    const dir = scratch();
    const res = await writePrompts(tiny, path.join(dir, 'p.jsonl'), { task: 1, budget: { total: 10 } });
    const written = readFileSync(path.join(dir, 'p.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as PromptLine);
    expect(written.map((l) => [l.user, l.history, l.dropped_history, l.truncated])).toEqual([
      ['u1', 1, 3, true],
      ['u2', 1, 0, false], // over budget, but nothing was cut
      ['u3', 1, 4, true],
    ]);
    expect(res).toMatchObject({ lines: 3, droppedPurchases: 7, linesWithDroppedHistory: 2, overBudget: 3, truncatedLines: 2 });
    for (const l of written) expect(countWords(l.input)).toBe(l.words);
  });
});

describe('options', () => {
  it('narrative kinds by snake_case or camelCase name; a typo names the valid ones', () => {
    for (const k of NARRATIVE_KINDS) {
      expect(parseNarrativeKind(k)).toBe(k);
      expect(parseNarrativeKind(NARRATIVE_NAMES[k])).toBe(k);
    }
    expect(Object.values(NARRATIVE_NAMES).sort()).toEqual(
      ['product_endorsement', 'purchase_reason', 'purchase_reason_explanation', 'user_summary_brief', 'user_summary_long', 'user_profile'].sort(),
    );
    expect(() => parseNarrativeKind('purchase_reasons')).toThrow(
      /Expected options.narrative to be one of purchase_reason, .*user_profile but received the string "purchase_reasons" \(did you mean purchase_reason\?\)/,
    );
    expect(() => parseNarrativeKind('poem')).toThrow(/but received the string "poem"$/);
  });

  it('bad combinations say what to do', () => {
    expect(() => buildPrompts(tiny, { task: 3 })).toThrow(/Task 3 predicts the item and a narrative: give options.narrative \(one of /);
    expect(() => buildPrompts(tiny, { task: 3, narrative: 'user_profile', split: 'train' })).toThrow(
      /needs options.split test .*narratives describe each user's last purchase .*use options.task 1 or 2/,
    );
    expect(() => buildPrompts(tiny, { task: 1, narrative: 'user_profile' })).toThrow(/options.narrative applies to task 3 only/);
    expect(() => buildPrompts(tiny, { task: 4 as TaskId })).toThrow(/Expected options.task to be 1, 2 or 3 but received the number 4/);
    expect(() => buildPrompts(tiny, { task: 1, template: 'gpt' as 'lumen' })).toThrow(/Expected options.template to be hybrid or lumen/);
    expect(() => buildPrompts(tiny, { task: 1, budget: { total: 0 } })).toThrow(/options.budget.total to be an integer >= 1/);
    expect(() => buildPrompts(tiny, { task: 1, budget: { fields: { tite: 3 } as object } })).toThrow(/options.budget.fields to name fields among title, /);
  });
});

describe('writePrompts', () => {
  const dir = scratch();

  it('writes JSON lines, reports progress, and leaves an older file untouched when it fails', async () => {
    const file = path.join(dir, 'sub', 'p.jsonl');
    const events: number[] = [];
    const res = await writePrompts(tiny, file, { task: 3, template: 'lumen', narrative: 'purchase_reason', progress: (e) => events.push(e.done) });
    expect(res).toMatchObject({ lines: 2, skippedNoNarrative: 1, withCritique: 1, task: 3, template: 'lumen', split: 'test', narrative: 'purchase_reason', dataset: META.key });
    const text = readFileSync(file, 'utf8');
    expect(res.bytes).toBe(Buffer.byteLength(text));
    expect(text.trim().split('\n').map((l) => JSON.parse(l).user)).toEqual(['u1', 'u3']);
    expect(events.at(-1)).toBe(3);
    // No user has this narrative: an error, and the earlier file is kept as it was, with no temp file beside it.
    await expect(writePrompts(tiny, file, { task: 3, narrative: 'purchase_reason_explanation' })).rejects.toThrow(
      /has no purchase_reason_explanation narratives for its 3 test users: nothing to write/,
    );
    expect(readFileSync(file, 'utf8')).toBe(text);
    expect(readdirSync(path.dirname(file))).toEqual(['p.jsonl']);
    mkdirSync(path.join(dir, 'folder'));
    await expect(writePrompts(tiny, path.join(dir, 'folder'), { task: 1 })).rejects.toThrow(/is a folder; give a file name/);
  });
});

describe('regen-bench prompts', () => {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const bin = path.join(root, 'bin', 'regen-bench.js');
  const dir = scratch();
  const env = { ...process.env, REGEN_BENCH_CACHE: path.join(dir, 'cache') };
  const run = (...args: string[]) => spawnSync(process.execPath, [bin, 'prompts', ...args], { encoding: 'utf8', env });
  let demo: Dataset;
  beforeAll(async () => {
    demo = await loadDataset('demo');
  });

  it('writes valid JSON lines for the demo and prints what it did', () => {
    const out = path.join(dir, 'lumen.jsonl');
    const r = run('--task', '3', '--narrative', 'purchase_reason', '--template', 'lumen', '--out', out);
    expect(r.stderr).not.toMatch(/regen-bench:/);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^wrote ${out}: 3,000 lines \\(task 3, test split, lumen template, purchase_reason\\)`));
    expect(r.stdout).toMatch(/budgets \(words\): total 2,048; title 32, category 32, description 64, review 96, critique 48/);
    expect(r.stdout).toMatch(/truncated: [\d,]+ lines; fields cut: title \d+, .*oldest purchases dropped/);
    const written = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as PromptLine);
    expect(written).toHaveLength(3000);
    for (const [i, l] of written.entries()) {
      expect(l.target).toBe(`ID: ID_TOKEN Text: ${demo.users.narratives.purchaseReason.get(i)}`);
      expect(l.user).toBe(demo.users.reviewerId.get(i));
      expect(occurrences(l.input, ID_TOKEN)).toBe(l.id_tokens!.length);
      expect(typeof l.truncated).toBe('boolean');
    }
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('reads other sources through --data, and prints the summary as JSON', () => {
    const src = writeLines(path.join(dir, 'office.jsonl'), [
      regenUser('U1', [{ asin: 'A' }, { asin: 'B', critique: 'smaller' }, { asin: 'C', critique: 'larger' }, { asin: 'D' }]),
      regenUser('U2', [{ asin: 'B' }, { asin: 'C' }]),
    ]);
    const out = path.join(dir, 'train.jsonl');
    const r = run('--task', '2', '--split', 'train', '--data', src, '--out', out, '--json');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ lines: 1, withCritique: 1, task: 2, split: 'train', template: 'hybrid' });
    const [line] = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as PromptLine);
    expect(line).toMatchObject({ user: 'U1', target: 'B', target_item: 'B', history: 1, has_critique: true });
    expect(line.input).toMatch(/^This is the summary of a user's purchase history\. First item purchase is START ID: A Title: Item A .* END\. User Critique for the next item purchase: smaller\. Predict the next item purchase\.$/);
    expect(line.input).not.toMatch(/larger|Item [BCD]/);
  });

  it('bad flags: a clear error naming the flag, a non-zero exit, and no output file', () => {
    const out = path.join(dir, 'bad.jsonl');
    const cases: [string[], RegExp][] = [
      [['--task', '4'], /--task expects an integer in \[1, 3\] but received '4'/], // issue 13: the shared --task parser
      [[], /required option '--task <n>' not specified/],
      [['--task', '3', '--narrative', 'purchase_reasn'], /Expected --narrative to be one of purchase_reason, .* but received the string "purchase_reasn" \(did you mean purchase_reason\?\)/],
      [['--task', '3'], /Task 3 predicts the item and a narrative: give --narrative \(one of product_endorsement|purchase_reason/],
      [['--task', '3', '--narrative', 'user_profile', '--split', 'valid'], /needs --split test .* use --task 1 or 2/],
      [['--task', '1', '--narrative', 'user_profile'], /--narrative applies to task 3 only/],
      [['--task', '1', '--split', 'tran'], /option '--split <split>' argument 'tran' is invalid. Allowed choices are train, valid, test/],
      [['--task', '1', '--template', 'p5'], /Allowed choices are hybrid, lumen/],
      [['--task', '1', '--max-words', '0'], /--max-words expects an integer in \[1, \.\.\.\] but received '0'/], // issue 13: the shared integer parser
      [['--task', '1', '--field-words', 'review=12,titel=3'], /--field-words expects field=words pairs .* but received 'titel=3'/],
      [['--task', '1', '--data', path.join(dir, 'nope.jsonl')], /nope.jsonl: no such file or folder/],
    ];
    for (const [args, message] of cases) {
      const r = run(...args, ...(args.length ? ['--out', out] : []));
      expect(r.status, args.join(' ')).not.toBe(0);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
    const folder = run('--task', '1', '--out', dir);
    expect(folder.status).toBe(1);
    expect(folder.stderr).toMatch(/--out .* is a folder; give a file name such as .*prompts.jsonl/);
    expect(existsSync(out)).toBe(false);
    writeFileSync(out, 'old\n');
    expect(run('--task', '3', '--narrative', 'nope', '--out', out).status).toBe(1);
    expect(readFileSync(out, 'utf8')).toBe('old\n');
  });
});
