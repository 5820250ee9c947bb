// The baselines benchmark: training + full-ranking evaluation of each built-in recommender on the
// Office-scale synthetic set (89,489 test users, 27,887 items; target <= 60 s each), and the
// retrieval narrator over every test user. Two runs each.
// Usage: npm run bench -- baselines [--work DIR] [--models pop,markov,...] [--runs N]
// (the synthetic file and its cache are shared with the eval benchmark's default folder).
import { loadDataset } from '../src/data/load.js';
import { runEval } from '../src/eval/run.js';
import { createNarrator, createRecommender } from '../src/models/builtin.js';
import { buildExamples } from '../src/tasks/examples.js';
import { officeSynthetic } from './office.js';

const seconds = (t: number) => ((performance.now() - t) / 1000).toFixed(2);

export async function benchBaselines(args: string[]): Promise<void> {
  const arg = (name: string) => (args.indexOf(name) >= 0 ? args[args.indexOf(name) + 1] : undefined);
  const models = (arg('--models') ?? 'pop,markov,sknn,itemknn,critique-bm25:markov,critique-bm25:sknn,critique-bm25:itemknn').split(',');
  const runs = Number(arg('--runs') ?? 2);
  const { jsonl, cacheDir } = await officeSynthetic(arg('--work'));
  process.env.REGEN_BENCH_CACHE = cacheDir;
  let t = performance.now();
  const ds = await loadDataset(jsonl, { cacheDir });
  const t2 = buildExamples(ds, 2);
  console.log(`office: ${t2.length.toLocaleString('en-US')} test users, ${ds.items.count.toLocaleString('en-US')} items (load ${seconds(t)} s)`);

  for (const name of models) {
    for (let run = 1; run <= runs; run++) {
      // The model alone: fit (and tune) on the splits, then rank every test user over every item.
      const model = createRecommender(name);
      t = performance.now();
      await model.prepare?.(t2);
      const fit = seconds(t);
      t = performance.now();
      const r = await model.recommend(t2, { k: 10, excludeHistory: true });
      const rank = seconds(t);
      let hits = 0;
      for (const x of r.ranks) if (x < 10) hits++;
      model.dispose?.();
      // The whole command: `regen-bench eval --data office.jsonl --task 2 --model NAME --no-semsim`.
      t = performance.now();
      await runEval({ data: jsonl, task: 2, model: name, semsim: false });
      const evalS = seconds(t);
      console.log(`${name} run ${run}: train ${fit} s + rank ${rank} s; eval --task 2 end to end ${evalS} s (target <= 60 s); Recall@10 ${(hits / r.ranks.length).toFixed(4)} (${model.name})`);
    }
  }

  // Narrators over every test user (task 3), describing the popularity model's first pick.
  const t3 = buildExamples(ds, 3);
  const top = new Int32Array(t3.length).fill(0);
  for (const name of ['template', 'retrieval-bm25']) {
    for (let run = 1; run <= runs; run++) {
      const narrator = createNarrator(name);
      t = performance.now();
      narrator.narrate(t3, top, 1, t3.narrativeKinds);
      console.log(`narrator ${name} run ${run}: ${t3.length.toLocaleString('en-US')} users x 6 kinds in ${seconds(t)} s`);
    }
  }
}
