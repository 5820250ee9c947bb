// LUMEN decoding end to end on tiny checkpoints the test writes itself (an ONNX decoder body with a
// KV cache, random weights, heads as safetensors, a WordPiece tokenizer): greedy against a float64
// JavaScript reference of the same model, batched against row-by-row, mode switching and history
// exclusion, checkpoint errors, generate -> eval, and the CLI.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Dataset } from '../src/data/dataset.js';
import { loadDataset } from '../src/data/load.js';
import { runEval } from '../src/eval/run.js';
import { LumenCheckpoint } from '../src/models/lumen/checkpoint.js';
import { LumenDecoder, type DecodedRow, type DecodeRequest } from '../src/models/lumen/decoder.js';
import { generatePredictions } from '../src/models/lumen/generate.js';
import { encodePrompt } from '../src/models/lumen/prompt.js';
import type { SamplingOptions } from '../src/engine/decode-step.js';
import { buildPrompts } from '../src/tasks/prompts.js';
import { referenceGreedy, safetensors, writeLumenCheckpoint, type LumenCheckpoint as Written } from './helpers/lumen-model.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'regen-bench.js');

let tmp: string;
let ds: Dataset;
let itemIds: string[];
/** A: starts every answer with its item (generation_prefix "ID : START"). B: switches on its own; tied, bf16, scaled embeddings. */
let A: Written;
let B: Written;
let ckA: LumenCheckpoint;
let ckB: LumenCheckpoint;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'regen-lumen-'));
  ds = await loadDataset('demo');
  itemIds = Array.from({ length: ds.items.count }, (_, i) => ds.items.asin.get(i)!);
  A = writeLumenCheckpoint(path.join(tmp, 'a'), { itemIds, seed: 11, generationPrefix: 'ID : START', maxPositions: 512 });
  B = writeLumenCheckpoint(path.join(tmp, 'b'), { itemIds, seed: 16, startBoost: 5, eosScale: 3, tied: true, dtype: 'BF16', embeddingScale: 1.5, heads: 4 });
  ckA = await LumenCheckpoint.load(A.dir);
  ckB = await LumenCheckpoint.load(B.dir);
});

afterAll(async () => {
  await ckA?.dispose();
  await ckB?.dispose();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** Decoding requests for the first n test users of the demo (short prompts), with their histories excluded. */
function requests(ck: LumenCheckpoint, n: number, words = 120): DecodeRequest[] {
  const set = buildPrompts(ds, { task: 3, template: 'lumen', narrative: 'purchaseReason', budget: { total: words } });
  const h = ds.split.test.history;
  return Array.from({ length: n }, (_, i) => {
    const line = set.line(i, { inputOnly: true })!;
    const exclude = Int32Array.from(h.ids.subarray(h.offsets[i], h.offsets[i + 1]), (id) => ck.itemIndex(ds.items.asin.get(id)!)!);
    return { prompt: encodePrompt(ck, line.input, line.id_tokens!), exclude, stream: i };
  });
}

const plain = (r: DecodedRow) => ({ tokens: Array.from(r.tokens), modes: Array.from(r.modes), item: r.item, ranked: Array.from(r.ranked), stop: r.stop });

describe('LUMEN decoding', () => {
  it('loads a checkpoint: tables, tied embeddings, notes', () => {
    expect(ckA.textHead.count).toBe(A.weights.vocab.length);
    expect(ckA.itemTable.count).toBe(itemIds.length);
    expect(ckA.names.positions).toBe('position_ids');
    expect(ckA.provider).toBe('cpu');
    expect(ckB.notes.join(' ')).toMatch(/tied to the text head/);
    // embedding_scale multiplies input embeddings, not the heads.
    expect(ckB.itemEmbeddings[3]).toBeCloseTo(B.weights.itemEmb[3] * 1.5, 6);
  });

  it.each([
    ['A (starts with its item)', () => [ckA, A] as const],
    ['B (switches on its own; tied, bf16, scaled embeddings)', () => [ckB, B] as const],
  ])('greedy decoding equals the float64 JavaScript reference of the same model: %s', async (_name, get) => {
    const [ck, written] = get();
    const reqs = requests(ck, 6);
    const rows = await new LumenDecoder(ck).decode(reqs, { maxNewTokens: 14, k: 10, batchSize: 6 });
    let items = 0;
    rows.forEach((row, i) => {
      const ref = referenceGreedy(written.weights, written.config, {
        tokens: reqs[i].prompt.tokens,
        items: reqs[i].prompt.items,
        exclude: Array.from(reqs[i].exclude!),
        maxNewTokens: 14,
        k: 10,
      });
      expect(plain(row)).toEqual({ tokens: ref.tokens, modes: ref.modes, item: ref.item, ranked: ref.ranked, stop: ref.stop });
      if (row.item >= 0) items++;
    });
    expect(items).toBeGreaterThan(0);
  });

  it.each<[string, SamplingOptions]>([
    ['greedy', {}],
    ['temperature 1', { temperature: 1, seed: 5 }],
    ['top-k 5 at temperature 0.7', { temperature: 0.7, topK: 5, seed: 6 }],
    ['top-p 0.9 at temperature 1.2', { temperature: 1.2, topP: 0.9, seed: 7, candidates: 4 }],
  ])('batched decoding equals row-by-row decoding: %s', async (_name, sampling) => {
    const reqs = requests(ckB, 12);
    const decode = (batchSize: number, prefillChunk?: number) => new LumenDecoder(ckB).decode(reqs, { maxNewTokens: 24, sampling, batchSize, prefillChunk });
    const batched = await decode(12);
    const single = await decode(1);
    const fives = await decode(5, 7); // other batches, chunked prefill
    expect(batched.map(plain)).toEqual(single.map(plain));
    expect(fives.map(plain)).toEqual(single.map(plain));
    batched.forEach((row, i) => row.logProbs.forEach((lp, j) => expect(Math.abs(lp - single[i].logProbs[j])).toBeLessThan(1e-4)));
    // Here rows finish at different times, so the cache was compacted along the way.
    if (sampling.temperature === 1) expect(new Set(batched.map((r) => r.tokens.length)).size).toBeGreaterThan(1);
  });

  it('switches mode after START for exactly one item, excludes the history, never emits ID_TOKEN', async () => {
    const cfg = ckB.config;
    const reqs = requests(ckB, 24);
    const rows = await new LumenDecoder(ckB).decode(reqs, { maxNewTokens: 40, sampling: { temperature: 1.5, seed: 9 }, batchSize: 8 });
    let switches = 0;
    rows.forEach((row, i) => {
      const history = new Set(reqs[i].exclude);
      const promptEndsWithStart = reqs[i].prompt.tokens[reqs[i].prompt.tokens.length - 1] === cfg.startTokenId;
      for (let j = 0; j < row.tokens.length; j++) {
        const afterStart = j === 0 ? promptEndsWithStart : row.modes[j - 1] === 0 && row.tokens[j - 1] === cfg.startTokenId;
        expect(row.modes[j]).toBe(afterStart ? 1 : 0);
        if (row.modes[j] === 1) {
          switches++;
          expect(history.has(row.tokens[j])).toBe(false);
          expect(row.tokens[j]).toBeLessThan(cfg.itemVocabSize);
        } else {
          expect(row.tokens[j]).not.toBe(cfg.idTokenId);
          expect(row.tokens[j]).not.toBe(cfg.eosTokenId);
        }
      }
      if (row.item >= 0) {
        expect(row.item).toBe(row.tokens[Array.from(row.modes).indexOf(1)]);
        expect(row.ranked[0]).toBe(row.item);
        expect(new Set(row.ranked).size).toBe(row.ranked.length);
        expect(row.ranked.length).toBe(10);
        for (const id of row.ranked) expect(history.has(id)).toBe(false);
      } else expect(row.ranked.length).toBe(0);
      expect(row.stop === 'length' ? row.tokens.length === 40 : row.tokens.length < 40).toBe(true);
    });
    expect(switches).toBeGreaterThan(5);

    // A: the generation prefix ends with START, so every row starts with its item.
    const a = await new LumenDecoder(ckA).decode(requests(ckA, 8), { maxNewTokens: 6, stopAfterItem: true });
    for (const row of a) expect([row.modes.length, row.modes[0], row.stop]).toEqual([1, 1, 'item']);
  });

  it('refuses prompts longer than the model\'s positions, naming the flags to change', async () => {
    const reqs = requests(ckA, 1, 2048);
    await expect(new LumenDecoder(ckA).decode(reqs, { maxNewTokens: 600 })).rejects.toThrow(/max_position_embeddings\): shorten the prompts \(--max-words\) or generate fewer tokens \(--max-new-tokens\)/);
  });
});

describe('LUMEN checkpoint errors name the file and the fix', () => {
  const broken = (name: string, edit: (dir: string) => void) => {
    const dir = path.join(tmp, `broken-${name}`);
    writeLumenCheckpoint(dir, { itemIds: itemIds.slice(0, 50), seed: 1 });
    edit(dir);
    return dir;
  };
  const json = (dir: string, file: string, change: (x: Record<string, unknown>) => void) => {
    const x = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
    change(x);
    writeFileSync(path.join(dir, file), JSON.stringify(x));
  };

  it.each<[string, (dir: string) => void, RegExp]>([
    ['no folder', (dir) => rmSync(dir, { recursive: true }), /no such folder\. A LUMEN checkpoint is a folder with config\.json/],
    ['wrong format', (dir) => json(dir, 'config.json', (c) => (c.format = 'hf')), /config\.json: "format" must be "regen-lumen"/],
    ['missing size', (dir) => json(dir, 'config.json', (c) => delete c.hidden_size), /"hidden_size" must be an integer >= 1 but is missing/],
    ['item list', (dir) => writeFileSync(path.join(dir, 'item_ids.txt'), 'x\ny\n'), /item_ids\.txt lists 2 item ids but config\.json says item_vocab_size 50/],
    [
      'head shape',
      (dir) => writeFileSync(path.join(dir, 'heads.safetensors'), safetensors({ text_head: { dtype: 'F32', shape: [3, 16], data: new Float32Array(48) }, item_embeddings: { dtype: 'F32', shape: [50, 16], data: new Float32Array(800) } })),
      /tensor 'text_head' \(the text head\) has shape \[3, 16\] but config\.json says \[\d+, 16\]/,
    ],
    ['no item tensor', (dir) => writeFileSync(path.join(dir, 'heads.safetensors'), safetensors({ text_head: { dtype: 'F32', shape: [1, 16], data: new Float32Array(16) } })), /has no tensor 'item_embeddings'/],
    [
      'tokenizer',
      (dir) =>
        json(dir, 'tokenizer.json', (t) => {
          (t.added_tokens as { content: string }[]).find((a) => a.content === 'START')!.content = '<start>';
          const vocab = (t.model as { vocab: Record<string, number> }).vocab;
          vocab['<start>'] = vocab.START;
          delete vocab.START;
        }),
      /"START" must encode to the single token 2 \(config\.json "start_token_id"\) but encodes to \[0\]\. Add "START" to the tokenizer's added_tokens/,
    ],
    ['decoder inputs', (dir) => json(dir, 'config.json', (c) => (c.num_hidden_layers = 3)), /lacks the inputs past_key_values\.2\.key, past_key_values\.2\.value; it lacks the outputs present\.2\.key/],
    ['missing decoder', (dir) => rmSync(path.join(dir, 'decoder.onnx')), /decoder\.onnx is missing \(config\.json "decoder" names it\)/],
  ])('%s', async (name, edit, message) => {
    const dir = broken(name.replace(/\s/g, '-'), edit);
    await expect(LumenCheckpoint.load(dir)).rejects.toThrow(message);
  });
});

describe('generate', () => {
  it('writes predictions that eval scores: generate -> eval round trip', async () => {
    const out = path.join(tmp, 'pred.jsonl');
    const r = await generatePredictions({ model: A.dir, limit: 40, maxNewTokens: 12, maxWords: 150, out, batch: 16 });
    expect(r.lines).toBe(40);
    expect(r.withoutItem).toBe(0);
    expect(r.backend.body).toBe('cpu');
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { user: string; items: string[]; narratives: Record<string, string> });
    expect(lines).toHaveLength(40);
    const test = ds.split.test;
    let hits = 0;
    lines.forEach((l, i) => {
      expect(l.user).toBe(ds.users.reviewerId.get(test.users[i]));
      expect(l.items).toHaveLength(10);
      expect(new Set(l.items).size).toBe(10);
      expect(Object.keys(l.narratives)).toEqual(['purchase_reason']);
      expect(typeof l.narratives.purchase_reason).toBe('string');
      if (l.items.includes(ds.items.asin.get(test.targets[i])!)) hits++;
    });
    expect(lines.some((l) => l.narratives.purchase_reason.length > 0)).toBe(true);

    const ev = await runEval({ predictions: out, task: 3, semsim: false, bootstrapSamples: 50 });
    const ranking = (ev.json as { ranking: Record<string, number> }).ranking;
    expect(ranking.n).toBe(test.users.length);
    expect(ranking['recall@10']).toBeCloseTo(hits / test.users.length, 12);
    expect(ev.markdown).toMatch(new RegExp(`examples without a prediction line \\(scored as misses\\)\\D*${(test.users.length - 40).toLocaleString('en-US')}`));
  });

  it('sampled predictions are reproducible and do not depend on the batch size', async () => {
    const run = async (batch: number, seed: number) => {
      const out = path.join(tmp, `sampled-${batch}-${seed}.jsonl`);
      await generatePredictions({ model: B.dir, limit: 20, maxNewTokens: 16, maxWords: 100, out, batch, task: 3, narratives: ['user_profile', 'purchase_reason'], sampling: { temperature: 1, topP: 0.95, seed } });
      return readFileSync(out, 'utf8');
    };
    const a = await run(20, 3);
    expect(await run(3, 3)).toBe(a);
    expect(await run(20, 4)).not.toBe(a);
    expect(JSON.parse(a.split('\n')[0]).narratives).toHaveProperty('user_profile');
  });

  it('tasks 1 and 2 decode the item only; option errors name the option', async () => {
    const out = path.join(tmp, 'task1.jsonl');
    const r = await generatePredictions({ model: A.dir, task: 1, limit: 10, maxWords: 100, out });
    expect(r.stops.item).toBe(10);
    expect(JSON.parse(readFileSync(out, 'utf8').split('\n')[0])).not.toHaveProperty('narratives');
    await expect(generatePredictions({ model: A.dir, task: 1, narratives: ['user_profile'] })).rejects.toThrow(/options\.narratives applies to task 3 only/);
    await expect(generatePredictions({ model: A.dir, task: 3, split: 'valid' })).rejects.toThrow(/test split only/);
    await expect(generatePredictions({ model: A.dir, narratives: ['purchase_reasn'] })).rejects.toThrow(/did you mean purchase_reason/);
  });
});

describe('regen-bench generate (CLI)', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [bin, 'generate', ...args], { encoding: 'utf8' });

  it('writes predictions, prints the summary, and runs on the CPU when --gpu has no CUDA provider', () => {
    const out = path.join(tmp, 'cli.jsonl');
    const r = run('--model', A.dir, '--limit', '6', '--max-words', '120', '--max-new-tokens', '8', '--out', out, '--gpu', '0', '--json');
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.status).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.lines).toBe(6);
    expect(summary.backend.body).toMatch(/^cpu|^cuda:0$/);
    if (summary.backend.body === 'cpu') expect(summary.notes.join(' ')).toMatch(/GPU 0: the CUDA execution provider is not available .* runs on the CPU/); // issue 13: notes name the device, not a flag
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(6);
    const text = run('--model', A.dir, '--limit', '2', '--max-words', '100', '--max-new-tokens', '4', '--out', out);
    expect(text.stdout).toMatch(/wrote .*cli\.jsonl: 2 lines \(task 3, test split, purchase_reason; greedy\)/);
    expect(text.stdout).toMatch(/per step: ONNX forward [\d.]+%, native step [\d.]+%/);
    expect(text.stdout).toMatch(/next: regen-bench eval --predictions/);
  });

  it('bad flags and models are errors that name the flag or file', () => {
    expect(run('--model', A.dir, '--top-k', '5').stderr).toMatch(/--top-k and --top-p apply to sampling: set --temperature above 0/);
    expect(run('--model', A.dir, '--top-p', '1.5').stderr).toMatch(/--top-p expects a number in \(0, 1\]/);
    expect(run('--model', path.join(tmp, 'nope')).stderr).toMatch(/--model .*nope: no such folder/);
    expect(run('--model', A.dir, '--task', '2', '--narrative', 'user_profile').stderr).toMatch(/--narrative applies to task 3 only/);
    expect(run('--model', A.dir, '--out', tmp).stderr).toMatch(/--out .* is a folder/);
  });
});
