// The LLM narrator benchmark (`npm run bench -- narrator [--quick] [--runs N] [--words N] [--tokens N] [--n N]`):
// narratives per second and tokens per second of `--narrator onnx:DIR` on demo prompts (the hybrid
// template, task 3, purchase_reason, the recommended item filled in), for a tiny model (d = 16,
// 2 layers) and a mid-size one (d = 512, 4 layers, 8 heads, MLP 2,048, 32,000 tokens), both random
// and written in the Optimum layout the narrator reads (test/helpers/narrator-model.ts; kept in the
// work folder between runs). No generation cache: every narrative is generated.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { loadDataset } from '../src/data/load.js';
import { OnnxNarrator } from '../src/models/llm/narrator.js';
import { buildExamples } from '../src/tasks/examples.js';
import { writeNarratorModel, type NarratorSpec } from '../test/helpers/narrator-model.js';

const arg = (args: string[], name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function benchNarrator(args: string[]): Promise<void> {
  const work = arg(args, '--work') ?? path.join(os.tmpdir(), 'regen-bench-bench-narrator');
  const runs = Number(arg(args, '--runs') ?? 3);
  const words = Number(arg(args, '--words') ?? 400);
  const maxNewTokens = Number(arg(args, '--tokens') ?? 48);
  const quick = args.includes('--quick');
  mkdirSync(work, { recursive: true });
  const ds = await loadDataset('demo');
  const vocab = new Set<string>();
  for (let i = 0; i < ds.items.count; i++) for (const t of (ds.items.title.get(i) ?? '').split(/[^A-Za-z]+/)) if (t) vocab.add(t);
  const models: { name: string; spec: NarratorSpec; n: number }[] = [
    { name: 'tiny (d 16, 2 layers)', spec: { seed: 1, words: [...vocab], maxPositions: 4096 }, n: Number(arg(args, '--n') ?? 256) },
  ];
  if (!quick)
    models.push({ name: 'mid (d 512, 4 layers, 8 heads, 32,000 tokens)', spec: { seed: 2, words: [...vocab], dim: 512, layers: 4, heads: 8, ff: 2048, vocabSize: 32_000, headScale: 0.25, maxPositions: 4096 }, n: Number(arg(args, '--n') ?? 64) });
  const examples = buildExamples(ds, 3);
  console.log(`load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model})`);
  for (const { name, spec, n } of models) {
    const dir = path.join(work, `${spec.dim ?? 16}`);
    const key = JSON.stringify({ ...spec, words: spec.words?.length });
    const stamp = path.join(dir, 'spec.json');
    if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== key) {
      console.log(`writing the ${name} model to ${dir} (once) ...`);
      writeNarratorModel(dir, spec);
      writeFileSync(stamp, key);
    }
    const set = examples.slice(0, n);
    const top = Int32Array.from(set.targets);
    for (const batch of [1, 16]) {
      if (batch === 1 && n > 64) continue;
      const rows: { s: number; prefill: number; steps: number; tokens: number }[] = [];
      for (let run = 0; run < runs; run++) {
        const narrator = new OnnxNarrator(dir, { maxNewTokens, maxWords: words, batch, generationCache: null });
        await narrator.prepare();
        await narrator.narrate(batch === 1 ? set.slice(0, Math.min(n, 16)) : set, top, 1, ['purchaseReason']);
        const st = narrator.stats;
        rows.push({ s: st.seconds, prefill: st.prefillSeconds, steps: st.stepSeconds, tokens: st.tokens });
        await narrator.dispose();
      }
      const tokens = rows[0].tokens;
      const count = batch === 1 ? Math.min(n, 16) : n;
      console.log(
        `${name}, batch ${batch}, ${count} narratives x ${maxNewTokens} tokens at most (prompts ${words} words): ` +
          `${(tokens / median(rows.map((r) => r.s))).toFixed(0)} tokens/s end to end, ${(tokens / median(rows.map((r) => r.steps))).toFixed(0)} tokens/s in the decoding steps; ` +
          `prefill ${median(rows.map((r) => r.prefill)).toFixed(2)} s, ${(count / median(rows.map((r) => r.s))).toFixed(1)} narratives/s (${tokens} tokens; medians of ${runs})`,
      );
    }
  }
  console.log(`load average after: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}
