// The hybrid pipeline's LLM narrator (`--narrator onnx:DIR`) end to end on tiny language models the
// test writes itself (ONNX bodies with a KV cache, random weights, WordPiece tokenizers; no download):
// greedy text against a float64 reference of the same model, eval and baseline with the narrator,
// the generation cache (a rerun generates nothing), batched = row by row (greedy and sampled), the
// prompts it writes (the item filled in, critiques withheld in the no-critique row), LUMEN checkpoints
// as narrators, chat templates, and the errors.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Dataset } from '../src/data/dataset.js';
import { loadDataset } from '../src/data/load.js';
import { runBaseline } from '../src/eval/baseline.js';
import { runEval } from '../src/eval/run.js';
import { CausalLm, readCausalLmConfig } from '../src/models/llm/causal-lm.js';
import { OnnxNarrator, renderRecommendedItem } from '../src/models/llm/narrator.js';
import { buildExamples, type ExampleSet } from '../src/tasks/examples.js';
import { writeLumenCheckpoint } from './helpers/lumen-model.js';
import { referenceNarration, writeNarratorModel, type NarratorModel } from './helpers/narrator-model.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'regen-bench.js');

let tmp: string;
let ds: Dataset;
let examples: ExampleSet;
let tiny: NarratorModel;
const quick = { semsim: false as const, bootstrapSamples: 50 };
/** 30 examples (shard 0 of 100), purchase_reason only, short prompts and generations. */
const small = (cache: string | null, extra: Record<string, unknown> = {}) => ({
  ...quick,
  model: 'pop',
  narrator: `onnx:${tiny.dir}`,
  narratives: ['purchase_reason'],
  shard: { index: 0, count: 100 },
  narratorOptions: { maxNewTokens: 6, maxWords: 100, generationCache: cache, hashMemoDir: null, ...extra },
});

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'regen-narrator-'));
  ds = await loadDataset('demo');
  examples = buildExamples(ds, 3);
  // The vocabulary holds the demo's title words, so prompts tokenize into more than [UNK].
  const words = new Set<string>();
  for (let i = 0; i < ds.items.count; i++) for (const t of (ds.items.title.get(i) ?? '').split(/[^A-Za-z]+/)) if (t) words.add(t);
  tiny = writeNarratorModel(path.join(tmp, 'tiny'), { seed: 5, words: [...words].slice(0, 400), stopScale: 2.5 });
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('the narrator model', () => {
  it('reads an Optimum-style folder: input_ids body, tied head from model.safetensors, stop ids of config and generation_config', async () => {
    const cfg = readCausalLmConfig(tiny.dir);
    expect(cfg).toMatchObject({ kind: 'hf', files: { decoder: 'model.onnx', weights: 'model.safetensors' }, tensors: { textHead: 'model.embed_tokens.weight' }, stopTokenIds: tiny.stops });
    const lm = await CausalLm.load(tiny.dir, { hashMemoDir: null });
    try {
      expect(lm.names.tokens).toBe('input_ids');
      expect(lm.textEmbeddings).toBeNull(); // the body embeds its token ids itself
      expect(lm.textHead.count).toBe(tiny.weights.vocab.length);
      expect(lm.chatTemplate).toBeNull();
      expect(lm.hash).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      await lm.dispose();
    }
  });

  it('greedy narratives equal the float64 JavaScript reference of the same model', async () => {
    const narrator = new OnnxNarrator(tiny.dir, { maxNewTokens: 12, maxWords: 80, generationCache: null, hashMemoDir: null, batch: 4 });
    await narrator.prepare();
    const lm = await CausalLm.load(tiny.dir, { hashMemoDir: null });
    try {
      const set = examples.slice(0, 6);
      const top = Int32Array.from(set.targets);
      const out = await narrator.narrate(set, top, 1, ['purchaseReason']);
      let words = 0;
      for (let i = 0; i < set.length; i++) {
        const prompt = lm.encode(lm.render(narrator.prompt(set, i, 'purchaseReason', top[i])));
        const ref = referenceNarration(tiny, prompt.tokens, 12);
        expect(out.purchaseReason[i]).toBe(lm.decode(Int32Array.from(ref)));
        words += ref.length;
      }
      expect(words).toBeGreaterThan(6); // not all rows stopped at once
    } finally {
      await narrator.dispose();
      await lm.dispose();
    }
  });

  it('writes the hybrid prompt with the recommended item filled in, and withholds critiques in the no-critique row', async () => {
    const narrator = new OnnxNarrator(tiny.dir, { generationCache: null, hashMemoDir: null });
    await narrator.prepare();
    const i = Array.from({ length: examples.length }, (_, j) => j).find((j) => examples.critique(j) !== null)!;
    const item = examples.targets[(i + 1) % examples.length];
    const withC = narrator.prompt(examples, i, 'productEndorsement', item);
    const without = narrator.prompt(examples.withoutCritiques(), i, 'productEndorsement', item);
    expect(withC).toContain(`The last item purchase is: ${renderRecommendedItem(ds, item)}.`);
    expect(renderRecommendedItem(ds, item)).toContain(`${ds.items.asin.get(item)} Title: ${ds.items.title.get(item)}`);
    expect(withC).toContain('Predict the product endorsement for the last purchased item.');
    expect(withC).toContain(`User Critique for the next item purchase: ${examples.critique(i)}`);
    expect(without).not.toContain('User Critique');
    expect(withC).not.toContain('RECOMMENDED_ITEM');
    expect(renderRecommendedItem(ds, -1)).toMatch(/no item/);
  });
});

describe('eval --narrator onnx:DIR', () => {
  it('scores the narratives in both rows, names the model hash and decoding in the signature, and a rerun generates nothing', async () => {
    const cache = path.join(tmp, 'gen-eval');
    const lines: string[] = [];
    const first = await runEval({ ...small(cache), log: (l) => lines.push(l) });
    const json = first.json as { signature: string; text: Record<string, unknown>; rows: { signature: string }[] };
    expect(Object.keys(json.text)).toEqual(['purchase_reason']);
    expect(json.rows).toHaveLength(2);
    expect(json.signature).toMatch(/\|model:pop\+onnx:tiny@[0-9a-f]{16}\(greedy,max=6,words=100\)\|/);
    const report = lines.find((l) => l.startsWith('narrator onnx:tiny'))!;
    expect(report).toMatch(/60 narratives/);
    expect(report).toMatch(/[1-9][\d,]* generated/);
    expect(existsSync(cache)).toBe(true);

    // The rerun reads every narrative from the cache: no model is loaded, nothing generated, same numbers.
    const again: string[] = [];
    const second = await runEval({ ...small(cache), log: (l) => again.push(l) });
    expect(again.find((l) => l.startsWith('narrator onnx:tiny'))).toMatch(/from the cache, 0 generated;/);
    expect(second.parts.map((p) => p.text)).toEqual(first.parts.map((p) => p.text));
    expect(second.json).toEqual(first.json);
    // Interrupted writes never count: a torn line in the cache is generated again and counted.
    const dir = path.join(cache, readdirSync(cache)[0]);
    writeFileSync(path.join(dir, 'zz-torn.jsonl'), '{"p": "abc", "t": "x"}\n{"p": \n');
    const third: string[] = [];
    await runEval({ ...small(cache), log: (l) => third.push(l) });
    expect(third.join('\n')).toMatch(/1 cache lines did not read back/);
  });

  it('batched narration equals row-by-row narration, greedy and sampled (draws seeded by the prompt, not the row)', async () => {
    const set = examples.slice(0, 20);
    const top = Int32Array.from(set.targets);
    for (const sampling of [{}, { temperature: 1, seed: 7 }, { temperature: 0.8, topK: 5, seed: 2 }]) {
      const texts: string[][] = [];
      for (const batch of [1, 7, 20]) {
        const n = new OnnxNarrator(tiny.dir, { maxNewTokens: 10, maxWords: 90, generationCache: null, hashMemoDir: null, batch, sampling });
        const events: { done: number; total?: number; note?: string }[] = [];
        await n.prepare((e) => events.push(e));
        texts.push((await n.narrate(set, top, 1, ['userProfile'])).userProfile);
        // Progress: rows done of all rows after each batch, with the decoding rate in tokens/s.
        const rows = events.filter((e) => e.note !== undefined);
        expect(rows.length).toBe(Math.ceil(20 / batch));
        expect(rows.at(-1)).toMatchObject({ done: 20, total: 20 });
        for (const e of rows) expect(e.note).toMatch(/^\d+ tokens\/s$/);
        expect(n.stats.tokens).toBeGreaterThan(0);
        expect(n.report()).toMatch(/tokens\/s/);
        await n.dispose();
      }
      expect(texts[1]).toEqual(texts[0]);
      expect(texts[2]).toEqual(texts[0]);
      expect(new Set(texts[0]).size).toBeGreaterThan(1);
    }
  });

  it('baseline --narrator onnx:DIR writes the narratives eval reads back', async () => {
    const out = path.join(tmp, 'llm-pred.jsonl');
    await runBaseline({ model: 'markov', narrator: `onnx:${tiny.dir}`, narratives: ['user_profile'], narratorOptions: { maxNewTokens: 4, maxWords: 60, generationCache: path.join(tmp, 'gen-base'), hashMemoDir: null, batch: 64 }, out, k: 10 });
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { narratives: Record<string, string> });
    expect(lines).toHaveLength(examples.length);
    expect(Object.keys(lines[0].narratives)).toEqual(['user_profile']);
    expect(lines.filter((l) => l.narratives.user_profile.length > 0).length).toBeGreaterThan(examples.length / 2);
  });

  it('a LUMEN checkpoint narrates with its text head (inputs_embeds body; START and ID_TOKEN never generated)', async () => {
    const itemIds = Array.from({ length: ds.items.count }, (_, i) => ds.items.asin.get(i)!);
    const lumen = writeLumenCheckpoint(path.join(tmp, 'lumen'), { itemIds, seed: 4, startBoost: 4 });
    const lm = await CausalLm.load(lumen.dir, { hashMemoDir: null });
    try {
      expect(lm.config.kind).toBe('regen-lumen');
      expect(lm.names.tokens).toBeUndefined();
      expect(lm.config.suppressTokenIds).toEqual(expect.arrayContaining([lumen.config.start_token_id as number, lumen.config.id_token_id as number]));
    } finally {
      await lm.dispose();
    }
    const r = await runEval({ ...small(null), narrator: `onnx:${lumen.dir}` });
    expect((r.json as { signature: string }).signature).toMatch(/\+onnx:lumen@/);
  });

  it('applies the tokenizer\'s chat template (with the system prompt of narrator.json)', async () => {
    const m = writeNarratorModel(path.join(tmp, 'chat'), {
      seed: 8,
      chatTemplate: "{% for m in messages %}{{ m['role'] }} : {{ m['content'] }} . {% endfor %}{% if add_generation_prompt %}Text :{% endif %}",
    });
    writeFileSync(path.join(m.dir, 'narrator.json'), JSON.stringify({ system_prompt: 'Predict the reason .' }));
    const lm = await CausalLm.load(m.dir, { hashMemoDir: null });
    try {
      expect(lm.render('great pen')).toBe('system : Predict the reason . . user : great pen . Text :');
      expect(Array.from(lm.encode(lm.render('great pen')).tokens).slice(-2)).toEqual([m.weights.vocab.indexOf('Text'), m.weights.vocab.indexOf(':')]);
    } finally {
      await lm.dispose();
    }
    writeFileSync(path.join(m.dir, 'narrator.json'), JSON.stringify({ chat_template: false }));
    const plain = await CausalLm.load(m.dir, { hashMemoDir: null });
    expect(plain.render('great pen')).toBe('great pen');
    await plain.dispose();
  });
});

describe('narrator errors', () => {
  it('names the folder, the file and the fix', async () => {
    await expect(runEval({ ...small(null), narrator: `onnx:${path.join(tmp, 'nope')}` })).rejects.toThrow(/options\.narrator onnx:.*nope: no such folder/);
    const logits = writeNarratorModel(path.join(tmp, 'logits'), { seed: 1, logitsOnly: true });
    await expect(CausalLm.load(logits.dir, { hashMemoDir: null })).rejects.toThrow(/returns logits.*--task feature-extraction-with-past/s);
    const headless = writeNarratorModel(path.join(tmp, 'headless'), { seed: 1 });
    rmSync(path.join(headless.dir, 'model.safetensors'));
    expect(() => readCausalLmConfig(headless.dir)).toThrow(/has no LM head: add heads\.safetensors/);
    const short = writeNarratorModel(path.join(tmp, 'short'), { seed: 1, maxPositions: 40, headsFile: true });
    await expect(runEval({ ...small(null), narrator: `onnx:${short.dir}` })).rejects.toThrow(/needs more than the model's 40 positions.*options\.maxWords/);
    await expect(runEval({ ...small(null, { sampling: { temperature: 1, seed: -1 } }), narrator: `onnx:${tiny.dir}` })).rejects.toThrow(/options\.samplingSeed/);
    await expect(runEval({ ...quick, task: 2, narratives: ['purchase_reason'] })).rejects.toThrow(/options\.narratives applies to task 3 only/);
  });

  it('the CLI: eval --narrator onnx:DIR with the decoding flags, and errors that name the flags', () => {
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, REGEN_BENCH_CACHE: path.join(tmp, 'cli-cache') }, timeout: 240_000 });
    const out = path.join(tmp, 'cli-out');
    const r = run('eval', '--narrator', `onnx:${tiny.dir}`, '--narrative', 'purchase_reason', '--shard', '0/100', '--out', out, '--max-new-tokens', '4', '--max-words', '80', '--bootstrap', '20', '--no-semsim');
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/narrator onnx:tiny@[0-9a-f]{16}\(greedy,max=4,words=80\): 60 narratives/);
    expect(existsSync(path.join(tmp, 'cli-cache', 'generations'))).toBe(true);
    const bad = run('eval', '--narrator', `onnx:${tiny.dir}`, '--temperature', '1', '--top-p', '0');
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/--top-p expects a number in \(0, 1\]/);
    const missing = run('eval', '--narrator', 'onnx:/no/such/model');
    expect(missing.stderr).toMatch(/--narrator onnx:\/no\/such\/model: no such folder/);
  });
});
