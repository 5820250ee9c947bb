// `regen-bench generate`: parses flags and calls src/models/lumen/generate.ts; no logic of its own.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';

import { Command, Option } from 'commander';

import { NARRATIVE_KINDS } from '../data/dataset.js';
import { DEMO_SOURCE, SOURCE_FORMATS, type LoadOptions } from '../data/load.js';
import { generatePredictions, type GenerateLabel, type GenerateResult } from '../models/lumen/generate.js';
import { NARRATIVE_NAMES } from '../tasks/prompts.js';
import type { SplitName, TaskId } from '../tasks/examples.js';
import { consoleProgress } from '../util/progress.js';

function intIn(flag: string, lo: number, hi = Number.MAX_SAFE_INTEGER) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < lo || n > hi) throw new Error(`${flag} expects an integer in [${lo}, ${hi === Number.MAX_SAFE_INTEGER ? '...' : hi}] but received '${value}'`);
    return n;
  };
}

function numberIn(flag: string, lo: number, hi: number, loOpen = false) {
  return (value: string) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n > hi || (loOpen ? n <= lo : n < lo))
      throw new Error(`${flag} expects a number in ${loOpen ? '(' : '['}${lo}, ${hi}] but received '${value}'`);
    return n;
  };
}

/** Library option names as the flags that set them. */
const FLAG: GenerateLabel = (o) =>
  ({
    task: '--task',
    split: '--split',
    narratives: '--narrative',
    batch: '--batch',
    maxNewTokens: '--max-new-tokens',
    k: '--k',
    limit: '--limit',
    maxWords: '--max-words',
    temperature: '--temperature',
    topK: '--top-k',
    topP: '--top-p',
    seed: '--seed',
    candidates: '--candidates',
  })[o];

interface GenerateFlags {
  model: string;
  data: string;
  format?: string;
  schema?: string;
  cacheDir?: string;
  task: TaskId;
  narrative?: string;
  split: SplitName;
  batch: number;
  out: string;
  gpu?: number;
  maxNewTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  seed: number;
  k: number;
  limit?: number;
  maxWords?: number;
  precision: 'fp32' | 'bf16';
  json?: boolean;
}

function formatResult(r: GenerateResult): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const t = r.timing;
  const decodeMs = t.forwardMs + t.stepMs + t.otherMs;
  const pct = (x: number) => `${((100 * x) / Math.max(decodeMs, 1e-9)).toFixed(1)}%`;
  const s = r.sampling;
  const how = s.temperature === 0 ? 'greedy' : `sampled (temperature ${s.temperature}${s.topK ? `, top-k ${s.topK}` : ''}${s.topP < 1 ? `, top-p ${s.topP}` : ''}, seed ${s.seed})`;
  const out = [
    `wrote ${r.file}: ${n(r.lines)} lines (task ${r.task}, ${r.split} split${r.narratives.length ? `, ${r.narratives.join(', ')}` : ''}; ${how}) in ${r.seconds.toFixed(1)} s`,
    `  decoding: ${n(r.tokens)} tokens, ${r.tokensPerSecond.toFixed(0)} tokens/s; prefill ${(t.prefillMs / 1000).toFixed(1)} s; per step: ONNX forward ${pct(t.forwardMs)}, native step ${pct(t.stepMs)}, other ${pct(t.otherMs)}`,
    `  stops: ${Object.entries(r.stops).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${n(v)}`).join(', ')}`,
    `  backend: decoder body ${r.backend.body}, step ${r.backend.step}; model ${r.model.dir} (${r.model.fingerprint})`,
    ...r.notes.map((note) => `  note: ${note}`),
    `next: regen-bench eval --predictions ${r.file} --task ${r.task}${r.split !== 'test' ? ` --split ${r.split}` : ''}`,
  ];
  return out.join('\n');
}

export function registerGenerateCommand(program: Command): void {
  const kinds = NARRATIVE_KINDS.map((k) => NARRATIVE_NAMES[k]).join(', ');
  program
    .command('generate')
    .description('decode a LUMEN checkpoint (ONNX decoder body + text head + item table) over a task\'s examples into a predictions file for eval')
    .requiredOption('--model <dir>', 'the LUMEN checkpoint folder (config.json, decoder.onnx, heads.safetensors, item_ids.txt, tokenizer files)')
    .option('--data <source>', `a prepared dataset folder, a source file, or "${DEMO_SOURCE}" (the embedded demo)`, DEMO_SOURCE)
    .addOption(new Option('--format <format>', 'source format (default: told apart from the file)').choices(['auto', ...SOURCE_FORMATS]))
    .option('--schema <file.json>', 'REGEN: key names for the unconfirmed fields')
    .option('--cache-dir <dir>', 'dataset cache folder (default: $REGEN_BENCH_CACHE or ~/.cache/regen-bench)')
    .addOption(new Option('--task <n>', 'task: 1 (history -> item), 2 (+ critique), 3 (+ critique -> item + narrative)').argParser(intIn('--task', 1, 3)).default(3))
    .option('--narrative <kinds>', `task 3: narrative kinds, comma-separated, or "all" (${kinds}); default purchase_reason`)
    .addOption(new Option('--split <name>', 'examples: the test split (tasks 1-3) or valid (tasks 1 and 2)').choices(['test', 'valid']).default('test'))
    .addOption(new Option('--batch <n>', 'rows decoded together').argParser(intIn('--batch', 1, 4096)).default(32))
    .option('--out <file.jsonl>', 'predictions file (written under a temporary name, renamed when complete)', 'predictions.jsonl')
    .addOption(new Option('--gpu <n>', 'use CUDA device n: the decoder body (onnxruntime CUDA provider) and the decoding step (CUDA backend); each on the CPU when unavailable, and said so').argParser(intIn('--gpu', 0, 1024)))
    .addOption(new Option('--max-new-tokens <n>', 'tokens generated per row at most, the item included').argParser(intIn('--max-new-tokens', 1, 65536)).default(64))
    .addOption(new Option('--temperature <t>', '0: greedy; otherwise sample from softmax(score / t)').argParser(numberIn('--temperature', 0, 100)).default(0))
    .addOption(new Option('--top-k <n>', 'sampling: keep the n best tokens (0: all)').argParser(intIn('--top-k', 0)).default(0))
    .addOption(new Option('--top-p <p>', 'sampling: keep the smallest best-first set of probability >= p (1: all)').argParser(numberIn('--top-p', 0, 1, true)).default(1))
    .addOption(new Option('--seed <n>', 'seed of the draws (sampling)').argParser(intIn('--seed', 0)).default(0))
    .addOption(new Option('--k <n>', 'length of each ranked item list').argParser(intIn('--k', 1, 65536)).default(10))
    .addOption(new Option('--limit <n>', 'only the first n examples of the split').argParser(intIn('--limit', 1)))
    .addOption(new Option('--max-words <n>', 'prompt budget in words; the oldest purchases are dropped to fit (default 2048)').argParser(intIn('--max-words', 1)))
    .addOption(new Option('--precision <p>', 'heads in the native step: fp32, or bf16 (CPUs with AVX512-BF16; GPUs of compute capability 8.0+)').choices(['fp32', 'bf16']).default('fp32'))
    .option('--json', 'print the summary as JSON')
    .action(async (flags: GenerateFlags) => {
      if (existsSync(flags.out) && statSync(flags.out).isDirectory())
        throw new Error(`--out ${flags.out} is a folder; give a file name such as ${path.join(flags.out, 'predictions.jsonl')}`);
      const progress = consoleProgress();
      let result: GenerateResult;
      try {
        result = await generatePredictions({
          model: flags.model,
          data: flags.data,
          dataOptions: { format: flags.format as LoadOptions['format'], schema: flags.schema, cacheDir: flags.cacheDir },
          task: flags.task,
          split: flags.split,
          narratives: flags.narrative?.split(',').map((s) => s.trim()).filter(Boolean),
          out: flags.out,
          batch: flags.batch,
          gpu: flags.gpu,
          maxNewTokens: flags.maxNewTokens,
          sampling: { temperature: flags.temperature, topK: flags.topK, topP: flags.topP, seed: flags.seed },
          k: flags.k,
          limit: flags.limit,
          maxWords: flags.maxWords,
          precision: flags.precision,
          progress,
          log: (line) => process.stderr.write(`${line}\n`),
        }, FLAG);
      } finally {
        progress.stop();
      }
      console.log(flags.json ? JSON.stringify(result, null, 2) : formatResult(result));
    });
}
