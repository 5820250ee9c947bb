// The LUMEN decoding benchmark: tokens per second of batched dual-vocabulary decoding for a tiny model
// (d = 16, 2 layers, the demo's 1,500 items) and a mid-size one (d = 512, 4 layers, 8 heads, MLP
// 2,048, text vocabulary 32,000, 27,887 items: Office's item count), at batch 1 and 32, on prompts
// of the embedded demo (LUMEN template, task 3). Per decoding step it splits the time into the ONNX
// forward, the native step (both tables, top-k, softmax statistics, choice) and the rest (embedding
// lookups, bookkeeping, cache compaction). The target: the native step at most 10% of the
// forward at batch 32. Checkpoints are random (written by test/helpers/lumen-model.ts) and kept in
// the work folder between runs.
// Usage: npm run bench -- lumen [--work DIR] [--runs N (3; medians)] [--words N (prompt budget, 400)] [--tokens N (48)] [--quick]
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { loadDataset } from '../src/data/load.js';
import { LumenCheckpoint } from '../src/models/lumen/checkpoint.js';
import { loadCpuBinding } from '../src/engine/binding.js';
import { LumenDecoder, type DecodeRequest, type DecodeTiming } from '../src/models/lumen/decoder.js';
import { encodePrompt } from '../src/models/lumen/prompt.js';
import type { SamplingOptions } from '../src/engine/decode-step.js';
import { buildPrompts } from '../src/tasks/prompts.js';
import { writeFileAtomic } from '../src/util/files.js';
import { writeLumenCheckpoint, type LumenSpec } from '../test/helpers/lumen-model.js';

const arg = (args: string[], name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface Row {
  model: string;
  batch: number;
  decoding: string;
  promptTokens: number;
  tokens: number;
  /** Generated tokens per second over the decoding steps (prefill excluded), and end to end. */
  decodeTokensPerS: number;
  totalTokensPerS: number;
  stepMsPerStep: number;
  forwardMsPerStep: number;
  otherMsPerStep: number;
  /** The native step as a share of the forward, and everything outside the forward as a share of a step. */
  stepOverForward: number;
  outsideForwardShare: number;
}

export async function benchLumen(args: string[]): Promise<void> {
  const work = arg(args, '--work') ?? path.join(os.tmpdir(), 'regen-bench-bench-lumen');
  const runs = Number(arg(args, '--runs') ?? 3);
  const words = Number(arg(args, '--words') ?? 400);
  const maxNewTokens = Number(arg(args, '--tokens') ?? 48);
  const quick = args.includes('--quick');
  const bf16 = loadCpuBinding().bf16Supported();
  mkdirSync(work, { recursive: true });
  const ds = await loadDataset('demo');
  const demoItems = Array.from({ length: ds.items.count }, (_, i) => ds.items.asin.get(i)!);

  const models: { name: string; spec: LumenSpec }[] = [
    { name: 'tiny (d 16, 2 layers, 51 tokens, 1,500 items)', spec: { itemIds: demoItems, seed: 1, eosScale: 0.2, generationPrefix: 'ID : START', maxPositions: 4096 } },
  ];
  if (!quick) {
    // Office-sized item vocabulary: the demo's items first (so prompts find theirs), then more.
    const officeItems = [...demoItems, ...Array.from({ length: 27_887 - demoItems.length }, (_, i) => `X${String(i).padStart(7, '0')}`)];
    models.push({
      name: 'mid (d 512, 4 layers, 8 heads, 32,000 tokens, 27,887 items)',
      spec: { itemIds: officeItems, seed: 2, dim: 512, layers: 4, heads: 8, ff: 2048, vocabSize: 32_000, headScale: 0.25, eosScale: 0.2, generationPrefix: 'ID : START', maxPositions: 4096 },
    });
  }

  const rows: Row[] = [];
  for (const { name, spec } of models) {
    const dir = path.join(work, `${spec.dim ?? 16}`);
    const key = JSON.stringify({ ...spec, itemIds: spec.itemIds.length });
    const stamp = path.join(dir, 'spec.json');
    if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== key) {
      console.log(`writing the ${name} checkpoint to ${dir} (once) ...`);
      writeLumenCheckpoint(dir, spec);
      writeFileSync(stamp, key);
    }
    for (const precision of bf16 && spec.dim ? (['fp32', 'bf16'] as const) : (['fp32'] as const)) {
      const ck = await LumenCheckpoint.load(dir, { precision });
      const set = buildPrompts(ds, { task: 3, template: 'lumen', narrative: 'purchaseReason', budget: { total: words } });
      const h = ds.split.test.history;
      const requests = (n: number): DecodeRequest[] =>
        Array.from({ length: n }, (_, i) => {
          const line = set.line(i, { inputOnly: true })!;
          const exclude = Int32Array.from(h.ids.subarray(h.offsets[i], h.offsets[i + 1]), (id) => ck.itemIndex(ds.items.asin.get(id)!)!);
          return { prompt: encodePrompt(ck, line.input, line.id_tokens!), exclude, stream: i };
        });
      const settings: [string, SamplingOptions][] =
        precision === 'fp32' ? [['greedy', {}], ['sampled (T = 1)', { temperature: 1, seed: 1 }]] : [['greedy, bf16 heads', {}]];
      for (const batch of [1, 32]) {
        const reqs = requests(batch);
        const promptTokens = reqs.reduce((s, r) => s + r.prompt.tokens.length, 0) / reqs.length;
        for (const [decoding, sampling] of settings) {
          if (batch === 1 && decoding.startsWith('sampled')) continue;
          const timings: DecodeTiming[] = [];
          for (let run = 0; run < runs; run++) {
            const decoder = new LumenDecoder(ck);
            await decoder.decode(reqs, { maxNewTokens, batchSize: batch, sampling });
            timings.push(decoder.timing);
          }
          const pick = (f: (t: DecodeTiming) => number) => median(timings.map(f));
          const steps = timings[0].steps;
          const tokens = timings[0].tokens;
          const decodeMs = pick((t) => t.forwardMs + t.stepMs + t.otherMs);
          const row: Row = {
            model: name,
            batch,
            decoding,
            promptTokens: Math.round(promptTokens),
            tokens,
            decodeTokensPerS: tokens / (decodeMs / 1000),
            totalTokensPerS: tokens / (pick((t) => t.totalMs) / 1000),
            forwardMsPerStep: pick((t) => t.forwardMs) / steps,
            stepMsPerStep: pick((t) => t.stepMs) / steps,
            otherMsPerStep: pick((t) => t.otherMs) / steps,
            stepOverForward: pick((t) => t.stepMs / t.forwardMs),
            outsideForwardShare: pick((t) => (t.stepMs + t.otherMs) / (t.forwardMs + t.stepMs + t.otherMs)),
          };
          rows.push(row);
          console.log(
            `${name}, batch ${batch}, ${decoding}: ${row.decodeTokensPerS.toFixed(0)} tokens/s decoding (${row.totalTokensPerS.toFixed(0)} with prefill; prompts ${row.promptTokens} tokens); ` +
              `per step: forward ${row.forwardMsPerStep.toFixed(2)} ms, native step ${row.stepMsPerStep.toFixed(2)} ms (${(100 * row.stepOverForward).toFixed(1)}% of the forward), ` +
              `other ${row.otherMsPerStep.toFixed(2)} ms; outside the forward ${(100 * row.outsideForwardShare).toFixed(1)}% of a step`,
          );
        }
      }
      await ck.dispose();
    }
  }

  const out = path.join('bench', 'results');
  mkdirSync(out, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  writeFileAtomic(path.join(out, `lumen-${stamp}.json`), JSON.stringify({ cpu: os.cpus()[0]?.model, cores: os.availableParallelism(), words, maxNewTokens, runs, rows }, null, 2));
  const target = rows.filter((r) => r.batch === 32 && r.decoding === 'greedy');
  for (const r of target)
    console.log(`target (native step <= 10% of the forward at batch 32): ${r.model}: ${(100 * r.stepOverForward).toFixed(1)}% -> ${r.stepOverForward <= 0.1 ? 'met' : 'not met'}`);
}
