// The leakage audit on crafted leaks: a repeat target, critiques naming the target by title and by
// id, a user summary naming it, a test sequence inside (and equal to) another user's training
// sequence, targets bought by others in training only after the test time; the CLI, the report line,
// and shards adding up to the single run.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { beforeAll, describe, expect, it } from 'vitest';

import { auditLeakage, leakageCounts, namesItem } from '../src/data/audit.js';
import type { Dataset } from '../src/data/dataset.js';
import { loadDataset } from '../src/data/load.js';
import { mergePartFiles } from '../src/eval/merge.js';
import { runEval } from '../src/eval/run.js';
import { regenUser, scratch, writeLines, type PurchaseSpec } from './data-helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'regen-bench.js');
const dir = scratch();
const DAY = 86_400;
const t0 = 1_500_000_000;
const P = (asin: string, day: number, extra: Partial<PurchaseSpec> = {}): PurchaseSpec => ({ asin, title: `Title of ${asin} Deluxe`, time: t0 + day * DAY, ...extra });
let file: string;
let ds: Dataset;

beforeAll(async () => {
  file = writeLines(path.join(dir, 'leaky.jsonl'), [
    // u1: the target (B0000AAAA1) is also an earlier purchase.
    regenUser('u1', [P('B0000AAAA1', 1), P('B0000BBBB1', 2), P('B0000AAAA1', 3)]),
    // u2: the critique steering to the target names its title; u3: its id.
    regenUser('u2', [P('B0000CCCC1', 1), P('B0000DDDD1', 2, { critique: 'I want the title of b0000dddd1 deluxe, please' })]),
    regenUser('u3', [P('B0000CCCC1', 1), P('B0000EEEE1', 2, { critique: 'Something like B0000EEEE1 instead' })]),
    // u4: a critique that names another item only (no leak), and a long summary naming the target.
    regenUser('u4', [P('B0000CCCC1', 1), P('B0000FFFF1', 2, { critique: 'Not the Title of B0000CCCC1 Deluxe again' })], {
      user: { profile: 'p', long_summary: 'They love the Title of B0000FFFF1 Deluxe above all.', short_summary: 's' },
    }),
    // u5's whole sequence (G, H, J) is u6's training sequence (u6: G H J K L, train = G H J);
    // u7's sequence (G, H) is a run inside it, not the whole of it.
    regenUser('u5', [P('B0000GGGG1', 1), P('B0000HHHH1', 2), P('B0000JJJJ1', 3)]),
    regenUser('u6', [P('B0000GGGG1', 1), P('B0000HHHH1', 2), P('B0000JJJJ1', 3), P('B0000KKKK1', 4), P('B0000LLLL1', 5)]),
    regenUser('u7', [P('B0000GGGG1', 1), P('B0000HHHH1', 2)]),
    // u8 buys M on day 10; u9 bought M in training on day 20 only (after): target known only from the future.
    // u10 buys N on day 10; u11 bought N in training on days 5 and 30: some training purchase after, not only.
    regenUser('u8', [P('B0000ZZZZ1', 9), P('B0000MMMM1', 10)]),
    regenUser('u9', [P('B0000MMMM1', 20), P('B0000ZZZZ2', 21), P('B0000ZZZZ3', 22)]),
    regenUser('u10', [P('B0000ZZZZ4', 9), P('B0000NNNN1', 10)]),
    regenUser('u11', [P('B0000NNNN1', 5), P('B0000NNNN1', 30), P('B0000ZZZZ5', 31), P('B0000ZZZZ6', 32)]),
  ]);
  ds = await loadDataset(file, { cacheDir: path.join(dir, 'cache') });
});

const flagsOf = (user: string) => {
  const test = ds.split.test;
  const r = Array.from(test.users).indexOf(ds.userIndex(user)!);
  const c = leakageCounts(ds, 'test', r, r + 1);
  return Object.entries(c)
    .filter(([k, v]) => k !== 'examples' && typeof v === 'number' && v > 0)
    .map(([k]) => k)
    .concat(Object.entries(c.narrative_names_target).filter(([, v]) => v > 0).map(([k]) => `narrative:${k}`))
    .sort();
};

describe('leakage audit', () => {
  it('names an item by its whole normalised title or its id as a word', () => {
    expect(namesItem('I want the TITLE of-x deluxe!', 'Title of X Deluxe', null)).toBe(true);
    expect(namesItem('the title of x', 'Title of X Deluxe', null)).toBe(false);
    expect(namesItem('ask for B0000EEEE1 now', null, 'B0000EEEE1')).toBe(true);
    expect(namesItem('ask for XB0000EEEE1 now', null, 'B0000EEEE1')).toBe(false);
    expect(namesItem('item 12 please', null, '12')).toBe(false); // numeric ids are not searched for
  });

  it('finds each crafted leak, and nothing else', () => {
    expect(flagsOf('u1')).toEqual(['repeat_target']); // no other user bought it: nothing temporal
    expect(flagsOf('u2')).toEqual(['critique_names_target']);
    expect(flagsOf('u3')).toEqual(['critique_names_target']);
    expect(flagsOf('u4')).toEqual(['narrative:userSummaryLong']);
    expect(flagsOf('u5')).toEqual(['sequence_equals_train', 'sequence_in_train']);
    expect(flagsOf('u7')).toEqual(['sequence_in_train']);
    expect(flagsOf('u8')).toEqual(['target_in_future_train', 'target_only_in_future']);
    expect(flagsOf('u10')).toEqual(['target_in_future_train']);
    const all = auditLeakage(ds).counts;
    expect(all.examples).toBe(11);
    expect(all).toMatchObject({ repeat_target: 1, critique_names_target: 2, sequence_in_train: 2, sequence_equals_train: 1, target_in_future_train: 2, target_only_in_future: 1, unknown_time: 0 });
    for (const user of ['u6', 'u9', 'u11']) expect(flagsOf(user)).toEqual([]);
  });

  it('data audit on the command line, as text and JSON', () => {
    const run = (...args: string[]) => spawnSync(process.execPath, [bin, 'data', 'audit', file, '--cache-dir', path.join(dir, 'cache'), ...args], { encoding: 'utf8' });
    const text = run();
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/critique_names_target\s+2\s+18\.2%.*e\.g\. users u2, u3/);
    expect(text.stdout).toMatch(/user_summary_long\s+1 .*a leak if a model reads it.*u4/);
    const json = JSON.parse(run('--json').stdout);
    expect(json.counts.sequence_equals_train).toBe(1);
    expect(json.samples.sequence_in_train).toEqual(['u5', 'u7']);
    expect(run('--split', 'valid', '--json').status).toBe(0);
  });

  it('every report has the leakage line and key; shards add up to the single run', async () => {
    const out = path.join(dir, 'shards');
    const options = { data: file, dataOptions: { cacheDir: path.join(dir, 'cache') }, task: 2 as const, model: 'pop', semsim: false as const, bootstrapSamples: 20 };
    const single = await runEval(options);
    expect(single.markdown).toMatch(/Leakage audit \(regen-bench data audit\) of the 11 examples: repeat targets 1 \(9\.1%\); critiques naming the target 2 \(shown in this row\)/);
    const json = single.json as { leakage: Record<string, unknown> };
    expect(json.leakage).toMatchObject({ examples: 11, critique_names_target: 2, critique_shown: true, sequence_in_train: 2 });
    for (const index of [0, 1, 2]) await runEval({ ...options, shard: { index, count: 3 }, out });
    const merged = await mergePartFiles([out]);
    expect(merged.json.leakage).toEqual(json.leakage);
  });
});
