// `regen-bench eval`, `merge` and `compare`: parse flags, call src/eval, print.
import { Command, Option } from 'commander';

import { comparePartFiles, comparisonJson, formatComparison } from '../eval/compare.js';
import { mergePartFiles } from '../eval/merge.js';
import { BUILTIN_MODELS, runEval, type RunEvalOptions } from '../eval/run.js';
import { DEFAULT_SEMSIM_MODEL } from '../metrics/text/semsim.js';
import { NARRATORS } from '../models/builtin.js';
import { dataFlags, failOnBadInput, flags, modelRunOptions, narratorFlags, type ModelRunFlags } from './flags.js';
import { withProgress } from './progress.js';

interface EvalFlags extends ModelRunFlags, Pick<RunEvalOptions, 'predictions' | 'resolve' | 'queries' | 'items' | 'itemIds' | 'queryIds' | 'precision' | 'stem' | 'shard' | 'out'> {
  semsim?: string | boolean;
  embeddingCache?: string;
  seed: number;
  bootstrap: number;
  json?: boolean;
  allowBadInput?: boolean;
}

export function registerEvalCommands(program: Command): void {
  narratorFlags(dataFlags(
    program.command('eval').description('evaluate a model on REGEN (default: the built-in model on the embedded demo) and print the report'),
  ))
    .addOption(flags.task())
    .addOption(flags.split('evaluation split'))
    .option('--model <name>', `a built-in model: ${BUILTIN_MODELS.join(', ')} (critique models fuse with a base: critique-bm25:markov), or a checkpoint folder of \`regen-bench train\`; default pop`)
    .option('--narrator <name>', `the narrator paired with a built-in model: ${NARRATORS.join(', ')} (an LLM in the ONNX layout of the README's "LLM narrator"; default template)`)
    .addOption(flags.narrative('task 3: score only these narrative kinds, comma-separated (default all six)'))
    .option('--encoder <model>', `critique-emb: sentence encoder (hub id or folder; default ${DEFAULT_SEMSIM_MODEL} when cached)`)
    .addOption(flags.fusionWeight())
    .option('--predictions <file>', 'predictions JSONL: {"user", "items": [...ranked] (or "titles": [...], or "text": "..."), "narratives": {...}}')
    .addOption(new Option('--resolve <how>', 'predictions answering by title: fuzzy (exact id, exact normalised title, then trigram match), exact (no fuzzy step), or off (ids only)').choices(['fuzzy', 'exact', 'off']))
    .option('--queries <file>', 'query embeddings (.npy / .safetensors), one row per example')
    .option('--items <file>', 'item embeddings (.npy / .safetensors)')
    .option('--item-ids <file>', 'item ids of the --items rows (default: <items>.ids.txt beside it)')
    .option('--query-ids <file>', 'user ids of the --queries rows (default: the rows follow the example order)')
    .addOption(flags.precision('embedding scores: fp32, or bf16 (CPUs with AVX512-BF16; GPUs of compute capability 8.0+)'))
    .option('--exclude-history', "remove each user's earlier purchases from the candidates, all of them: a repeat-purchase target is a miss (default)", true)
    .option('--no-exclude-history', 'keep earlier purchases as candidates')
    .addOption(flags.cutoffs('cut-off of Recall@k and NDCG@k, or several in one pass (5,10,20: the lists are as long as the largest)', 10))
    .addOption(flags.gpu('score on GPU n, or "auto" (the CPU when no GPU is usable)'))
    .option('--semsim [model]', `semantic similarity with this sentence encoder (hub id or folder); default: ${DEFAULT_SEMSIM_MODEL} when cached`)
    .option('--no-semsim', 'skip semantic similarity')
    .option('--offline', 'never download an encoder')
    .option('--embedding-cache <dir>', 'where reference embeddings are cached (default ~/.cache/regen-bench/embeddings)')
    .option('--stem', 'Porter-stem ROUGE tokens (rouge-score use_stemmer)')
    .addOption(flags.seed('bootstrap seed'))
    .addOption(flags.bootstrap('bootstrap resamples'))
    .addOption(flags.shard())
    .option('--out <dir>', 'write chunks (resumable), parts and report.json / report.md here')
    .option('--json', 'print the report as JSON')
    .option('--strict', 'stop at the first bad input record instead of counting it')
    .addOption(flags.allowBadInput())
    .addOption(flags.maxSegmentTokens())
    .action(async (f: EvalFlags) => {
      if (f.shard && !f.out) throw new Error('--shard writes a part file: give --out DIR (shared by all shards)');
      const result = await withProgress((progress) =>
        runEval({
          ...modelRunOptions(f),
          predictions: f.predictions,
          resolve: f.resolve,
          queries: f.queries,
          items: f.items,
          itemIds: f.itemIds,
          queryIds: f.queryIds,
          precision: f.precision,
          semsim: f.semsim === false ? false : typeof f.semsim === 'string' ? f.semsim : f.semsim === true ? DEFAULT_SEMSIM_MODEL : undefined,
          semsimCacheDir: f.embeddingCache,
          stem: f.stem,
          seed: f.seed,
          bootstrapSamples: f.bootstrap,
          shard: f.shard,
          out: f.out,
          progress,
          log: (line) => process.stderr.write(`${line}\n`),
        }),
      );
      if (f.shard) {
        process.stderr.write(`wrote the part of shard ${f.shard.index}/${f.shard.count} to ${f.out}; combine all shards with: regen-bench merge ${f.out}\n`);
      } else console.log(f.json ? JSON.stringify(result.json, null, 2) : result.markdown);
      failOnBadInput(result.badInput, f.allowBadInput);
    });

  program
    .command('merge')
    .description('combine the parts written by `eval --shard i/n --out DIR` into the report a single run gives')
    .argument('<parts...>', 'part files (*.part.json), or eval --out folders (every part in them)')
    .option('--out <dir>', 'also write report.json, report.md and the merged parts here')
    .option('--json', 'print the report as JSON')
    .addOption(flags.allowBadInput())
    .action(async (parts: string[], f: { out?: string; json?: boolean; allowBadInput?: boolean }) => {
      const result = await mergePartFiles(parts, f.out);
      for (const note of result.written ?? []) process.stderr.write(`${note}\n`);
      console.log(f.json ? JSON.stringify(result.json, null, 2) : result.markdown);
      failOnBadInput(result.badInput, f.allowBadInput);
    });

  program
    .command('compare')
    .description('per-metric differences of two evaluations of the same examples, with paired randomisation and bootstrap p-values')
    .argument('<a>', 'a part file, or an eval --out folder')
    .argument('<b>', 'a part file, or an eval --out folder')
    .addOption(flags.seed('resampling seed'))
    .addOption(flags.bootstrap('resamples of the paired tests and intervals'))
    // The flag's name before --bootstrap; kept working, hidden from the help.
    .addOption(new Option('--samples <n>').hideHelp().argParser((v) => flags.bootstrap().parseArg!(v, undefined)))
    .option('--across-tasks', 'compare task 1 with task 2 (the same users and targets; only the critique shown differs)')
    .option('--json', 'print JSON')
    .addOption(flags.allowBadInput())
    .action(async (a: string, b: string, f: { seed: number; bootstrap: number; samples?: number; acrossTasks?: boolean; json?: boolean; allowBadInput?: boolean }) => {
      const result = await withProgress(async (progress) => comparePartFiles(a, b, { seed: f.seed, samples: f.samples ?? f.bootstrap, acrossTasks: f.acrossTasks, progress }));
      console.log(f.json ? JSON.stringify(comparisonJson(result), null, 2) : formatComparison(result));
      failOnBadInput(result.badInput, f.allowBadInput);
    });
}
