// `regen-bench eval` end to end on the embedded demo: the JSON contract, every way a model hands
// in its output, exact agreement with hand-computed and reference numbers, shards, resuming, compare.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { beforeAll, describe, expect, it } from 'vitest';

import type { Dataset } from '../src/data/dataset.js';
import { loadDataset } from '../src/data/load.js';
import { compareParts } from '../src/eval/compare.js';
import { mergePartFiles, readPart } from '../src/eval/merge.js';
import { runEval } from '../src/eval/run.js';
import { referenceSearch } from '../src/engine/selftest/reference.js';
import { buildExamples, type ExampleSet } from '../src/tasks/examples.js';
import { encodeNpy } from '../src/models/embeddings-file.js';
import { rng } from '../src/util/random.js';
import { writeTinyEncoder } from './helpers/tiny-encoder.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = mkdtempSync(path.join(tmpdir(), 'regen-eval-'));
let ds: Dataset;
let examples: ExampleSet;
const quick = { bootstrapSamples: 200, semsim: false as const };

beforeAll(async () => {
  ds = await loadDataset('demo');
  examples = buildExamples(ds, 3, 'test');
});

const asin = (id: number) => ds.items.asin.get(id)!;
const user = (i: number) => examples.example(i).user;


describe('eval on the demo', () => {
  it('gives the JSON contract: signature, ranking@k, text per kind with semsim null and the reason', async () => {
    const r = await runEval({ ...quick, semsim: undefined, offline: true });
    const json = r.json as { signature: string; ranking: Record<string, number>; text: Record<string, Record<string, number | null>>; semsim_note: string | null; rows: unknown[] };
    expect(Object.keys(json).slice(0, 3)).toEqual(['signature', 'ranking', 'text']);
    expect(Object.keys(json.ranking)).toEqual(['recall@10', 'ndcg@10', 'mrr', 'n']);
    expect(json.ranking.n).toBe(examples.length);
    expect(Object.keys(json.text).sort()).toEqual(
      ['product_endorsement', 'purchase_reason', 'purchase_reason_explanation', 'user_profile', 'user_summary_brief', 'user_summary_long'],
    );
    for (const t of Object.values(json.text)) {
      expect(Object.keys(t)).toEqual(['bleu', 'rouge1', 'rouge2', 'rougeL', 'rougeLsum', 'semsim']);
      expect(t.semsim).toBeNull();
      expect(t.bleu).toBeGreaterThan(0);
    }
    expect(json.semsim_note).toMatch(/--semsim/);
    for (const part of ['data:demo@', '|split:test|', '|task:3|', '|k:10|', '|history:excluded|', '|model:pop+template|', 'tok:13a', 'smooth:exp', 'semsim:none', 'backend:cpu-'])
      expect(json.signature).toContain(part);
    expect(json.rows).toHaveLength(2); // the paper's two rows: without and with critiques
    expect(r.markdown).toMatch(/\| Hist \+ Critique -> ID \+ Narrative \|/);
    expect(r.markdown).toMatch(/SemSim n\/a: no sentence encoder/);
  });

  it('scores semantic similarity with a local encoder (a tiny ONNX model the test writes)', async () => {
    const model = writeTinyEncoder(path.join(dir, 'tiny-encoder'));
    const r = await runEval({ ...quick, semsim: model, offline: true, semsimCacheDir: null });
    const text = (r.json as { text: Record<string, { semsim: number | null }> }).text;
    for (const t of Object.values(text)) {
      expect(t.semsim).not.toBeNull();
      expect(t.semsim!).toBeGreaterThan(-1);
      expect(t.semsim!).toBeLessThanOrEqual(1);
    }
    expect((r.json as { signature: string }).signature).toContain(`semsim:${model}`);
    expect((r.json as { semsim_note: string | null }).semsim_note).toBeNull();
    await expect(runEval({ ...quick, semsim: path.join(dir, 'no-such-model'), offline: true })).rejects.toThrow(/no-such-model: no such folder .*A path that does not exist is not looked up on the hub/);
  });

  it('keys follow --k, and task 1 has no text', async () => {
    const r = await runEval({ ...quick, task: 1, k: 5 });
    expect(Object.keys((r.json as { ranking: object }).ranking)).toEqual(['recall@5', 'ndcg@5', 'mrr', 'n']);
    expect((r.json as { text: object }).text).toEqual({});
  });

  it('popularity agrees with a hand count (ranks over train counts, the whole history excluded: a repeat target is a miss)', async () => {
    const r = await runEval({ ...quick, task: 1 });
    const counts = new Float64Array(ds.items.count);
    for (const id of ds.split.train.ids) counts[id]++;
    const ex = buildExamples(ds, 1);
    let hits = 0;
    let rr = 0;
    let repeats = 0;
    let repeatHitsIfKept = 0;
    for (let i = 0; i < ex.length; i++) {
      const t = ex.targets[i];
      const skip = new Set(ex.historyOf(i));
      let rank = 0;
      for (let n = 0; n < ds.items.count; n++) if (n !== t && !skip.has(n) && (counts[n] > counts[t] || (counts[n] === counts[t] && n < t))) rank++;
      if (skip.has(t)) {
        repeats++; // excluded with the history: no hit, no reciprocal rank
        if (rank < 10) repeatHitsIfKept++;
        continue;
      }
      if (rank < 10) hits++;
      rr += 1 / (rank + 1);
    }
    // The demo has repeat targets, and popularity would hit some of them if the target were kept.
    expect(repeats).toBeGreaterThan(50);
    expect(repeatHitsIfKept).toBeGreaterThan(0);
    const json = r.json as { ranking: Record<string, number>; repeat_targets: { count: number; of: number; counted_as: string } };
    expect(json.ranking['recall@10']).toBeCloseTo(hits / ex.length, 12);
    expect(json.ranking.mrr).toBeCloseTo(rr / ex.length, 12);
    expect(json.repeat_targets).toEqual({ count: repeats, of: ex.length, counted_as: 'misses' });
    expect(r.markdown).toContain(`Repeat targets (the target is in the user's history): ${repeats} of ${ex.length.toLocaleString('en-US')} (`);
    expect(r.markdown).toMatch(/counted as misses \(excluded with the history\)\./);
    for (let i = 0; i < ex.length; i++) if (ex.historyOf(i).includes(ex.targets[i])) expect(r.parts[0].ranks[i]).toBeNull();
  });

  it('--no-exclude-history ranks repeat targets (and says so); the signature says history:kept', async () => {
    const r = await runEval({ ...quick, task: 1, excludeHistory: false });
    const ex = buildExamples(ds, 1);
    const json = r.json as { signature: string; repeat_targets: { count: number; counted_as: string } };
    expect(json.signature).toContain('|history:kept|');
    expect(json.repeat_targets.counted_as).toBe('ranked');
    let ranked = 0;
    for (let i = 0; i < ex.length; i++) if (ex.historyOf(i).includes(ex.targets[i]) && r.parts[0].ranks[i] !== null) ranked++;
    expect(ranked).toBe(json.repeat_targets.count);
    expect(r.markdown).toMatch(/ranked \(history kept\)\./);
  });
});

describe('predictions files', () => {
  it('scores lists exactly, counts every problem, and scores missing users as misses', async () => {
    const n = examples.length;
    const lines: string[] = [];
    // Example i: target at position i % 12 behind filler items (skipping the history and the target).
    for (let i = 0; i < n - 10; i++) {
      const t = examples.targets[i];
      const hist = new Set(examples.historyOf(i));
      const fill: string[] = [];
      for (let id = 0; fill.length < i % 12; id++) if (id !== t && !hist.has(id)) fill.push(asin(id));
      lines.push(JSON.stringify({ user: user(i), items: [...fill.slice(0, i % 12), asin(t)], narratives: { product_endorsement: 'A great product.', purchaseReason: 'Needed it.' } }));
    }
    lines.push('{not json');
    lines.push(JSON.stringify({ user: 'nobody', items: [] }));
    lines.push(JSON.stringify({ user: user(0), items: [] })); // a repeat: the first line counts
    lines.push(JSON.stringify({ user: user(n - 10), items: ['NO-SUCH-ITEM', asin(examples.targets[n - 10])], narratives: { made_up_kind: 'x' } }));
    const file = path.join(dir, 'pred.jsonl');
    writeFileSync(file, lines.join('\n') + '\n');
    const r = await runEval({ ...quick, predictions: file });
    let hits = 0;
    let rr = 0;
    let repeats = 0;
    const repeat = (i: number) => examples.historyOf(i).includes(examples.targets[i]);
    for (let i = 0; i < n - 10; i++) {
      if (repeat(i)) {
        repeats++; // listed, but excluded with the history: a miss
        continue;
      }
      hits += i % 12 < 10 ? 1 : 0;
      rr += 1 / ((i % 12) + 1);
    }
    expect(repeats).toBeGreaterThan(0);
    expect(repeat(n - 10)).toBe(false);
    hits += 0; // example n-10: the unknown item takes position 0, target at 1
    rr += 1 / 2;
    const json = r.json as { ranking: Record<string, number>; notes: Record<string, number>; text: Record<string, { bleu: number }> };
    expect(json.ranking['recall@10']).toBeCloseTo((hits + 1) / n, 12);
    expect(json.ranking.mrr).toBeCloseTo(rr / n, 12);
    expect(json.notes['examples without a prediction line (scored as misses)']).toBe(9);
    expect(json.notes['examples without a predicted user_profile (scored as empty text)'.replace('user_profile', 'userProfile')]).toBe(n);
    expect(r.reports).toHaveLength(1); // a file is one model run: one row
    const p = r.parts[0];
    expect(p.notes['examples without a predicted productEndorsement (scored as empty text)']).toBe(10);
  });

  it('reports malformed lines, unknown users and items, repeats (and stops on them with strict)', async () => {
    const file = path.join(dir, 'bad.jsonl');
    writeFileSync(file, ['{oops', JSON.stringify({ user: 'ghost', items: [] }), JSON.stringify({ user: user(1), items: ['B-NOPE'] }), JSON.stringify({ user: user(1), items: [] })].join('\n'));
    const { PredictionsRecommender } = await import('../src/models/predictions.js');
    const m = new PredictionsRecommender(file);
    await m.prepare(examples);
    const kinds = Object.fromEntries(m.predictions.report.issues.map((s) => [s.kind, s.count]));
    expect(kinds).toEqual({ 'malformed-line': 1, 'unknown-user': 1, 'unknown-item': 1, 'duplicate-user': 1 });
    expect(m.predictions.report.issues.find((s) => s.kind === 'malformed-line')!.samples[0]).toContain(`${file}:1`);
    await expect(runEval({ ...quick, predictions: file, strict: true })).rejects.toThrow(/bad\.jsonl:1: not JSON/);
  });
});

describe('embeddings', () => {
  it('ranks exactly as the float64 reference search with history exclusion', async () => {
    const dim = 8;
    const r = rng(5);
    const items = Float32Array.from({ length: ds.items.count * dim }, () => r() - 0.5);
    const ex = buildExamples(ds, 1);
    const queries = Float32Array.from({ length: ex.length * dim }, () => r() - 0.5);
    // Item rows in reverse dataset order, with an id list: the reader must put them back.
    const reversed = new Float32Array(items.length);
    for (let id = 0; id < ds.items.count; id++) reversed.set(items.subarray(id * dim, (id + 1) * dim), (ds.items.count - 1 - id) * dim);
    writeFileSync(path.join(dir, 'items.npy'), encodeNpy(reversed, ds.items.count, dim));
    writeFileSync(path.join(dir, 'items.ids.txt'), Array.from({ length: ds.items.count }, (_, row) => asin(ds.items.count - 1 - row)).join('\n'));
    writeFileSync(path.join(dir, 'q.npy'), encodeNpy(queries, ex.length, dim));
    const result = await runEval({ ...quick, task: 1, queries: path.join(dir, 'q.npy'), items: path.join(dir, 'items.npy') });
    const exclude = ex.exclusions(true);
    const ref = referenceSearch(items, dim, queries, { k: 10, exclude, targets: ex.targets });
    const ranks = result.parts[0].ranks;
    let agree = 0;
    // A repeat target is excluded with the history: the reference says -1, the part a miss (null).
    for (let i = 0; i < ex.length; i++) if ((ranks[i] ?? -1) === ref.targetRank[i]) agree++;
    for (let i = 0; i < ex.length; i++) if (ex.historyOf(i).includes(ex.targets[i])) expect([ranks[i], ref.targetRank[i]]).toEqual([null, -1]);
    // float32 vs float64 scores may swap near-ties; random vectors leave none at this size.
    expect(agree).toBeGreaterThanOrEqual(ex.length - 2);
  });

  it('refuses mismatched dimensions and NaN vectors, naming the file', async () => {
    writeFileSync(path.join(dir, 'q3.npy'), encodeNpy(new Float32Array(examples.length * 3), examples.length, 3));
    await expect(runEval({ ...quick, task: 1, queries: path.join(dir, 'q3.npy'), items: path.join(dir, 'items.npy') })).rejects.toThrow(/q3\.npy has dimension 3 but .*items\.npy has 8/);
    const bad = new Float32Array(examples.length * 8);
    bad[8 * 7 + 2] = NaN;
    writeFileSync(path.join(dir, 'qnan.npy'), encodeNpy(bad, examples.length, 8));
    await expect(runEval({ ...quick, task: 1, queries: path.join(dir, 'qnan.npy'), items: path.join(dir, 'items.npy') })).rejects.toThrow(/qnan\.npy: 1 NaN .*row 7, column 2/);
    await expect(runEval({ ...quick, task: 1, queries: path.join(dir, 'q.npy') })).rejects.toThrow(/both options.queries and options.items/); // issue 13: library errors name library options
  });
});

describe('shards, resuming and comparing', () => {
  it('merging shards reproduces the single run exactly', async () => {
    const single = await runEval({ ...quick });
    const out = path.join(dir, 'shards');
    for (let s = 0; s < 3; s++) await runEval({ ...quick, shard: { index: s, count: 3 }, out, chunkRows: 700 });
    const files = readdirSync(out).filter((f) => f.endsWith('.part.json')).map((f) => path.join(out, f));
    expect(files).toHaveLength(6);
    const merged = await mergePartFiles(files);
    expect(merged.json).toEqual(single.json);
    await expect(mergePartFiles(files.filter((f) => !f.includes('shard-1-of-3')))).rejects.toThrow(/examples \d+\.\.\d+ are in no part/);
    // Repeat targets add up over shards; a part of the old format (the target kept rankable) is refused.
    expect(merged.parts.map((p) => p.repeatTargets)).toEqual(single.parts.map((p) => p.repeatTargets));
    const old = path.join(dir, 'old.part.json');
    writeFileSync(old, JSON.stringify({ ...readPart(files[0]), version: 1 }));
    await expect(mergePartFiles([old, ...files.slice(1)])).rejects.toThrow(/old\.part\.json is a version 1 eval part; .*the whole history is excluded now/);
  });

  it('an interrupted eval resumes from its last chunk and gives the same report', async () => {
    const out = path.join(dir, 'resume');
    let calls = 0;
    await expect(
      runEval({
        ...quick,
        out,
        chunkRows: 500,
        progress: (e) => {
          // Counts chunks narrated, the two rows in turn (evaluate also says its phase at the start, with
          // done 0): the fifth is the first row's third chunk, when both rows' first two chunks are scored.
          if (e.phase.startsWith('evaluating') && e.done > 0 && ++calls === 5) throw new Error('interrupted');
        },
      }),
    ).rejects.toThrow('interrupted');
    const chunkDirs = readdirSync(path.join(out, 'chunks'));
    expect(chunkDirs).toHaveLength(2);
    for (const d of chunkDirs) expect(readdirSync(path.join(out, 'chunks', d))).toHaveLength(2);
    const logs: string[] = [];
    const resumed = await runEval({ ...quick, out, chunkRows: 500, log: (l) => logs.push(l) });
    expect(logs.filter((l) => /resuming .*2 chunks/.test(l))).toHaveLength(2);
    expect(resumed.json).toEqual((await runEval({ ...quick })).json);
  });

  it('compare finds no difference between a run and itself, and a clear one against a better model', async () => {
    const pop = (await runEval({ ...quick, task: 1, out: path.join(dir, 'cmp-pop') })).parts[0];
    const same = compareParts(pop, pop, { samples: 200 });
    expect(same.metrics.every((m) => m.delta === 0 && m.pRandomisation === 1)).toBe(true);
    // An oracle that lists the target first for two thirds of the users.
    const lines = Array.from({ length: examples.length }, (_, i) => JSON.stringify({ user: user(i), items: i % 3 ? [asin(examples.targets[i])] : [] }));
    writeFileSync(path.join(dir, 'oracle.jsonl'), lines.join('\n'));
    const oracle = (await runEval({ ...quick, task: 1, predictions: path.join(dir, 'oracle.jsonl') })).parts[0];
    const c = compareParts(pop, oracle, { samples: 200 });
    const recall = c.metrics.find((m) => m.metric === 'recall@10')!;
    expect(recall.delta).toBeGreaterThan(0.5);
    expect(recall.pRandomisation).toBeLessThan(0.01);
    expect(c.matched).toBe(examples.length);
    expect(readPart(path.join(dir, 'cmp-pop', 'task1.part.json')).users).toHaveLength(examples.length);
    // Task 1 against task 2 (same users and targets) only when asked; never against task 3.
    const pop2 = (await runEval({ ...quick, task: 2 })).parts[0];
    expect(() => compareParts(pop, pop2, { samples: 50 })).toThrow(/differ in task \(1 vs 2\): compare like with like \(or --across-tasks/);
    const across = compareParts(pop, pop2, { samples: 50, acrossTasks: true });
    expect(across.matched).toBe(examples.length);
    expect(across.metrics.find((m) => m.metric === 'recall@10')!.delta).toBe(0); // popularity ignores critiques
    const pop3 = { ...pop2, settings: { ...pop2.settings, task: 3 as const } };
    expect(() => compareParts(pop, pop3, { samples: 50, acrossTasks: true })).toThrow(/--across-tasks compares tasks 1 and 2 .* tasks 1 and 3/);
  });
});

describe('CLI', () => {
  const bin = path.join(root, 'bin', 'regen-bench.js');
  const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });

  it('eval --json prints the contract; eval with no arguments prints the Markdown report', () => {
    const r = run('eval', '--json', '--no-semsim', '--bootstrap', '100');
    expect(r.status).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.ranking.n).toBe(3000);
    const md = run('eval', '--task', '2', '--bootstrap', '50');
    expect(md.status).toBe(0);
    expect(md.stdout).toMatch(/\| Hist \+ Critique -> ID \| /);
  });

  it('bad flags are one-line errors with a non-zero exit', () => {
    for (const [args, message] of [
      [['eval', '--task', '4'], /--task expects an integer in \[1, 3\]/],
      [['eval', '--shard', '3/3', '--out', dir], /--shard expects i\/n with 0 <= i < n/],
      [['eval', '--shard', '0/2'], /--shard writes a part file: give --out/],
      [['eval', '--model', 'nope'], /unknown --model "nope"; built-in models: pop/],
      [['eval', '--model', 'pop', '--predictions', 'x.jsonl'], /give one model/],
    ] as const) {
      const r = run(...args);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(message);
    }
  });

  it('compare and merge work from the command line', () => {
    const out = path.join(dir, 'cli-shards');
    for (const s of ['0/2', '1/2']) expect(run('eval', '--task', '1', '--shard', s, '--out', out, '--bootstrap', '50').status).toBe(0);
    const parts = readdirSync(out).filter((f) => f.endsWith('.part.json')).map((f) => path.join(out, f));
    const merged = run('merge', ...parts, '--json', '--out', path.join(out, 'merged'));
    expect(merged.status).toBe(0);
    expect(JSON.parse(merged.stdout).ranking.n).toBe(3000);
    const cmp = run('compare', path.join(out, 'merged'), path.join(out, 'merged'));
    expect(cmp.status).toBe(0);
    expect(cmp.stdout).toMatch(/\| recall@10 \|/);
    rmSync(out, { recursive: true, force: true });
  });
});
