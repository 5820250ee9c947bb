// The eval benchmark: `regen-bench eval` at Office scale (synthetic office preset: 89,489 test users,
// 27,887 items). Times (1) the full-ranking eval from embedding files (d = 64) end to end: read the
// .npy files, rank every user over every item with history excluded, metrics with bootstrap
// intervals; (2) the text metrics over one narrative per user. Reference runs in the same process:
// the ranking eval against the bare ItemTable.search of the same queries; the text metrics against
// the text-metrics API on the same pairs.
// Usage: npm run bench -- eval [--work DIR]   (the synthetic file and its cache are reused across runs)
import { writeFileSync } from 'node:fs';
import path from 'node:path';

import { loadDataset } from '../src/data/load.js';
import { ItemTable } from '../src/engine/item-table.js';
import { pairedSums, pairedSumsReference } from '../src/eval/bootstrap.js';
import { compareParts } from '../src/eval/compare.js';
import type { EvalPart } from '../src/eval/evaluate.js';
import { runEval } from '../src/eval/run.js';
import { computeTextStats } from '../src/metrics/text/score.js';
import { closeTextPools } from '../src/metrics/text/pool.js';
import { buildExamples } from '../src/tasks/examples.js';
import { encodeNpy } from '../src/models/embeddings-file.js';
import { rng } from '../src/util/random.js';
import { officeSynthetic } from './office.js';


const time = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
  const t = performance.now();
  const r = await fn();
  return [r, (performance.now() - t) / 1000];
};

export async function benchEval(args: string[]): Promise<void> {
  const workArg = args.indexOf('--work');
  const { work, jsonl, cacheDir } = await officeSynthetic(workArg >= 0 ? args[workArg + 1] : undefined);
  const [ds, loadS] = await time(() => loadDataset(jsonl, { cacheDir }));
  const examples = buildExamples(ds, 1);
  console.log(`office: ${examples.length.toLocaleString('en-US')} test users, ${ds.items.count.toLocaleString('en-US')} items (dataset load ${loadS.toFixed(2)} s)`);

  const dim = 64;
  const r = rng(7);
  const items = Float32Array.from({ length: ds.items.count * dim }, () => r() - 0.5);
  const queries = Float32Array.from({ length: examples.length * dim }, () => r() - 0.5);
  writeFileSync(path.join(work, 'items.npy'), encodeNpy(items, ds.items.count, dim));
  writeFileSync(path.join(work, 'items.ids.txt'), Array.from({ length: ds.items.count }, (_, i) => ds.items.asin.get(i)).join('\n'));
  writeFileSync(path.join(work, 'queries.npy'), encodeNpy(queries, examples.length, dim));

  for (let run = 1; run <= 2; run++) {
    const [, evalS] = await time(() =>
      runEval({ data: jsonl, task: 1, queries: path.join(work, 'queries.npy'), items: path.join(work, 'items.npy'), semsim: false }),
    );
    // Reference: the engine alone on the same queries (no files, no metrics).
    const [, engineS] = await time(async () => {
      const table = await ItemTable.create(items, { dim });
      const exclude = examples.exclusions(true);
      await table.search(queries, { k: 10, targets: examples.targets, exclude });
      table.dispose();
    });
    console.log(`run ${run}: ranking eval from embeddings ${evalS.toFixed(2)} s end to end (target <= 10 s); the bare engine search ${engineS.toFixed(2)} s (ratio ${(evalS / engineS).toFixed(2)})`);
  }

  // Text metrics: one narrative per user (the template narrator against product endorsements).
  const task3 = buildExamples(ds, 3);
  const pairs = Array.from({ length: task3.length }, (_, i) => ({ hyp: task3.narrative(i, 'userSummaryBrief') ?? '', refs: [task3.narrative(i, 'productEndorsement') ?? ''] }));
  for (let run = 1; run <= 2; run++) {
    const [, statsS] = await time(() => computeTextStats(pairs));
    console.log(`run ${run}: BLEU + ROUGE statistics over ${pairs.length.toLocaleString('en-US')} narratives: ${statsS.toFixed(2)} s (target <= 10 s)`);
  }
  let parts: EvalPart[] = [];
  for (let run = 1; run <= 2; run++) {
    const [res, fullS] = await time(() => runEval({ data: jsonl, task: 3, semsim: false }));
    parts = res.parts;
    console.log(`run ${run}: full task-3 eval (pop + template, 2 rows x 6 narrative kinds = ${(2 * 6 * task3.length).toLocaleString('en-US')} pairs, bootstrap intervals): ${fullS.toFixed(2)} s; recall@10 ${(res.json as { ranking: Record<string, number> }).ranking['recall@10'].toFixed(4)}`);
  }
  await closeTextPools();

  // compare's paired tests (and the critique lift's, and report --baseline's): the native resampling
  // sums against the TypeScript loops they replace, on the same values (the same sums, bit for bit).
  const n = task3.length;
  const samples = 200;
  const scores = Float64Array.from({ length: n }, () => r() - 0.5);
  const bleuRows = Float64Array.from({ length: n * 20 }, () => Math.floor(r() * 40));
  for (const [what, values, columns, mode] of [
    ['one score per example, randomisation', scores, 1, 'negate'],
    ['one score per example, bootstrap', scores, 1, 'draw'],
    ["two systems' BLEU statistics, randomisation", bleuRows, 20, 'swap'],
    ["two systems' BLEU statistics, bootstrap", bleuRows, 20, 'draw'],
  ] as const) {
    const [native, nativeS] = await time(async () => pairedSums(values, columns, samples, 0, 0, mode));
    const [reference, referenceS] = await time(async () => pairedSumsReference(values, columns, samples, 0, 0, mode));
    const same = native.every((x, i) => Object.is(x, reference[i]));
    console.log(`paired test sums, ${what}: ${samples} resamples of ${n.toLocaleString('en-US')} in ${(nativeS * 1000).toFixed(0)} ms, the TypeScript loops ${(referenceS * 1000).toFixed(0)} ms (${(referenceS / nativeS).toFixed(1)}x)${same ? '' : ' MISMATCH'}`);
  }
  // compare end to end on two task-3 runs (pop against markov, their rows with critiques).
  const [markov, markovS] = await time(() => runEval({ data: jsonl, task: 3, model: 'markov', semsim: false }));
  console.log(`full task-3 eval of markov + template (a model whose two rows differ): ${markovS.toFixed(2)} s`);
  const [cmp, compareS] = await time(async () => compareParts(parts[parts.length - 1], markov.parts[markov.parts.length - 1]));
  console.log(`compare pop vs markov, task 3 (${cmp.metrics.length} metrics x 1,000 resamples of ${cmp.matched.toLocaleString('en-US')} examples): ${compareS.toFixed(2)} s`);
}
