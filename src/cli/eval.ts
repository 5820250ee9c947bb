// `regen-bench eval`, `merge` and `compare`.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

import { Command, Option } from 'commander';

import { comparePartFiles, formatComparison } from '../eval/compare.js';
import { mergePartFiles } from '../eval/merge.js';
import { BUILTIN_MODELS, runEval } from '../eval/run.js';
import { NARRATORS } from '../models/builtin.js';
import type { SplitName, TaskId } from '../tasks/examples.js';
import { consoleProgress } from '../util/progress.js';

export function intIn(flag: string, lo: number, hi = Number.MAX_SAFE_INTEGER) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < lo || n > hi) throw new Error(`${flag} expects an integer in [${lo}, ${hi === Number.MAX_SAFE_INTEGER ? '...' : hi}] but received '${value}'`);
    return n;
  };
}

export function unitInterval(flag: string) {
  return (value: string) => {
    const n = Number(value);
    if (value.trim() === '' || !(n >= 0 && n <= 1)) throw new Error(`${flag} expects a number in [0, 1] (e.g. ${flag} 0.3) but received '${value}'`);
    return n;
  };
}

function parseShard(value: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(value);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index >= count)
    throw new Error(`--shard expects i/n with 0 <= i < n (e.g. --shard 0/8, or --shard $JOB_COMPLETION_INDEX/8) but received '${value}'`);
  return { index, count };
}

function parseGpu(value: string): number | 'auto' {
  if (value === 'auto') return 'auto';
  return intIn('--gpu', 0, 1024)(value);
}

interface EvalFlags {
  data?: string;
  task: TaskId;
  split: SplitName;
  model?: string;
  narrator?: string;
  encoder?: string;
  fusionWeight?: number;
  predictions?: string;
  queries?: string;
  items?: string;
  itemIds?: string;
  queryIds?: string;
  precision?: 'fp32' | 'bf16';
  excludeHistory: boolean;
  k: number;
  gpu?: number | 'auto';
  semsim?: string | boolean;
  offline?: boolean;
  stem?: boolean;
  seed: number;
  bootstrap: number;
  shard?: { index: number; count: number };
  out?: string;
  json?: boolean;
  strict?: boolean;
}

/** A part file, or an eval --out folder (its last row's part). */
function partPath(arg: string): string {
  if (existsSync(arg) && statSync(arg).isDirectory()) {
    const report = path.join(arg, 'report.json');
    const task = existsSync(report) ? (JSON.parse(readFileSync(report, 'utf8')) as { signature: string }).signature.match(/\|task:(\d[\w-]*)\|/)?.[1] : undefined;
    const file = path.join(arg, `task${task ?? '3'}.part.json`);
    if (!existsSync(file)) throw new Error(`${arg} holds no ${path.basename(file)}: give the part file itself, or the --out folder of a finished eval`);
    return file;
  }
  return arg;
}

export function registerEvalCommands(program: Command): void {
  program
    .command('eval')
    .description('evaluate a model on REGEN (default: the built-in model on the embedded demo) and print the report')
    .option('--data <source>', 'dataset: a REGEN jsonl, Amazon 2018 file, plain sequences, a prepared folder, or "demo"', 'demo')
    .addOption(new Option('--task <n>', 'task: 1 (history -> item), 2 (+ critique), 3 (+ critique -> item + narrative)').argParser(intIn('--task', 1, 3)).default(3))
    .addOption(new Option('--split <name>', 'evaluation split').choices(['test', 'valid']).default('test'))
    .option('--model <name>', `a built-in model: ${BUILTIN_MODELS.join(', ')} (critique models fuse with a base: critique-bm25:markov), or a checkpoint folder of \`regen-bench train\`; default pop`)
    .option('--narrator <name>', `the narrator paired with a built-in model: ${NARRATORS.join(', ')} (default template)`)
    .option('--encoder <model>', 'critique-emb: sentence encoder (hub id or folder; default all-MiniLM-L6-v2 when cached)')
    .addOption(new Option('--fusion-weight <w>', 'critique models: use this fusion weight in [0, 1] instead of tuning it on the valid split').argParser(unitInterval('--fusion-weight')))
    .option('--predictions <file>', 'predictions JSONL: {"user", "items": [...ranked], "narratives": {...}}')
    .option('--queries <file>', 'query embeddings (.npy / .safetensors), one row per example')
    .option('--items <file>', 'item embeddings (.npy / .safetensors)')
    .option('--item-ids <file>', 'item ids of the --items rows (default: <items>.ids.txt beside it)')
    .option('--query-ids <file>', 'user ids of the --queries rows (default: the rows follow the example order)')
    .addOption(new Option('--precision <p>', 'embedding scores: fp32, or bf16 (CPUs with AVX512-BF16; GPUs of compute capability 8.0+)').choices(['fp32', 'bf16']))
    .option('--exclude-history', 'remove each user\'s earlier purchases from the candidates, all of them: a repeat-purchase target is a miss (default)', true)
    .option('--no-exclude-history', 'keep earlier purchases as candidates')
    .addOption(new Option('--k <n>', 'cut-off of Recall@k and NDCG@k').argParser(intIn('--k', 1, 100_000)).default(10))
    .addOption(new Option('--gpu <n>', 'score on GPU n, or "auto" (the CPU when no GPU is usable)').argParser(parseGpu))
    .option('--semsim [model]', 'semantic similarity with this sentence encoder (hub id or folder); default: all-MiniLM-L6-v2 when cached')
    .option('--no-semsim', 'skip semantic similarity')
    .option('--offline', 'never download an encoder')
    .option('--stem', 'Porter-stem ROUGE tokens (rouge-score use_stemmer)')
    .addOption(new Option('--seed <n>', 'bootstrap seed').argParser(intIn('--seed', 0, 2 ** 32 - 1)).default(0))
    .addOption(new Option('--bootstrap <n>', 'bootstrap resamples').argParser(intIn('--bootstrap', 1, 1_000_000)).default(1000))
    .addOption(new Option('--shard <i/n>', 'evaluate shard i of n (0-based) and write a mergeable part to --out').argParser(parseShard))
    .option('--out <dir>', 'write chunks (resumable), parts and report.json / report.md here')
    .option('--json', 'print the report as JSON')
    .option('--strict', 'stop at the first bad input record instead of counting it')
    .action(async (flags: EvalFlags) => {
      if (flags.shard && !flags.out) throw new Error('--shard writes a part file: give --out DIR (shared by all shards)');
      const progress = consoleProgress();
      try {
        const result = await runEval({
          data: flags.data,
          task: flags.task,
          split: flags.split,
          model: flags.model,
          narrator: flags.narrator,
          encoder: flags.encoder,
          fusionWeight: flags.fusionWeight,
          predictions: flags.predictions,
          queries: flags.queries,
          items: flags.items,
          itemIds: flags.itemIds,
          queryIds: flags.queryIds,
          precision: flags.precision,
          excludeHistory: flags.excludeHistory,
          k: flags.k,
          gpu: flags.gpu,
          semsim: flags.semsim === false ? false : typeof flags.semsim === 'string' ? flags.semsim : flags.semsim === true ? 'Xenova/all-MiniLM-L6-v2' : undefined,
          offline: flags.offline,
          stem: flags.stem,
          seed: flags.seed,
          bootstrapSamples: flags.bootstrap,
          shard: flags.shard,
          out: flags.out,
          strict: flags.strict,
          progress,
          log: (line) => process.stderr.write(`${line}\n`),
        });
        progress.stop();
        if (flags.shard) {
          process.stderr.write(`wrote the part of shard ${flags.shard.index}/${flags.shard.count} to ${flags.out}; combine all shards with: regen-bench merge ${flags.out}/*.part.json\n`);
          return;
        }
        console.log(flags.json ? JSON.stringify(result.json, null, 2) : result.markdown);
      } finally {
        progress.stop();
      }
    });

  program
    .command('merge')
    .description('combine the parts written by `eval --shard i/n --out DIR` into the report a single run gives')
    .argument('<parts...>', 'part files (*.part.json)')
    .option('--out <dir>', 'also write report.json, report.md and the merged parts here')
    .option('--json', 'print the report as JSON')
    .action(async (parts: string[], flags: { out?: string; json?: boolean }) => {
      const result = await mergePartFiles(parts, flags.out);
      console.log(flags.json ? JSON.stringify(result.json, null, 2) : result.markdown);
    });

  program
    .command('compare')
    .description('per-metric differences of two evaluations of the same examples, with paired randomisation and bootstrap p-values')
    .argument('<a>', 'a part file, or an eval --out folder')
    .argument('<b>', 'a part file, or an eval --out folder')
    .addOption(new Option('--seed <n>', 'resampling seed').argParser(intIn('--seed', 0, 2 ** 32 - 1)).default(0))
    .addOption(new Option('--samples <n>', 'resamples').argParser(intIn('--samples', 1, 1_000_000)).default(1000))
    .option('--json', 'print JSON')
    .action((a: string, b: string, flags: { seed: number; samples: number; json?: boolean }) => {
      const result = comparePartFiles(partPath(a), partPath(b), { seed: flags.seed, samples: flags.samples });
      console.log(flags.json ? JSON.stringify(result, null, 2) : formatComparison(result));
    });
}
