// The bad-input matrix, merge and compare (issue 15): parts of different evaluations, edited or
// damaged parts, missing shards, and what both commands say about the inputs behind the parts.
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { comparePartFiles, comparisonJson } from '../../src/eval/compare.js';
import { mergePartFiles } from '../../src/eval/merge.js';
import { cli, demo, type Demo } from './helpers.js';

let d: Demo;
/** Shard parts of one evaluation (task 1, predictions), the merged part, and a second model's. */
let shards: string;
let partA: string;
let partB: string;
let partOther: string;

beforeAll(async () => {
  d = await demo();
  const preds = d.write('a.jsonl', d.lines);
  shards = path.join(d.dir, 'sharded');
  for (const index of [0, 1, 2]) await d.evalPredictions(preds, { out: shards, shard: { index, count: 3 } });
  const a = path.join(d.dir, 'run-a');
  await d.evalPredictions(preds, { out: a });
  partA = path.join(a, 'task1.part.json');
  const b = path.join(d.dir, 'run-b');
  await d.evalPredictions(d.write('b.jsonl', d.records.map((r) => JSON.stringify({ ...r, items: [...r.items].reverse() }))), { out: b });
  partB = path.join(b, 'task1.part.json');
  // The same predictions on another dataset (the demo without its first user).
  const other = path.join(d.dir, 'run-other');
  const { runEval } = await import('../../src/eval/run.js');
  const { writeSynthetic, synthConfig } = await import('../../src/data/synth/generate.js');
  const synth = await writeSynthetic(synthConfig('demo', 7), path.join(d.dir, 'synth'), {});
  await runEval({ data: synth.file, task: 1, model: 'pop', semsim: false, bootstrapSamples: 10, out: other, dataOptions: { cacheDir: path.join(d.dir, 'cache') } });
  partOther = path.join(other, 'task1.part.json');
}, 300_000);

const shardFiles = () => readdirSync(shards).filter((f) => f.includes('.shard-')).sort().map((f) => path.join(shards, f));
const edit = (file: string, name: string, change: (part: Record<string, unknown>) => void) => {
  const part = JSON.parse(readFileSync(file, 'utf8'));
  change(part);
  return d.write(name, JSON.stringify(part));
};

describe('bad input: merge', () => {
  it('parts of two datasets: refused, naming the differing fields', async () => {
    await expect(mergePartFiles([partA, partOther])).rejects.toThrow(/was computed with other settings than .* \(dataset\.name \(demo vs demo\)|settings\.dataset|dataset\.key \(/);
    const err = await mergePartFiles([partA, partOther]).catch((e: Error) => e.message);
    expect(err).toMatch(/\(dataset\.key \([0-9a-f]{20}… vs [0-9a-f]{20}…\); .*model \(predictions:a\.jsonl vs pop\)/);
    expect(err).toMatch(/; parts of one evaluation share dataset, inputs, task, k, model and metric settings$/);
  });

  it('parts computed from different predictions files (same name): refused, naming inputs.predictions.sha256', async () => {
    const other = edit(partB, 'b-renamed.part.json', (p) => {
      const s = p.settings as { model: string; inputs: Record<string, { file: string }> };
      s.model = 'predictions:a.jsonl';
      s.inputs.predictions.file = 'a.jsonl';
    });
    const err = await mergePartFiles([partA, other]).catch((e: Error) => e.message);
    expect(err).toMatch(/^.*b-renamed\.part\.json was computed with other settings than .*task1\.part\.json \(inputs\.predictions\.sha256 \([0-9a-f]{20}… vs [0-9a-f]{20}…\)\); parts of one evaluation/);
  });

  it('a version 2 part (from before parts named their inputs): refused, saying why', async () => {
    const old = edit(partA, 'v2.part.json', (p) => (p.version = 2));
    await expect(mergePartFiles([old])).rejects.toThrow(
      `${old} is a version 2 eval part; this regen-bench writes version 3 (version 2 parts do not name their input files by content hash, so they cannot be checked against others): evaluate again`,
    );
  });

  it('an edited part whose ranks hold a string', async () => {
    const bad = edit(partA, 'edited.part.json', (p) => ((p.ranks as unknown[])[5] = 'first'));
    await expect(mergePartFiles([bad])).rejects.toThrow(`${bad}: ranks holds a value that is neither a rank nor null; not an eval part regen-bench wrote (write it again with eval --out)`);
  });

  it('an edited part without settings', async () => {
    const bad = edit(partA, 'nosettings.part.json', (p) => delete p.settings);
    await expect(mergePartFiles([bad])).rejects.toThrow(`${bad}: no settings; not an eval part regen-bench wrote (write it again with eval --out)`);
  });

  it('a part that is not JSON', async () => {
    const bad = d.write('broken.part.json', '{"format": "regen-bench-eval-part", ');
    await expect(mergePartFiles([bad])).rejects.toThrow(new RegExp(`^${bad}: not a readable eval part \\(.*JSON.*\\)$`));
  });

  it('a part file that does not exist', async () => {
    const missing = path.join(d.dir, 'missing.part.json');
    await expect(mergePartFiles([missing])).rejects.toThrow(`${missing}: no such file or folder`);
  });

  it('a part nested deeper than the JSON limit', async () => {
    const bad = d.write('deep.part.json', `{"format": ${'['.repeat(70)}${']'.repeat(70)}}`);
    await expect(mergePartFiles([bad])).rejects.toThrow(`${bad}: a JSON value nested more than 64 levels deep is over the limit (64 levels of nesting in one JSON value); raise it with REGEN_MAX_JSON_DEPTH=N`);
  });

  it('a shard missing in the middle', async () => {
    const [s0, , s2] = shardFiles();
    await expect(mergePartFiles([s0, s2])).rejects.toThrow(/^examples 1000\.\.1999 are in no part \(between .*shard-0-of-3\.part\.json and .*shard-2-of-3\.part\.json\)$/);
  });

  it('two overlapping shards', async () => {
    const [s0] = shardFiles();
    const shifted = edit(s0, 'shifted.part.json', (p) => {
      p.start = 500;
      p.end = 1500;
    });
    const [, s1] = shardFiles();
    await expect(mergePartFiles([shifted, s1])).rejects.toThrow(/overlap \(examples 1000\.\.1499\)$/);
  });

  it('a folder without parts', async () => {
    const empty = path.join(d.dir, 'no-parts');
    mkdirSync(empty, { recursive: true });
    await expect(mergePartFiles([empty])).rejects.toThrow(`${empty} holds no *.part.json files: give part files, or the --out folder of an eval`);
  });

  it('merged parts whose predictions were bad: input_problems in the merged report, the run fails unless allowed', async () => {
    const preds = d.write('bad-shards.jsonl', d.lines.map((l, i) => (i % 25 === 0 ? 'x' : l)));
    const out = path.join(d.dir, 'bad-sharded');
    for (const index of [0, 1]) await d.evalPredictions(preds, { out, shard: { index, count: 2 } });
    const merged = await mergePartFiles([out]);
    expect((merged.json.input_problems as Record<string, { problems: Record<string, { count: number }> }>)[preds].problems['malformed-line'].count).toBe(120);
    expect(merged.badInput).toEqual([expect.stringMatching(/^120 of 3,000 lines of .*bad-shards\.jsonl \(predictions\) are bad: 4\.0%, above the 1% limit/)]);
    expect(merged.markdown).toContain('## Input problems');
    const r = cli(['merge', out]);
    expect(r.status).toBe(3);
    expect(cli(['merge', out, '--allow-bad-input']).status).toBe(0);
  }, 120_000);
});

describe('bad input: compare', () => {
  it('two datasets: refused', () => {
    expect(() => comparePartFiles(partA, partOther)).toThrow(/^the two evaluations use different datasets \(demo@[0-9a-f]{16} vs demo@[0-9a-f]{16}\)$/);
  });

  it('a different k: refused, naming it', () => {
    const k5 = edit(partB, 'k5.part.json', (p) => ((p.settings as { k: number }).k = 5));
    expect(() => comparePartFiles(partA, k5)).toThrow('the two evaluations differ in k (10 vs 5): compare like with like (evaluate both with the same settings)');
  });

  it('different BLEU settings and confidence level: refused, naming both', () => {
    const other = edit(partB, 'bleu.part.json', (p) => {
      const s = p.settings as { bleu: { signature: string }; ci: { confidence: number } };
      s.bleu.signature = s.bleu.signature.replace('smooth:exp', 'smooth:floor');
      s.ci.confidence = 0.9;
    });
    expect(() => comparePartFiles(partA, other)).toThrow(
      'the two evaluations differ in bleu (…smooth:exp|version:2… vs …smooth:floor|version…); confidence (0.95 vs 0.9): compare like with like (evaluate both with the same settings)',
    );
  });

  it('no user in common', () => {
    const strangers = edit(partB, 'strangers.part.json', (p) => (p.users = (p.users as string[]).map((u) => `x-${u}`)));
    expect(() => comparePartFiles(partA, strangers)).toThrow('the two evaluations share no examples (users)');
  });

  it('a folder holding parts of two tasks', async () => {
    const both = path.join(d.dir, 'two-tasks');
    mkdirSync(both, { recursive: true });
    writeFileSync(path.join(both, 'task1.part.json'), readFileSync(partA));
    writeFileSync(path.join(both, 'task2.part.json'), readFileSync(partA));
    expect(() => comparePartFiles(both, partB)).toThrow(`${both} holds parts of several tasks (task1.part.json, task2.part.json): give one part file`);
  });

  it('the JSON names both sides\' inputs (input_problems {a, b}) and each side\'s signature its predictions by content', () => {
    const c = comparePartFiles(partA, partB);
    const json = comparisonJson(c) as { input_problems: { a: Record<string, { role: string; sha256: string }>; b: Record<string, { role: string }> }; bad_input: string[]; a: string };
    expect(Object.values(json.input_problems.a).map((f) => f.role)).toEqual(['dataset', 'predictions']);
    expect(Object.values(json.input_problems.b).map((f) => f.role)).toEqual(['dataset', 'predictions']);
    expect(json.bad_input).toEqual([]);
    expect(json.a).toMatch(/\|inputs:\[predictions=a\.jsonl@[0-9a-f]{16}\]\|/);
  });
});
